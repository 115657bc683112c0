/**
 * @evloop/conformance: the scenarios every event loop implementing the evloop contract
 * (`EventLoopImpl` from `@evloop/core`) must pass. An adapter supplies a
 * {@link ConformanceFixture} (how to make loops and descriptors, and how to let the loop run);
 * the suite checks each rule of the contract against it.
 *
 * With vitest, use `describeConformance` from `@evloop/conformance/vitest`; with anything else,
 * loop over {@link scenarios} and call {@link runScenario}.
 * @module @evloop/conformance
 */
import type { Scenario } from "./scenario.ts";
import { allScenarios } from "./scenarios/index.ts";

export type { ConformanceFixture } from "./fixture.ts";
export type { Scenario } from "./scenario.ts";
export { runScenario } from "./run-scenario.ts";

/**
 * Every scenario of the suite, grouped by topic (`handles.`, `removal.`, `dispatch.`, `timers.`,
 * `free.`, `ids.`, `errors.`, `bad-input.`, `load.`). Ids are unique and stable.
 */
export const scenarios: readonly Scenario[] = allScenarios;
