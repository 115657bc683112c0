import assert from "node:assert/strict";
import type { Scenario } from "../scenario.ts";
import { READABLE, drain, runUntil, show, spin } from "./support.ts";

const PIPES = 200;
const WRITTEN = 50;
const TIMERS = 200;

/** Scenarios with many watches and timers at once. */
export const loadScenarios: readonly Scenario[] = [
  {
    id: "load.many-pipes",
    title: `${PIPES} watched pipes, ${WRITTEN} written to: exactly those fire, once each once drained`,
    rule: "Each watch gets the events of its own fd: with many watches, exactly the ready ones fire.",
    async run(f) {
      const loop = f.createLoop({});
      const pipes: [number, number][] = [];
      for (let i = 0; i < PIPES; i++) pipes.push(f.pipe(loop));
      const fired = new Map<number, number>();
      const watches = pipes.map(([r], i) =>
        loop.addHandle(r, READABLE, (_watch, fd, events) => {
          fired.set(i, (fired.get(i) ?? 0) + 1);
          if (fd !== r || events !== READABLE) fired.set(-1 - i, events);
          drain(f, loop, fd);
        }),
      );
      assert.equal(new Set(watches).size, PIPES, "watch ids are not distinct");
      // Every fourth pipe, so written and silent ones interleave.
      const written = new Set<number>();
      for (let i = 0; i < PIPES && written.size < WRITTEN; i += PIPES / WRITTEN) {
        f.write(loop, (pipes[i] as [number, number])[1], `pipe ${i}`);
        written.add(i);
      }
      await runUntil(f, loop, () => [...written].every((i) => fired.has(i)), `all ${WRITTEN} written pipes fired`);
      await spin(f, loop, 5);
      const wrong = [...fired.entries()].filter(([i, n]) => i < 0 || !written.has(i) || n !== 1);
      assert.deepEqual(
        wrong,
        [],
        `expected each of the ${WRITTEN} written pipes to fire once (READABLE, on its own fd) and no other: [pipe index, calls] (negative index: wrong fd or events) ${show(wrong)}`,
      );
      for (const watch of watches) assert.equal(loop.removeHandle(watch), 0);
      for (const [r, w] of pipes) {
        f.close(loop, r);
        f.close(loop, w);
      }
    },
  },
  {
    id: "load.many-timers",
    title: `${TIMERS} timers, every other one removed before it was due: exactly the others fire`,
    rule: "Each timer fires on its own schedule; a removed timer never fires.",
    async run(f) {
      const loop = f.createLoop({});
      const fired = new Map<number, number>();
      const timers: number[] = [];
      for (let i = 0; i < TIMERS; i++) timers.push(loop.addTimeout(10 + (i % 5) * 5, () => fired.set(i, (fired.get(i) ?? 0) + 1)));
      assert.equal(new Set(timers).size, TIMERS, "timer ids are not distinct");
      for (let i = 1; i < TIMERS; i += 2) assert.equal(loop.removeTimeout(timers[i] as number), 0);
      await runUntil(f, loop, () => timers.every((_, i) => i % 2 === 1 || fired.has(i)), "every kept timer fired");
      const removedFired = [...fired.keys()].filter((i) => i % 2 === 1);
      assert.deepEqual(removedFired, [], `removed timers fired: ${show(removedFired)}`);
      for (let i = 0; i < TIMERS; i += 2) assert.equal(loop.removeTimeout(timers[i] as number), 0);
    },
  },
];
