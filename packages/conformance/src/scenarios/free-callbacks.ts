import assert from "node:assert/strict";
import type { Scenario } from "../scenario.ts";
import { READABLE, handleLog, readyPipe, runUntil, spin, timerLog, type Fixture, type Loop } from "./support.ts";

/**
 * A free callback that notes where it ran: `inside` is set by the scenario around the calls the
 * free callback must not run inside of (removeHandle/removeTimeout, the item's own callback).
 */
function freeProbe(): { readonly fn: () => void; readonly calls: number; readonly badCalls: string[]; inside: string | undefined } {
  const probe = {
    calls: 0,
    badCalls: [] as string[],
    inside: undefined as string | undefined,
    fn: () => {
      probe.calls++;
      if (probe.inside !== undefined) probe.badCalls.push(probe.inside);
    },
  };
  return probe;
}

/** Checks the probe ran once, never where it must not, and still once after more passes and a second remove. */
async function assertFreedOnce(f: Fixture, loop: Loop, probe: ReturnType<typeof freeProbe>, what: string, removeAgain: () => number): Promise<void> {
  assert.deepEqual(probe.badCalls, [], `the free callback of ${what} ran inside ${probe.badCalls.join(", ")}`);
  await runUntil(f, loop, () => probe.calls >= 1, `the free callback of ${what} ran`, 1000);
  assert.equal(removeAgain(), -1, `removing ${what} a second time`);
  await spin(f, loop, 3);
  assert.equal(probe.calls, 1, `the free callback of ${what} ran ${probe.calls} times`);
  assert.deepEqual(probe.badCalls, [], `the free callback of ${what} ran inside ${probe.badCalls.join(", ")}`);
}

