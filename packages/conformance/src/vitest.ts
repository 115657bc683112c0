/**
 * The vitest binding of the conformance suite: one `it` per scenario.
 *
 * ```ts
 * import { describeConformance } from "@evloop/conformance/vitest";
 * describeConformance(myFixture);
 * ```
 * @module
 */
import type { EventLoopImpl } from "@evloop/core";
import { describe, it } from "vitest";
import type { ConformanceFixture } from "./fixture.ts";
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
