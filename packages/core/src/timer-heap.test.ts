import { describe, it, expect } from "vitest";
import { TimerHeap, type HeapEntry } from "./timer-heap.ts";
import { mulberry32 } from "./test/seeded-random.ts";

interface Entry extends HeapEntry {
  readonly name: string;
}

let nextSeq = 0;
function entry(name: string, due: number, seq = ++nextSeq): Entry {
  return { name, due, seq, heapIndex: -1 };
}

function drain(heap: TimerHeap<Entry>): string[] {
  const names: string[] = [];
  for (let e = heap.peek(); e !== undefined; e = heap.peek()) {
    names.push(e.name);
    heap.delete(e);
  }
  return names;
}

describe("TimerHeap", () => {
  it("is empty at first: size 0, peek gives undefined", () => {
    const heap = new TimerHeap<Entry>();
    expect(heap.size).toBe(0);
    expect(heap.peek()).toBeUndefined();
  });

  it("orders entries by due time", () => {
    const heap = new TimerHeap<Entry>();
    for (const [name, due] of [["c", 30], ["a", 10], ["d", 40], ["b", 20]] as const) heap.set(entry(name, due));
    expect(heap.peek()?.name).toBe("a");
    expect(heap.size).toBe(4);
    expect(drain(heap)).toEqual(["a", "b", "c", "d"]);
  });

  it("breaks ties by registration order (seq), whatever the insertion order", () => {
    const heap = new TimerHeap<Entry>();
    heap.set(entry("third", 5, 3));
    heap.set(entry("first", 5, 1));
    heap.set(entry("second", 5, 2));
    expect(drain(heap)).toEqual(["first", "second", "third"]);
  });

  it("heapIndex is the entry's place while it is in the heap, -1 once it is out", () => {
    const heap = new TimerHeap<Entry>();
    const a = entry("a", 1);
    const b = entry("b", 2);
    heap.set(b);
    heap.set(a);
    expect(a.heapIndex).toBe(0);
    expect(b.heapIndex).toBe(1);
    heap.delete(a);
    expect(a.heapIndex).toBe(-1);
    expect(b.heapIndex).toBe(0);
    expect(heap.peek()).toBe(b);
    heap.delete(b);
    expect(b.heapIndex).toBe(-1);
  });

  it("set on an entry already in the heap moves it to its new due time (no duplicate)", () => {
    const heap = new TimerHeap<Entry>();
    const a = entry("a", 10);
    const b = entry("b", 20);
    const c = entry("c", 30);
    heap.set(a);
    heap.set(b);
    heap.set(c);
    a.due = 25;
    heap.set(a);
    expect(heap.size).toBe(3);
    c.due = 5;
    heap.set(c);
    expect(drain(heap)).toEqual(["c", "b", "a"]);
  });

  it("delete takes out any entry, not only the top", () => {
    const heap = new TimerHeap<Entry>();
    const all = [10, 20, 30, 40, 50].map((due) => entry(`t${due}`, due));
    for (const e of all) heap.set(e);
    heap.delete(all[2] as Entry);
    heap.delete(all[4] as Entry);
    expect(drain(heap)).toEqual(["t10", "t20", "t40"]);
  });

  it("delete of an entry that is not in the heap is a no-op", () => {
    const heap = new TimerHeap<Entry>();
    const a = entry("a", 1);
    heap.set(a);
    heap.delete(entry("stranger", 0));
    heap.delete(a);
    heap.delete(a);
    expect(heap.size).toBe(0);
  });

  it("a deleted entry can be set again", () => {
    const heap = new TimerHeap<Entry>();
    const a = entry("a", 1);
    heap.set(a);
    heap.delete(a);
    a.due = 7;
    heap.set(a);
    expect(heap.peek()).toBe(a);
    expect(heap.size).toBe(1);
  });

  it("matches a sorted array under a seeded random mix of set, reschedule, delete and taking the earliest", () => {
    for (const seed of [1, 2, 3, 42, 2024]) {
      const random = mulberry32(seed);
      const heap = new TimerHeap<Entry>();
      const model: Entry[] = []; // the entries in the heap, kept sorted by (due, seq)
      const sortModel = () => model.sort((x, y) => x.due - y.due || x.seq - y.seq);
      const pick = () => model[Math.floor(random() * model.length)] as Entry;
      let seq = 0;
      for (let step = 0; step < 4000; step++) {
        const r = random();
        if (r < 0.4 || model.length === 0) {
          // Few distinct due times, so ties (and the seq order) are exercised.
          const e = entry(`e${seq}`, Math.floor(random() * 50), ++seq);
          heap.set(e);
          model.push(e);
        } else if (r < 0.6) {
          const e = pick();
          e.due = Math.floor(random() * 50);
          heap.set(e);
        } else if (r < 0.8) {
          const e = pick();
          heap.delete(e);
          model.splice(model.indexOf(e), 1);
          expect(e.heapIndex).toBe(-1);
        } else {
          sortModel();
          const expected = model.shift();
          expect(heap.peek()).toBe(expected);
          heap.delete(expected as Entry);
        }
        sortModel();
        // Plain checks in the hot loop (one expect per step would dominate the run time).
        if (heap.size !== model.length || heap.peek() !== model[0] || model.some((e) => e.heapIndex < 0))
          expect.fail(`seed ${seed}, step ${step}: heap disagrees with the sorted model`);
      }
      sortModel();
      const expectedOrder = model.map((e) => e.name);
      expect(drain(heap)).toEqual(expectedOrder);
    }
  });
});
