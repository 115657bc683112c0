import assert from "node:assert/strict";
import type { Scenario } from "../scenario.ts";
import { READABLE, WRITABLE, drain, handleLog, readyPipe, runUntil, show, spin, timerLog } from "./support.ts";

/** Scenarios on what is added during a dispatch pass. */
export const dispatchScenarios: readonly Scenario[] = [
  {
    id: "dispatch.handle-added-during-pass",
    title: "a watch added from a callback on an already-ready fd is not dispatched in that pass",
    rule: "What is added during a dispatch pass is not dispatched in that same pass.",
    async run(f) {
      const loop = f.createLoop({});
      const [r, w] = readyPipe(f, loop);
      const added = handleLog();
      let addedWatch = 0;
      const first = handleLog((_, count) => {
        if (count !== 1) return;
        addedWatch = loop.addHandle(r, READABLE, added.cb);
        // Drained now, so the fd is not readable at any later pass: if the new watch fires at
        // all, it fired in this pass, on the readiness the pass started with.
        drain(f, loop, r);
      });
      const firstWatch = loop.addHandle(r, READABLE, first.cb);
      await runUntil(f, loop, () => first.count >= 1, "the first watch fired");
      await spin(f, loop, 5);
      assert.equal(added.count, 0, `a watch added during a pass was dispatched in that pass: ${show(added.fires)}`);
      // It does work from the next pass on.
      f.write(loop, w, "more");
      await runUntil(f, loop, () => added.count >= 1, "the added watch fired for new data");
      for (const fire of added.fires) assert.equal(fire.watch, addedWatch);
      assert.equal(loop.removeHandle(firstWatch), 0);
      assert.equal(loop.removeHandle(addedWatch), 0);
    },
  },
  {
    id: "dispatch.timer-added-during-pass",
    title: "a 0 ms timer added from a timer callback is not dispatched in that pass",
    rule: "What is added during a dispatch pass is not dispatched in that same pass.",
    async run(f) {
      const loop = f.createLoop({});
      const log: string[] = [];
      // An always-writable pipe end fires once per iteration: between the adding callback and
      // the added timer's first fire, at least one iteration must have gone by.
      const [r, w] = f.pipe(loop);
      const counter = loop.addHandle(w, WRITABLE, () => void log.push("iteration"));
      let added = 0;
      const addedLog = timerLog(() => log.push("added"));
      let adder = 0;
      const adderLog = timerLog(() => {
        loop.removeTimeout(adder);
        added = loop.addTimeout(0, addedLog.cb);
        log.push("adder");
      });
      adder = loop.addTimeout(0, adderLog.cb);
      await runUntil(f, loop, () => addedLog.count >= 1 && log.lastIndexOf("iteration") > log.indexOf("added"), "the added timer fired");
      const from = log.indexOf("adder");
      const to = log.indexOf("added");
      assert.ok(log.slice(from, to).includes("iteration"), `a timer added from a timer callback fired in the same pass: ${show(log.slice(Math.max(0, from - 1), to + 2))}`);
      assert.equal(adderLog.count, 1);
      assert.equal(loop.removeTimeout(added), 0);
      assert.equal(loop.removeHandle(counter), 0);
      f.close(loop, r);
      f.close(loop, w);
    },
  },
];
