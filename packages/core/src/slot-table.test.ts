import { describe, it, expect } from "vitest";
import { SlotTable } from "./slot-table.ts";

const SLOTS = 2 ** 24;

describe("SlotTable", () => {
  it("hands out positive integer ids starting at 1", () => {
    const table = new SlotTable<string>();
    expect([table.add("a"), table.add("b"), table.add("c")]).toEqual([1, 2, 3]);
  });

  it("get returns the record stored under an id", () => {
    const table = new SlotTable<string>();
    const a = table.add("a");
    const b = table.add("b");
    expect(table.get(a)).toBe("a");
    expect(table.get(b)).toBe("b");
  });

  it("size counts the live records", () => {
    const table = new SlotTable<string>();
    expect(table.size).toBe(0);
    const a = table.add("a");
    table.add("b");
    expect(table.size).toBe(2);
    table.delete(a);
    expect(table.size).toBe(1);
    table.delete(a);
    expect(table.size).toBe(1);
  });

  it("delete returns the record, and undefined the second time", () => {
    const table = new SlotTable<string>();
    const a = table.add("a");
    expect(table.delete(a)).toBe("a");
    expect(table.delete(a)).toBeUndefined();
    expect(table.get(a)).toBeUndefined();
  });

  it("a deleted id is never handed out again, although its slot is reused (the generation grows)", () => {
    const table = new SlotTable<string>();
    const a = table.add("a");
    table.add("b");
    table.delete(a);
    const c = table.add("c");
    expect(c).not.toBe(a);
    expect(c).toBe(SLOTS + 1); // slot 0, generation 1
    expect(table.get(a)).toBeUndefined();
    expect(table.get(c)).toBe("c");
    table.delete(c);
    expect(table.add("d")).toBe(2 * SLOTS + 1);
  });

  it("the old id of a reused slot neither reads nor deletes the new record", () => {
    const table = new SlotTable<string>();
    const a = table.add("a");
    table.delete(a);
    const b = table.add("b");
    expect(table.delete(a)).toBeUndefined();
    expect(table.get(b)).toBe("b");
    expect(table.size).toBe(1);
  });

  it("ids stay unique and positive across many add/delete cycles", () => {
    const table = new SlotTable<number>();
    const seen = new Set<number>();
    const live: number[] = [];
    for (let i = 0; i < 5000; i++) {
      const id = table.add(i);
      expect(Number.isSafeInteger(id) && id > 0).toBe(true);
      expect(seen.has(id)).toBe(false);
      seen.add(id);
      live.push(id);
      if (i % 3 !== 0) table.delete(live.splice((i * 7919) % live.length, 1)[0] as number);
    }
    expect(table.size).toBe(live.length);
    for (const id of live) expect(table.get(id)).not.toBeUndefined();
  });

  it.each([
    ["0", 0],
    ["a negative id", -1],
    ["a fraction", 1.5],
    ["NaN", NaN],
    ["Infinity", Infinity],
    ["-Infinity", -Infinity],
    ["an id beyond every slot", 99],
    ["an id with a future generation", SLOTS + 1],
  ])("get and delete return undefined for %s", (_what, id) => {
    const table = new SlotTable<string>();
    table.add("a");
    expect(table.get(id)).toBeUndefined();
    expect(table.delete(id)).toBeUndefined();
    expect(table.size).toBe(1);
    expect(table.get(1)).toBe("a");
  });

  it("values() yields the live records in slot order", () => {
    const table = new SlotTable<string>();
    const a = table.add("a");
    table.add("b");
    table.add("c");
    table.delete(a);
    expect([...table.values()]).toEqual(["b", "c"]);
    table.add("d"); // takes slot 0 again
    expect([...table.values()]).toEqual(["d", "b", "c"]);
  });
});
