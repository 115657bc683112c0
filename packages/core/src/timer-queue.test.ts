import { describe, expect, it } from "vitest";
import { TimerQueue, type QueueEntry, type TimerList } from "./timer-queue.ts";
import { mulberry32 } from "./test/seeded-random.ts";

class Entry implements QueueEntry<Entry> {
  list: TimerList<Entry> | undefined = undefined;
  prev: Entry | undefined = undefined;
  next: Entry | undefined = undefined;
  constructor(
    readonly name: string,
    public intervalMs: number,
    public due: number,
    readonly seq: number,
  ) {}
}

let nextSeq = 0;
const entry = (name: string, intervalMs: number, due: number, seq = ++nextSeq) => new Entry(name, intervalMs, due, seq);

/** Takes every entry out, earliest first. */
function drain(queue: TimerQueue<Entry>): string[] {
  const names: string[] = [];
  for (let e = queue.peek(); e !== undefined; e = queue.peek()) {
    names.push(e.name);
    queue.delete(e);
  }
  return names;
}

describe("TimerQueue", () => {
  it("is empty at first", () => {
    const queue = new TimerQueue<Entry>();
    expect(queue.peek()).toBeUndefined();
    expect(queue.listCount).toBe(0);
  });

  it("orders entries by due time across intervals, then by registration order", () => {
    const queue = new TimerQueue<Entry>();
    queue.set(entry("c", 5, 30, 3));
    queue.set(entry("a2", 1, 10, 2));
    queue.set(entry("a1", 7, 10, 1));
    queue.set(entry("b", 5, 20, 4));
    expect(queue.peek()?.name).toBe("a1");
    expect(drain(queue)).toEqual(["a1", "a2", "b", "c"]);
  });

  it("moves a fired periodic timer one interval later, behind the others of its list", () => {
    const queue = new TimerQueue<Entry>();
    const timers = [0, 1, 2].map((i) => entry(`t${i}`, 10, 100 + i));
    const other = entry("other", 15, 105);
    for (const t of [...timers, other]) queue.set(t);
    const fired: string[] = [];
    for (let i = 0; i < 6; i++) {
      const t = queue.peek() as Entry;
      fired.push(t.name);
      t.due += t.intervalMs;
      queue.set(t);
    }
    // 100 t0, 101 t1, 102 t2, 105 other, 110 t0, 111 t1
    expect(fired).toEqual(["t0", "t1", "t2", "other", "t0", "t1"]);
  });

  it("puts an entry due before the end of its list in its place (a late or restarted timer)", () => {
    const queue = new TimerQueue<Entry>();
    const a = entry("a", 10, 50);
    const b = entry("b", 10, 60);
    const c = entry("c", 10, 70);
    for (const t of [a, b, c]) queue.set(t);
    c.due = 55; // restarted earlier than b is due
    queue.set(c);
    const d = entry("d", 10, 50); // same due as a, registered later
    queue.set(d);
    expect(drain(queue)).toEqual(["a", "d", "c", "b"]);
  });

  it("moves an entry to another list when its interval changes", () => {
    const queue = new TimerQueue<Entry>();
    const a = entry("a", 10, 10);
    const b = entry("b", 20, 20);
    queue.set(a);
    queue.set(b);
    a.intervalMs = 30;
    a.due = 30;
    queue.set(a);
    expect(drain(queue)).toEqual(["b", "a"]);
  });

  it("deletes any entry; deleting one not queued does nothing; has() says which are queued", () => {
    const queue = new TimerQueue<Entry>();
    const all = [10, 20, 30, 40].map((due) => entry(`t${due}`, due % 20, due));
    for (const e of all) queue.set(e);
    const [t10, , t30] = all as [Entry, Entry, Entry, Entry];
    queue.delete(t30);
    queue.delete(t30);
    queue.delete(entry("stranger", 1, 1));
    expect(queue.has(t30)).toBe(false);
    expect(queue.has(t10)).toBe(true);
    expect(drain(queue)).toEqual(["t10", "t20", "t40"]);
    expect(queue.has(t10)).toBe(false);
  });

  it("keeps at most 64 empty lists for reuse, however many intervals come and go", () => {
    const queue = new TimerQueue<Entry>();
    const live = entry("live", 1, 1);
    queue.set(live);
    for (let i = 0; i < 10_000; i++) {
      const t = entry(`t${i}`, 1000 + i, 1000 + i);
      queue.set(t);
      queue.delete(t);
    }
    expect(queue.listCount).toBeLessThanOrEqual(1 + 64);
    // A list emptied and filled again is reused: one add + remove per pair, no growth.
    const again = entry("again", 1000, 5);
    queue.set(again);
    expect(drain(queue)).toEqual(["live", "again"]);
  });

  it("matches a sorted array under a seeded random mix of add, reschedule, interval change and delete", () => {
    for (const seed of [1, 2, 3, 42, 2024]) {
      const random = mulberry32(seed);
      const queue = new TimerQueue<Entry>();
      const model: Entry[] = []; // the queued entries, kept sorted by (due, seq)
      const sortModel = () => model.sort((x, y) => x.due - y.due || x.seq - y.seq);
      const pick = () => model[Math.floor(random() * model.length)] as Entry;
      // Few intervals and due times, so lists hold several entries and ties are exercised.
      const interval = () => Math.floor(random() * 4);
      let seq = 0;
      for (let step = 0; step < 4000; step++) {
        const r = random();
        if (r < 0.35 || model.length === 0) {
          const e = entry(`e${seq}`, interval(), Math.floor(random() * 50), ++seq);
          queue.set(e);
          model.push(e);
        } else if (r < 0.55) {
          // What a fire does: the earliest, one interval later.
          sortModel();
          const e = model[0] as Entry;
          e.due += e.intervalMs;
          queue.set(e);
        } else if (r < 0.7) {
          const e = pick();
          e.due = Math.floor(random() * 50);
          if (random() < 0.5) e.intervalMs = interval();
          queue.set(e);
        } else if (r < 0.85) {
          const e = pick();
          queue.delete(e);
          model.splice(model.indexOf(e), 1);
        } else {
          sortModel();
          const e = model.shift() as Entry;
          expect(queue.peek()).toBe(e);
          queue.delete(e);
        }
        sortModel();
        // Plain checks in the hot loop (one expect per step would dominate the run time).
        if (queue.peek() !== model[0] || model.some((e) => !queue.has(e)))
          expect.fail(`seed ${seed}, step ${step}: queue disagrees with the sorted model`);
      }
      sortModel();
      expect(drain(queue)).toEqual(model.map((e) => e.name));
    }
  });
});
