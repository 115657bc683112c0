import { describe, expect, it } from "vitest";
import { scenarios } from "../src/index.ts";
import { describeConformance } from "../src/vitest.ts";
import { createSimFixture } from "./sim-loop.ts";

describe("the scenario list", () => {
  it("has unique ids of the form group.name, each with a title and a rule", () => {
    const ids = scenarios.map((s) => s.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const s of scenarios) {
      expect(s.id).toMatch(/^[a-z-]+\.[a-z0-9-]+$/);
      expect(s.title.length).toBeGreaterThan(10);
      expect(s.rule.length).toBeGreaterThan(10);
    }
  });

  it("is frozen", () => {
    expect(Object.isFrozen(scenarios)).toBe(true);
  });
});

// The reference: the shared kernel over simulated descriptors, on a virtual and on a real clock.
// Every scenario must pass on it; a scenario the kernel fails is a bug of @evloop/core to report,
// not a skip to add here.
describeConformance(createSimFixture({ virtualTime: true }));
describeConformance(createSimFixture({ virtualTime: false }));

describe("describeConformance", () => {
  it("refuses to skip a scenario id it does not know", () => {
    expect(() => describeConformance(createSimFixture(), { skip: ["handles.no-such-scenario"] })).toThrow(/handles\.no-such-scenario/);
  });
});