/** Scenarios on free callbacks: exactly once per removal, after it, from a clean stack. */
export const freeScenarios: readonly Scenario[] = [
  {
    id: "free.handle-after-remove",
    title: "a watch's free callback runs once, after removeHandle, not inside it",
    rule: "A free callback runs exactly once per removal, after it, never inside removeHandle.",
    async run(f) {
      const loop = f.createLoop({});
      const [r] = f.pipe(loop);
      // Removed from the application, outside any callback.
      const outside = freeProbe();
      const w1 = loop.addHandle(r, READABLE, () => {}, outside.fn);
      outside.inside = "removeHandle";
      assert.equal(loop.removeHandle(w1), 0);
      outside.inside = undefined;
      await assertFreedOnce(f, loop, outside, "a watch removed outside the loop", () => loop.removeHandle(w1));

      // Removed from another watch's callback, during a pass.
      const [r2] = readyPipe(f, loop);
      const during = freeProbe();
      const victim = loop.addHandle(r2, 0, () => {}, during.fn);
      let removed = false;
      const remover = loop.addHandle(
        r2,
        READABLE,
        handleLog(() => {
          if (removed) return;
          removed = true;
          during.inside = "removeHandle called from another watch's callback";
          loop.removeHandle(victim);
          during.inside = undefined;
        }).cb,
      );
      await runUntil(f, loop, () => removed, "the removing watch fired");
      await assertFreedOnce(f, loop, during, "a watch removed from another watch's callback", () => loop.removeHandle(victim));
      loop.removeHandle(remover);
    },
  },
  {
    id: "free.handle-not-in-own-callback",
    title: "a watch that removes itself: its free callback runs after its callback returned",
    rule: "A free callback never runs inside the removed item's own callback, even when that callback removes it.",
    async run(f) {
      const loop = f.createLoop({});
      const [r] = readyPipe(f, loop);
      const probe = freeProbe();
      let watch = 0;
      const log = handleLog(() => {
        if (log.count > 1) return;
        probe.inside = "the watch's own callback";
        loop.removeHandle(watch);
        // Still inside the callback after removeHandle returned: the free callback must wait.
        probe.inside = undefined;
      });
      watch = loop.addHandle(r, READABLE, log.cb, probe.fn);
      await runUntil(f, loop, () => log.count >= 1, "the watch fired");
      await assertFreedOnce(f, loop, probe, "a watch removed in its own callback", () => loop.removeHandle(watch));
    },
  },
  {
    id: "free.handle-callback-returns-minus-one",
    title: "a watch removed by returning -1: its free callback runs once, after its callback",
    rule: "A callback that returns -1 has its watch removed; the free callback runs exactly once, never inside that callback.",
    async run(f) {
      const loop = f.createLoop({});
      const [r] = readyPipe(f, loop);
      const probe = freeProbe();
      // A loop removes the watch only once the callback has returned, so "inside the
      // callback" cannot happen here; what can go wrong is running the free callback twice or never.
      const log = handleLog(() => -1);
      const watch = loop.addHandle(r, READABLE, log.cb, probe.fn);
      await runUntil(f, loop, () => log.count >= 1, "the watch fired");
      await assertFreedOnce(f, loop, probe, "a watch whose callback returned -1", () => loop.removeHandle(watch));
    },
  },
  {
    id: "free.timer-after-remove",
    title: "a timer's free callback runs once, after removeTimeout, not inside it",
    rule: "A free callback runs exactly once per removal, after it, never inside removeTimeout.",
    async run(f) {
      const loop = f.createLoop({});
      const outside = freeProbe();
      const t1 = loop.addTimeout(10, () => {}, outside.fn);
      outside.inside = "removeTimeout";
      assert.equal(loop.removeTimeout(t1), 0);
      outside.inside = undefined;
      await assertFreedOnce(f, loop, outside, "a timer removed outside the loop", () => loop.removeTimeout(t1));

      const during = freeProbe();
      const victim = loop.addTimeout(-1, () => {}, during.fn);
      let removed = false;
      const remover = loop.addTimeout(0, () => {
        if (removed) return;
        removed = true;
        during.inside = "removeTimeout called from another timer's callback";
        loop.removeTimeout(victim);
        during.inside = undefined;
      });
      await runUntil(f, loop, () => removed, "the removing timer fired");
      loop.removeTimeout(remover);
      await assertFreedOnce(f, loop, during, "a timer removed from another timer's callback", () => loop.removeTimeout(victim));
    },
  },
  {
    id: "free.timer-not-in-own-callback",
    title: "a timer that removes itself: its free callback runs after its callback returned",
    rule: "A free callback never runs inside the removed item's own callback, even when that callback removes it.",
    async run(f) {
      const loop = f.createLoop({});
      for (const interval of [0, 10]) {
        const probe = freeProbe();
        let timer = 0;
        const log = timerLog((_, count) => {
          if (count > 1) return;
          probe.inside = "the timer's own callback";
          loop.removeTimeout(timer);
          probe.inside = undefined;
        });
        timer = loop.addTimeout(interval, log.cb, probe.fn);
        await runUntil(f, loop, () => log.count >= 1, `the ${interval} ms timer fired`);
        await assertFreedOnce(f, loop, probe, `a ${interval} ms timer removed in its own callback`, () => loop.removeTimeout(timer));
      }
    },
  },
  {
    id: "free.runs-when-idle",
    title: "free callbacks run although nothing else is registered or happening",
    rule: "A free callback runs exactly once per removal, after it: the loop must get to it without other activity.",
    async run(f) {
      const loop = f.createLoop({});
      const [r] = f.pipe(loop);
      let watchFreed = 0;
      let timerFreed = 0;
      const watch = loop.addHandle(r, READABLE, () => {}, () => watchFreed++);
      const timer = loop.addTimeout(-1, () => {}, () => timerFreed++);
      assert.equal(loop.removeHandle(watch), 0);
      assert.equal(loop.removeTimeout(timer), 0);
      // No spin here: nothing is registered, so only the loop's own care can run them.
      await runUntil(f, loop, () => watchFreed > 0 && timerFreed > 0, "the free callbacks ran on an idle loop", 1000);
      await f.runFor(loop, 30);
      assert.equal(watchFreed, 1, `a watch's free callback ran ${watchFreed} times`);
      assert.equal(timerFreed, 1, `a timer's free callback ran ${timerFreed} times`);
    },
  },
  {
    id: "free.once-through-dispose",
    title: "a free callback that already ran does not run again when the loop is disposed",
    rule: "A free callback runs exactly once per removal.",
    async run(f) {
      const loop = f.createLoop({});
      const [r] = f.pipe(loop);
      let watchFreed = 0;
      let timerFreed = 0;
      const watch = loop.addHandle(r, READABLE, () => {}, () => watchFreed++);
      const timer = loop.addTimeout(10, () => {}, () => timerFreed++);
      assert.equal(loop.removeHandle(watch), 0);
      assert.equal(loop.removeTimeout(timer), 0);
      await runUntil(f, loop, () => watchFreed > 0 && timerFreed > 0, "the free callbacks ran", 1000);
      await f.dispose(loop);
      assert.equal(watchFreed, 1, `a watch's free callback ran ${watchFreed} times once the loop was disposed`);
      assert.equal(timerFreed, 1, `a timer's free callback ran ${timerFreed} times once the loop was disposed`);
    },
  },
];
