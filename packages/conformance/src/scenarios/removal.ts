import assert from "node:assert/strict";
import type { Scenario } from "../scenario.ts";
import { READABLE, WRITABLE, handleLog, readyPipe, runUntil, spin, timerLog, type Fixture, type HandleLog, type Loop } from "./support.ts";

/**
 * Two watches that are both ready in the same pass; whichever runs first acts on the other
 * (removes or disables it), which must then never fire. Returns the ids.
 */
async function handleRace(
  f: Fixture,
  loop: Loop,
  fds: [number, number],
  what: string,
  act: (victim: number) => void,
): Promise<{ victimId: number; survivorId: number; victim: HandleLog }> {
  const ids = { a: 0, b: 0 };
  let first: "a" | "b" | undefined;
  const step = (me: "a" | "b"): void => {
    if (first !== undefined) return;
    first = me;
    act(me === "a" ? ids.b : ids.a);
  };
  const logs = { a: handleLog(() => step("a")), b: handleLog(() => step("b")) };
  ids.a = loop.addHandle(fds[0], READABLE, logs.a.cb);
  ids.b = loop.addHandle(fds[1], READABLE, logs.b.cb);
  await runUntil(f, loop, () => first !== undefined && logs[first].count >= 3, "the first watch to fire fired 3 times");
  const winner = first as "a" | "b";
  const loser = winner === "a" ? "b" : "a";
  assert.equal(logs[loser].count, 0, `a watch ${what} in a pass where its fd was ready fired ${logs[loser].count} times`);
  return { victimId: ids[loser], survivorId: ids[winner], victim: logs[loser] };
}

