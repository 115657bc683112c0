import { describe, expect, it } from "vitest";
import { withGetters } from "./accessors.ts";

describe("withGetters", () => {
  it("adds live, enumerable, read-only getters to the object it is given, and returns that object", () => {
    let count = 0;
    const object = { bump: () => ++count };
    const result = withGetters(object, { count: () => count, doubled: () => count * 2 });
    expect(result).toBe(object);
    expect(Object.keys(result)).toEqual(["bump", "count", "doubled"]);
    result.bump();
    expect(result.count).toBe(1);
    expect(result.doubled).toBe(2);
    expect(() => {
      (result as { count: number }).count = 5;
    }).toThrow(TypeError);
    expect({ ...result }).toEqual({ bump: object.bump, count: 1, doubled: 2 });
  });
});
