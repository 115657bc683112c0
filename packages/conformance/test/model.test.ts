import { describe, expect, it } from "vitest";
import { assertModel, checkModel, formatProgram, runProgram, type Program } from "../src/model/index.ts";
import { describeModel } from "../src/vitest.ts";
import { createSimFixture, type SimBug } from "./sim-loop.ts";

// The reference: the shared kernel over simulated descriptors must agree with the model, on a
// virtual clock (timers checked at exact instants) and on real time (timers within bounds).
const virtualSim = createSimFixture({ virtualTime: true });
describeModel(virtualSim, { seed: 42, numRuns: 300, clock: virtualSim.now });
describeModel(createSimFixture({ virtualTime: false }), { seed: 42, numRuns: 60 });

/**
 * The model can fail: each deliberately broken loop must be caught within the CI budget, with
 * the rule it breaks in the report. (Breaking a rule only the scenarios can see, such as onError
 * called inside the pass, is left to the conformance suite: see docs/reliability.md.)
 */
const CAUGHT: Partial<Record<SimBug, RegExp>> = {
  "remove-late": /fired after it was removed/,
  "free-in-remove": /free callback .* (ran although it was not removed|inside a loop method)/,
  "free-never": /free callback of \w+ never ran/,
  "reuse-ids": /already gave out: ids are never reused/,
  "dispatch-added": /got [A-Z|]+ although its descriptor has not been/,
  "busy-error": /got ERROR although its descriptor has not been ERROR/,
  // Needs an update with the interval unchanged shortly before the old due time: rarer.
  "no-restart": /fired at \d+, but it was due at \d+/,
  "edge-triggered": /was never called for/,
  "drop-fd-on-shrink": /was never called for/,
};

describe("the model catches broken loops", () => {
  for (const [bug, rule] of Object.entries(CAUGHT) as [SimBug, RegExp][]) {
    it(`bug "${bug}"`, async () => {
      const fixture = createSimFixture({ virtualTime: true, bug });
      const result = await checkModel(fixture, { seed: bug === "no-restart" ? 1 : 42, numRuns: 400, clock: fixture.now });
      expect(result.failure, `the model did not catch "${bug}" in ${result.runs} programs`).toBeDefined();
      expect(result.failure?.violation).toMatch(rule);
      // Shrunk to a short program.
      expect(result.failure?.program.steps.length).toBeLessThanOrEqual(8);
    });
  }
});

describe("the report of a failing program", () => {
  const program: Program = {
    channels: ["pipe", "socketpair"],
    steps: [
      { op: "write", end: 1 },
      {
        op: "addHandle",
        end: 0,
        events: 1,
        reaction: { actions: [{ op: "removeHandle", watch: 1 }, { op: "reopen", channel: 0 }], stop: "return-1", throws: false },
      },
      { op: "addHandle", end: 0, events: 1, reaction: { actions: [], stop: "none", throws: true } },
      { op: "addTimeout", interval: 5, reaction: { actions: [{ op: "updateHandle", watch: -1, events: 2 }], stop: "disable", throws: false } },
      { op: "run", ms: 5 },
    ],
  };

  it("prints a program as a readable scenario", () => {
    expect(formatProgram(program)).toBe(
      [
        "[c0.r, c0.w] = pipe()",
        "[c1.a, c1.b] = socketpair()",
        'write(c0.w, "x")',
        "addHandle(c0.r, READABLE, cb: reads what is buffered; on every call: returns -1",
        "  on its first call:",
        "    removeHandle(w1)",
        "    reopen(c0): close both ends, open a new pipe (same numbers))",
        "addHandle(c0.r, READABLE, cb: reads what is buffered; then throws on its first call)",
        "addTimeout(5, cb; on every call: updateTimeout(self, -1)",
        "  on its first call:",
        "    updateHandle(self, WRITABLE))",
        "run(5 ms)",
        "(then: remove every watch and timer left, run until idle)",
      ].join("\n"),
    );
  });

  it("runs a program and logs what happened", async () => {
    const result = await runProgram(virtualSim, program, { clock: virtualSim.now });
    expect(result.violation).toBeUndefined();
    expect(result.log.join("\n")).toMatch(/call w0\(fd 3, READABLE\)[\s\S]*removeHandle\(w1\) -> 0[\s\S]*w0 returned -1/);
  });

  it("rejects with the rule broken, the shrunk program and a replay line", async () => {
    const fixture = createSimFixture({ virtualTime: true, bug: "remove-late" });
    const error = await assertModel(fixture, { seed: 42, numRuns: 400, clock: fixture.now }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/broke the contract: w\d fired after it was removed/);
    expect(error?.message).toContain("Smallest program found");
    expect(error?.message).toMatch(/Replay: checkModel\(fixture, \{ seed: 42, path: "[\d:]+" \}\)/);
  });
});
