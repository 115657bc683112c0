import assert from "node:assert/strict";
import type { Scenario } from "../scenario.ts";
import { EARLY_MS, WRITABLE, assertId, handleLog, runUntil, show, spin, timerLog } from "./support.ts";

/** Scenarios on timers: periodic, every iteration, disabled, updated, removed. */
export const timerScenarios: readonly Scenario[] = [
  {
    id: "timers.first-fire-after-interval",
    title: "a timer first fires one interval after it was added, not at once",
    rule: "addTimeout(intervalMs > 0) fires periodically: every intervalMs, counted from when it was added.",
    async run(f) {
      const loop = f.createLoop({});
      const added = performance.now();
      const log = timerLog();
      const timer = loop.addTimeout(40, log.cb);
      assertId(timer, "addTimeout");
      if (f.virtualTime) {
        await f.runFor(loop, 39);
        assert.equal(log.count, 0, "a 40 ms timer fired within 39 ms of virtual time");
        await f.runFor(loop, 2);
        assert.equal(log.count, 1, "a 40 ms timer did not fire exactly once by 41 ms of virtual time");
      } else {
        await runUntil(f, loop, () => log.count >= 1, "the 40 ms timer fired");
        const after = (log.times[0] as number) - added;
        assert.ok(after >= 40 - EARLY_MS, `a 40 ms timer fired ${after.toFixed(1)} ms after it was added`);
      }
      assert.deepEqual(log.ids, Array(log.count).fill(timer), "cb(timer) did not get the timer's id");
      assert.equal(loop.removeTimeout(timer), 0);
    },
  },
  {
    id: "timers.periodic",
    title: "a 20 ms timer fires repeatedly at that rate",
    rule: "addTimeout(intervalMs > 0) fires periodically; cb(timer) gets the timer's id.",
    async run(f) {
      const loop = f.createLoop({});
      const added = performance.now();
      const log = timerLog();
      const timer = loop.addTimeout(20, log.cb);
      if (f.virtualTime) {
        await f.runFor(loop, 105);
        assert.equal(log.count, 5, `a 20 ms timer fired ${log.count} times in 105 ms of virtual time, expected 5`);
      } else {
        await runUntil(f, loop, () => log.count >= 5, "the 20 ms timer fired 5 times");
        // A lower bound only: fire k cannot come before k intervals (a busy machine makes it later).
        for (const [i, at] of log.times.entries()) {
          const elapsed = at - added;
          assert.ok(elapsed >= (i + 1) * 20 - EARLY_MS, `fire ${i + 1} of a 20 ms timer came ${elapsed.toFixed(1)} ms after it was added: faster than its period`);
        }
      }
      assert.deepEqual(log.ids, Array(log.count).fill(timer), "cb(timer) did not get the timer's id");
      assert.equal(loop.removeTimeout(timer), 0);
    },
  },
  {
    id: "timers.same-due-in-registration-order",
    title: "timers due at the same time fire in the order they were added",
    rule: "Timers due at the same time fire in registration order.",
    async run(f) {
      const loop = f.createLoop({});
      const order: string[] = [];
      const names = ["a", "b", "c", "d"];
      const timers = names.map((name) => loop.addTimeout(20, () => void order.push(name)));
      await runUntil(f, loop, () => order.length >= 8, "four 20 ms timers fired twice each");
      assert.deepEqual(order.slice(0, 8), [...names, ...names], "timers with the same interval, added in order, did not fire in that order");
      for (const timer of timers) assert.equal(loop.removeTimeout(timer), 0);
      if (f.virtualTime) {
        // Different intervals meeting at one instant: at 30 ms the 30 ms timer (added first) and
        // the third fire of the 10 ms timer are due together.
        const mixed: string[] = [];
        const slow = loop.addTimeout(30, () => void mixed.push("30ms"));
        const fast = loop.addTimeout(10, () => void mixed.push("10ms"));
        await f.runFor(loop, 35);
        assert.deepEqual(mixed, ["10ms", "10ms", "30ms", "10ms"], "timers due at the same virtual instant did not fire in registration order");
        loop.removeTimeout(slow);
        loop.removeTimeout(fast);
      }
    },
  },
  {
    id: "timers.zero-every-iteration",
    title: "a 0 ms timer fires once on every loop iteration",
    rule: "addTimeout(0) fires on every loop iteration.",
    async run(f) {
      const loop = f.createLoop({});
      const zero = timerLog();
      const timer = loop.addTimeout(0, zero.cb);
      // An always-writable pipe end fires once per iteration: the iteration counter.
      const [r, w] = f.pipe(loop);
      const passes = handleLog();
      const counter = loop.addHandle(w, WRITABLE, passes.cb);
      await runUntil(f, loop, () => passes.count >= 20, "20 iterations ran");
      const [t, p] = [zero.count, passes.count];
      assert.ok(Math.abs(t - p) <= 2, `a 0 ms timer fired ${t} times in ${p} iterations: not once per iteration`);
      assert.equal(loop.removeHandle(counter), 0);
      f.close(loop, r);
      f.close(loop, w);
      // Alone, it keeps the loop iterating.
      const alone = zero.count;
      await runUntil(f, loop, () => zero.count >= alone + 5, "the 0 ms timer kept firing on its own");
      assert.equal(loop.removeTimeout(timer), 0);
    },
  },
  {
    id: "timers.disabled-never-fires",
    title: "a timer added with -1 never fires",
    rule: "addTimeout(-1) adds a disabled timer.",
    async run(f) {
      const loop = f.createLoop({});
      const log = timerLog();
      const timer = loop.addTimeout(-1, log.cb);
      assertId(timer, "addTimeout(-1)");
      await spin(f, loop, 5);
      await f.runFor(loop, 60);
      assert.equal(log.count, 0, "a timer added with -1 fired");
      assert.equal(loop.removeTimeout(timer), 0, "the disabled timer was not kept");
    },
  },
  {
    id: "timers.disable-and-enable",
    title: "updateTimeout(timer, -1) stops a timer; a positive interval starts it again",
    rule: "updateTimeout(timer, intervalMs) takes the same values as addTimeout: -1 disables the timer.",
    async run(f) {
      const loop = f.createLoop({});
      const log = timerLog();
      const timer = loop.addTimeout(10, log.cb);
      await runUntil(f, loop, () => log.count >= 2, "the 10 ms timer fired twice");
      loop.updateTimeout(timer, -1);
      const stopped = log.count;
      await f.runFor(loop, 60);
      assert.equal(log.count, stopped, "a timer updated to -1 kept firing");
      loop.updateTimeout(timer, 10);
      await runUntil(f, loop, () => log.count >= stopped + 2, "the timer fired again after updateTimeout(timer, 10)");
      assert.equal(loop.removeTimeout(timer), 0);
    },
  },
  {
    id: "timers.update-restarts-countdown",
    title: "updateTimeout restarts the countdown: a timer updated before it was due does not fire at the old due time",
    rule: "updateTimeout(timer, intervalMs) restarts the countdown from now.",
    async run(f) {
      const loop = f.createLoop({});
      const log = timerLog();
      // The times the countdown (re)started, by the real clock; only read on real time.
      const starts = [performance.now()];
      const timer = loop.addTimeout(40, log.cb);
      for (let i = 0; i < 2; i++) {
        await f.runFor(loop, 25);
        starts.push(performance.now());
        loop.updateTimeout(timer, 40);
      }
      if (f.virtualTime) {
        // Updated at 25 and 50: due at 90, not at 40 or 65.
        assert.equal(log.count, 0, "the timer fired at its old due time although updateTimeout restarted it");
        await f.runFor(loop, 35);
        assert.equal(log.count, 0, "the timer fired before 40 ms had passed since its last update");
        await f.runFor(loop, 10);
        assert.equal(log.count, 1, "the timer did not fire 40 ms after its last update");
      } else {
        await runUntil(f, loop, () => log.count >= 1, "the timer fired after its last update");
        // Each fire must come at least one interval after the latest (re)start before it. A loop
        // that does not restart fires 40 ms after the add, 15 ms after the first update.
        for (const at of log.times) {
          const start = Math.max(...starts.filter((s) => s <= at));
          assert.ok(at - start >= 40 - EARLY_MS, `a 40 ms timer fired ${(at - start).toFixed(1)} ms after updateTimeout restarted it`);
        }
      }
      assert.equal(loop.removeTimeout(timer), 0);
    },
  },
  {
    id: "timers.zero-then-disable-in-callback",
    title: "a timer set to 0, which sets itself back to -1 in its callback, fires once each time",
    rule: "updateTimeout(timer, 0) makes it fire on the next iteration; -1 disables it (libvirt's event queue timer does exactly this).",
    async run(f) {
      const loop = f.createLoop({});
      let timer = 0;
      const log = timerLog(() => loop.updateTimeout(timer, -1));
      timer = loop.addTimeout(-1, log.cb);
      for (let round = 1; round <= 2; round++) {
        loop.updateTimeout(timer, 0);
        await runUntil(f, loop, () => log.count >= round, `the timer set to 0 fired (round ${round})`);
        await spin(f, loop, 5);
        await f.runFor(loop, 30);
        assert.equal(log.count, round, `a timer that set itself to -1 in its callback fired ${log.count} times (round ${round})`);
      }
      assert.equal(loop.removeTimeout(timer), 0);
    },
  },
  {
    id: "timers.no-catch-up",
    title: "a periodic timer held up by a slow callback does not fire the missed periods in a burst",
    rule: "addTimeout(intervalMs > 0) fires periodically, without catching up missed fires.",
    async run(f) {
      // A virtual clock does not move while a callback runs: nothing is ever missed.
      if (f.virtualTime) return;
      const loop = f.createLoop({});
      const added = performance.now();
      const log = timerLog((_, count) => {
        if (count !== 1) return;
        // Hold the loop 100 ms: ten periods go by.
        const until = performance.now() + 100;
        while (performance.now() < until);
      });
      const timer = loop.addTimeout(10, log.cb);
      await runUntil(f, loop, () => performance.now() - added >= 200, "200 ms passed");
      assert.equal(loop.removeTimeout(timer), 0);
      const elapsed = performance.now() - added;
      // Without catching up, at most one fire per period after the 110 ms lost: about
      // elapsed/10 - 9. Catching up would give about elapsed/10.
      const bound = Math.floor(elapsed / 10) - 5;
      assert.ok(log.count <= bound, `a 10 ms timer held up for 100 ms fired ${log.count} times in ${elapsed.toFixed(0)} ms (at most ${bound} without catching up): ${show(log.times.map((t) => Math.round(t - added)))}`);
    },
  },
  {
    id: "timers.remove-twice",
    title: "removeTimeout returns 0, then -1; unknown ids return -1",
    rule: "removeTimeout(timer) returns 0, or -1 when unknown or already removed.",
    async run(f) {
      const loop = f.createLoop({});
      const timer = loop.addTimeout(-1, () => {});
      assert.equal(loop.removeTimeout(timer), 0, "first removeTimeout");
      assert.equal(loop.removeTimeout(timer), -1, "second removeTimeout of the same timer");
      assert.equal(loop.removeTimeout(0), -1, "removeTimeout(0): ids are positive, 0 is never one");
      assert.equal(loop.removeTimeout(-1), -1, "removeTimeout(-1)");
    },
  },
  {
    id: "timers.update-unknown-is-noop",
    title: "updateTimeout of a removed or unknown timer does nothing, and does not revive it",
    rule: "updateTimeout(timer, intervalMs): an unknown timer is a no-op.",
    async run(f) {
      const loop = f.createLoop({});
      const log = timerLog();
      const timer = loop.addTimeout(10, log.cb);
      assert.equal(loop.removeTimeout(timer), 0);
      loop.updateTimeout(timer, 0);
      loop.updateTimeout(0, 0);
      loop.updateTimeout(-1, 10);
      await spin(f, loop, 5);
      await f.runFor(loop, 30);
      assert.equal(log.count, 0, "a removed timer fired after updateTimeout was called on it");
      assert.equal(loop.removeTimeout(timer), -1, "updateTimeout revived a removed timer");
    },
  },
];
