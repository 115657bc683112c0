import assert from "node:assert/strict";
import type { Scenario } from "../scenario.ts";
import { READABLE, assertId, show } from "./support.ts";

const CYCLES = 300;

/**
 * Adds and removes `CYCLES` items, keeping every seventh alive until the end so ids are handed out
 * both while slots are free and while they are taken, and letting the loop run now and then (a
 * loop may recycle what it freed at the end of a pass); all ids must be distinct positive integers.
 */
async function cycle(add: () => number, remove: (id: number) => number, kind: string, run: () => Promise<void>): Promise<void> {
  const seen = new Map<number, number>();
  const kept: number[] = [];
  for (let i = 0; i < CYCLES; i++) {
    const id = add();
    assertId(id, `add ${kind} #${i + 1}`);
    const earlier = seen.get(id);
    assert.equal(earlier, undefined, `${kind} id ${show(id)} was handed out twice (adds #${(earlier ?? 0) + 1} and #${i + 1}): ids are never reused`);
    seen.set(id, i);
    if (i % 7 === 0) kept.push(id);
    else assert.equal(remove(id), 0, `removing ${kind} ${id}`);
    if (i % 50 === 49) await run();
  }
  for (const id of kept) assert.equal(remove(id), 0, `removing kept ${kind} ${id}`);
}

/** Scenarios on ids: positive integers, distinct, never reused by a loop. */
export const idScenarios: readonly Scenario[] = [
  {
    id: "ids.first-id-is-one",
    title: "the first watch and the first timer of a fresh loop get id 1",
    rule: "Ids are positive integers: they start at 1 on a fresh loop (libvirt's callers test `id > 0`).",
    async run(f) {
      const handles = f.createLoop({});
      const [r] = f.pipe(handles);
      const watch = handles.addHandle(r, READABLE, () => {});
      assert.equal(watch, 1, "the first watch of a fresh loop");
      assert.equal(handles.removeHandle(watch), 0);
      const timers = f.createLoop({});
      const timer = timers.addTimeout(-1, () => {});
      assert.equal(timer, 1, "the first timer of a fresh loop");
      assert.equal(timers.removeTimeout(timer), 0);
    },
  },
  {
    id: "ids.handles-never-reused",
    title: "watch ids are positive integers, distinct, never reused across many add/remove cycles",
    rule: "Ids are positive integers, never reused by a loop.",
    async run(f) {
      const loop = f.createLoop({});
      const [r, w] = f.pipe(loop);
      let n = 0;
      // Neither end is ever readable here: the watches only take ids, they never fire.
      await cycle(
        () => loop.addHandle(n++ % 2 === 0 ? r : w, n % 3 === 0 ? 0 : READABLE, () => {}),
        (id) => loop.removeHandle(id),
        "watch",
        () => f.runFor(loop, 1),
      );
    },
  },
  {
    id: "ids.timers-never-reused",
    title: "timer ids are positive integers, distinct, never reused across many add/remove cycles",
    rule: "Ids are positive integers, never reused by a loop.",
    async run(f) {
      const loop = f.createLoop({});
      let n = 0;
      await cycle(
        () => loop.addTimeout([-1, 1000, 0][n++ % 3] as number, () => {}),
        (id) => loop.removeTimeout(id),
        "timer",
        () => f.runFor(loop, 1),
      );
    },
  },
];
