import type { ConformanceFixture } from "./fixture.ts";

/**
 * One rule of the evloop contract, checked against a loop. A scenario makes its own loops with
 * `fixture.createLoop` and asserts with `node:assert/strict`, so it runs under any test framework.
 * Run it with {@link runScenario}, which disposes the loops it made and fails it when a loop
 * raised an error the scenario did not look at.
 */
export interface Scenario {
  /** Stable id, `group.name` (for example `"handles.same-fd-twice"`); use it to skip a scenario. */
  readonly id: string;
  /** What the scenario does, in a few words, for test titles. */
  readonly title: string;
  /** The contract sentence the scenario checks, quoted in its failure message. */
  readonly rule: string;
  /** Runs the scenario; rejects (usually with an `AssertionError`) when the loop breaks the rule. */
  run(fixture: ConformanceFixture): Promise<void>;
}
