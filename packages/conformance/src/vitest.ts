/**
 * The vitest binding of the conformance suite: one `it` per scenario.
 *
 * ```ts
 * import { describeConformance } from "@evloop/conformance/vitest";
 * describeConformance(myFixture);
 * ```
 * @module @evloop/conformance/vitest
 */
import type { EventLoopImpl } from "@evloop/core";
import { describe, it } from "vitest";
import type { ConformanceFixture } from "./fixture.ts";
import { assertModel, type CheckModelOptions } from "./model/check.ts";
import { runScenario } from "./run-scenario.ts";
import { allScenarios } from "./scenarios/index.ts";

/** Options of {@link describeConformance}. */
export interface DescribeConformanceOptions {
  /**
   * Ids of scenarios to skip (reported as skipped, not dropped). An id the suite does not know
   * throws, so a renamed scenario cannot be skipped silently forever.
   */
  readonly skip?: readonly string[];
}

/**
 * Defines `describe("conformance: <fixture.name>")` with one `it` per scenario, each titled
 * `<id>: <title>` and run with `runScenario`. Call it at the top level of a test file.
 */
export function describeConformance<L extends EventLoopImpl>(fixture: ConformanceFixture<L>, options: DescribeConformanceOptions = {}): void {
  const skip = new Set(options.skip ?? []);
  const unknown = [...skip].filter((id) => !allScenarios.some((s) => s.id === id));
  if (unknown.length > 0) throw new Error(`describeConformance: no scenario has the id ${unknown.map((id) => JSON.stringify(id)).join(", ")}`);
  describe(`conformance: ${fixture.name}`, () => {
    for (const scenario of allScenarios) {
      const title = `${scenario.id}: ${scenario.title}`;
      if (skip.has(scenario.id)) it.skip(title, () => {});
      else it(title, () => runScenario(fixture, scenario));
    }
  });
}

/** Options of {@link describeModel}. */
export interface DescribeModelOptions<L extends EventLoopImpl = EventLoopImpl> extends CheckModelOptions<L> {
  /** The test's timeout in ms (default: enough for `numRuns` programs, at least 60 s). */
  readonly timeoutMs?: number;
}

const envInt = (name: string): number | undefined => {
  const value = typeof process === "undefined" ? undefined : process.env[name];
  if (value === undefined || value === "") return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new Error(`${name} must be an integer, not ${JSON.stringify(value)}`);
  return n;
};

/**
 * Defines `describe("model: <fixture.name>")` with one `it` that runs `numRuns` random programs
 * (from `seed`) against the fixture's loops, checked by the reference model of
 * `@evloop/conformance/model`; a failure prints the shrunk program as a readable scenario.
 * The environment variables `EVLOOP_MODEL_RUNS` and `EVLOOP_MODEL_SEED` override `numRuns` and
 * `seed`, for long runs (`scripts/reliability-long.mjs`).
 */
export function describeModel<L extends EventLoopImpl>(fixture: ConformanceFixture<L>, options: DescribeModelOptions<L> = {}): void {
  const numRuns = envInt("EVLOOP_MODEL_RUNS") ?? options.numRuns ?? 100;
  const seed = envInt("EVLOOP_MODEL_SEED") ?? options.seed ?? 42;
  const timeout = options.timeoutMs ?? Math.max(60_000, numRuns * (fixture.virtualTime ? 500 : 3000));
  describe(`model: ${fixture.name}`, () => {
    it(
      `${numRuns} random programs agree with the reference model of the contract (seed ${seed})`,
      async () => {
        const started = performance.now();
        const result = await assertModel(fixture, { ...options, numRuns, seed });
        if (envInt("EVLOOP_MODEL_RUNS") !== undefined) {
          console.log(`model: ${fixture.name}: ${result.runs} programs, seed ${seed}, ${((performance.now() - started) / 1000).toFixed(1)} s, no violation`);
        }
      },
      timeout,
    );
  });
}