/** Scenarios on removing (or disabling) watches and timers while the loop dispatches, and on reused fd numbers. */
export const removalScenarios: readonly Scenario[] = [
  {
    id: "removal.handle-removes-other-same-fd",
    title: "a watch removing another watch of the same ready fd: the removed one never fires",
    rule: "Once removeHandle returns, that watch never fires again, even when it was ready in the pass being dispatched.",
    async run(f) {
      const loop = f.createLoop({});
      const [r] = readyPipe(f, loop);
      let removed: unknown;
      const { survivorId } = await handleRace(f, loop, [r, r], "removed by the first watch", (victim) => (removed = loop.removeHandle(victim)));
      assert.equal(removed, 0, "removeHandle of a live watch from another watch's callback");
      assert.equal(loop.removeHandle(survivorId), 0);
    },
  },
  {
    id: "removal.handle-removes-other-fd",
    title: "a watch removing the watch of another ready fd: the removed one never fires",
    rule: "Once removeHandle returns, that watch never fires again, even when it was ready in the pass being dispatched.",
    async run(f) {
      const loop = f.createLoop({});
      const [r1] = readyPipe(f, loop);
      const [r2] = readyPipe(f, loop);
      let removed: unknown;
      const { survivorId } = await handleRace(f, loop, [r1, r2], "removed by the first watch", (victim) => (removed = loop.removeHandle(victim)));
      assert.equal(removed, 0, "removeHandle of a live watch from another watch's callback");
      assert.equal(loop.removeHandle(survivorId), 0);
    },
  },
  {
    id: "removal.handle-disables-other",
    title: "a watch disabling another watch of the same ready fd: the disabled one does not fire",
    rule: "updateHandle(watch, 0) keeps the watch but stops its dispatch, also in the pass being dispatched.",
    async run(f) {
      const loop = f.createLoop({});
      const [r] = readyPipe(f, loop);
      const { victimId, survivorId, victim } = await handleRace(f, loop, [r, r], "disabled by the first watch", (victim) => loop.updateHandle(victim, 0));
      assert.equal(loop.removeHandle(survivorId), 0);
      // Still registered: re-enabled, it fires.
      loop.updateHandle(victimId, READABLE);
      await runUntil(f, loop, () => victim.count >= 1, "the disabled watch fired once re-enabled");
      assert.equal(loop.removeHandle(victimId), 0);
    },
  },
  {
    id: "removal.handle-removes-itself",
    title: "a watch removing itself from its callback never fires again",
    rule: "Once removeHandle returns, that watch never fires again.",
    async run(f) {
      const loop = f.createLoop({});
      const [r] = readyPipe(f, loop);
      let watch = 0;
      let removed: unknown;
      const log = handleLog(() => {
        removed ??= loop.removeHandle(watch);
      });
      watch = loop.addHandle(r, READABLE, log.cb);
      await runUntil(f, loop, () => log.count >= 1, "the watch fired");
      await spin(f, loop, 5);
      assert.equal(removed, 0, "removeHandle of a watch from its own callback");
      assert.equal(log.count, 1, "a watch that removed itself fired again (its fd stayed readable)");
      assert.equal(loop.removeHandle(watch), -1);
    },
  },
  {
    id: "removal.timer-removes-other",
    title: "a timer removing another timer due in the same pass: the removed one never fires",
    rule: "Once removeTimeout returns, that timer never fires again, even when it was due in the pass being dispatched.",
    async run(f) {
      const loop = f.createLoop({});
      for (const interval of [0, 15]) {
        const ids = { a: 0, b: 0 };
        let first: "a" | "b" | undefined;
        let removed: unknown;
        const step = (me: "a" | "b"): void => {
          if (first !== undefined) return;
          first = me;
          removed = loop.removeTimeout(me === "a" ? ids.b : ids.a);
        };
        const logs = { a: timerLog(() => step("a")), b: timerLog(() => step("b")) };
        ids.a = loop.addTimeout(interval, logs.a.cb);
        ids.b = loop.addTimeout(interval, logs.b.cb);
        await runUntil(f, loop, () => first !== undefined && logs[first].count >= 3, `the first ${interval} ms timer fired 3 times`);
        const winner = first as "a" | "b";
        const loser = winner === "a" ? "b" : "a";
        assert.equal(removed, 0, "removeTimeout of a live timer from another timer's callback");
        assert.equal(logs[loser].count, 0, `a ${interval} ms timer removed by another timer's callback fired ${logs[loser].count} times`);
        assert.equal(loop.removeTimeout(ids[winner]), 0);
      }
    },
  },
  {
    id: "removal.timer-removes-itself",
    title: "a timer removing itself from its callback never fires again",
    rule: "Once removeTimeout returns, that timer never fires again.",
    async run(f) {
      const loop = f.createLoop({});
      for (const interval of [0, 10]) {
        let timer = 0;
        let removed: unknown;
        const log = timerLog(() => {
          removed ??= loop.removeTimeout(timer);
        });
        timer = loop.addTimeout(interval, log.cb);
        await runUntil(f, loop, () => log.count >= 1, `the ${interval} ms timer fired`);
        await spin(f, loop, 5);
        await f.runFor(loop, 40);
        assert.equal(removed, 0, "removeTimeout of a timer from its own callback");
        assert.equal(log.count, 1, `a ${interval} ms timer that removed itself fired again`);
        assert.equal(loop.removeTimeout(timer), -1);
      }
    },
  },
  {
    id: "removal.handle-and-timer-remove-each-other",
    title: "a ready watch and a due timer each removing the other: only one ever runs",
    rule: "Once removeHandle/removeTimeout returns, that watch or timer never fires again.",
    async run(f) {
      const loop = f.createLoop({});
      const [r] = readyPipe(f, loop);
      let first: "watch" | "timer" | undefined;
      let watch = 0;
      let timer = 0;
      const watchLog = handleLog(() => {
        if (first === undefined) {
          first = "watch";
          loop.removeTimeout(timer);
        }
      });
      const tLog = timerLog(() => {
        if (first === undefined) {
          first = "timer";
          loop.removeHandle(watch);
        }
      });
      watch = loop.addHandle(r, READABLE, watchLog.cb);
      timer = loop.addTimeout(0, tLog.cb);
      await runUntil(f, loop, () => (first === "watch" ? watchLog.count : tLog.count) >= 3, "the survivor ran 3 times");
      if (first === "watch") {
        assert.equal(tLog.count, 0, "a timer removed by a watch's callback fired");
        assert.equal(loop.removeHandle(watch), 0);
      } else {
        assert.equal(watchLog.count, 0, "a watch removed by a timer's callback fired");
        assert.equal(loop.removeTimeout(timer), 0);
      }
    },
  },
  {
    id: "removal.before-run",
    title: "watches and timers removed before the loop runs never fire",
    rule: "Once removeHandle/removeTimeout returns, that watch or timer never fires.",
    async run(f) {
      const loop = f.createLoop({});
      const [r] = readyPipe(f, loop);
      const watchLog = handleLog();
      const zero = timerLog();
      const ten = timerLog();
      const watch = loop.addHandle(r, READABLE, watchLog.cb);
      const t0 = loop.addTimeout(0, zero.cb);
      const t10 = loop.addTimeout(10, ten.cb);
      assert.equal(loop.removeHandle(watch), 0);
      assert.equal(loop.removeTimeout(t0), 0);
      assert.equal(loop.removeTimeout(t10), 0);
      await spin(f, loop, 5);
      await f.runFor(loop, 40);
      assert.equal(watchLog.count, 0, "a watch removed before the loop ran fired");
      assert.equal(zero.count, 0, "a 0 ms timer removed before the loop ran fired");
      assert.equal(ten.count, 0, "a 10 ms timer removed before the loop ran fired");
    },
  },
  {
    id: "removal.close-and-reuse-fd",
    title: "closing the fd right after removeHandle and reusing its number: the old callback never fires",
    rule: "Once removeHandle returns the caller may close the fd at once; the removed watch never fires again, even for a new descriptor with the same number.",
    async run(f) {
      const loop = f.createLoop({});
      const [r, w] = readyPipe(f, loop, "old");
      const old = handleLog();
      const oldWatch = loop.addHandle(r, READABLE, old.cb);
      await runUntil(f, loop, () => old.count >= 1, "the first watch fired");
      assert.equal(loop.removeHandle(oldWatch), 0);
      const fired = old.count;
      f.close(loop, r);
      f.close(loop, w);
      const { fd, isReadEnd, peer } = reopen(f, loop, r);
      if (isReadEnd) f.write(loop, peer, "new");
      const fresh = handleLog();
      const events = isReadEnd ? READABLE : WRITABLE;
      const freshWatch = loop.addHandle(fd, events, fresh.cb);
      await runUntil(f, loop, () => fresh.count >= 3, "the new watch on the reused number fired");
      assert.equal(old.count, fired, "the removed watch fired for a new descriptor that reused its number");
      for (const fire of fresh.fires) assert.equal(fire.watch, freshWatch);
      assert.equal(loop.removeHandle(freshWatch), 0);
    },
  },
  {
    id: "removal.close-and-reuse-fd-in-callback",
    title: "a callback that removes its watch, closes the fd and reopens the number: the old callback never fires",
    rule: "Once removeHandle returns the caller may close the fd at once, also from inside the watch's callback; the removed watch never fires again.",
    async run(f) {
      const loop = f.createLoop({});
      const [r, w] = readyPipe(f, loop, "old");
      let oldWatch = 0;
      let fresh: HandleLog | undefined;
      let freshWatch = 0;
      const old = handleLog(() => {
        if (fresh !== undefined) return;
        loop.removeHandle(oldWatch);
        f.close(loop, r);
        f.close(loop, w);
        const next = reopen(f, loop, r);
        if (next.isReadEnd) f.write(loop, next.peer, "new");
        fresh = handleLog();
        freshWatch = loop.addHandle(next.fd, next.isReadEnd ? READABLE : WRITABLE, fresh.cb);
      });
      oldWatch = loop.addHandle(r, READABLE, old.cb);
      await runUntil(f, loop, () => (fresh?.count ?? 0) >= 3, "the watch added from the callback fired");
      assert.equal(old.count, 1, "the watch removed in its own callback fired again after its fd number was reused");
      assert.equal(loop.removeHandle(freshWatch), 0);
    },
  },
];

/**
 * Opens pipes until one end gets `number` again (a real system hands out the lowest free number,
 * but another thread may take it first). Returns that end, or a read end anyway after a few tries:
 * the scenario still checks that the old callback never fires.
 */
function reopen(f: Fixture, loop: Loop, number: number): { fd: number; isReadEnd: boolean; peer: number } {
  let last: [number, number] | undefined;
  for (let i = 0; i < 8; i++) {
    const [r, w] = f.pipe(loop);
    last = [r, w];
    if (r === number) return { fd: r, isReadEnd: true, peer: w };
    if (w === number) return { fd: w, isReadEnd: false, peer: r };
  }
  const [r, w] = last as [number, number];
  return { fd: r, isReadEnd: true, peer: w };
}
