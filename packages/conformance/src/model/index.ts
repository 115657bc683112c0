/**
 * `@evloop/conformance/model`: model-based property tests of the evloop contract. Random programs
 * (fast-check) of watches, timers, writes, closes, reused descriptor numbers and time steps, whose
 * callbacks themselves add, update and remove, run against a loop made by a
 * {@link ConformanceFixture}; a small reference model of the contract checks everything the loop
 * did. A failing program is shrunk and printed as a readable scenario.
 *
 * ```ts
 * import { assertModel } from "@evloop/conformance/model";
 * await assertModel(myFixture, { seed: 42, numRuns: 100 });
 * ```
 * With vitest, `describeModel(fixture, options)` from `@evloop/conformance/vitest`.
 * @module
 */
export type { ConformanceFixture } from "../fixture.ts";
export { programArbitrary, REAL_TIME_PROGRAMS, samplePrograms, type ProgramOptions } from "./arbitraries.ts";
export { assertModel, checkModel, formatFailure, type CheckModelOptions, type ModelCheckResult, type ModelFailure } from "./check.ts";
export { runProgram, type ProgramResult, type RunProgramOptions } from "./execute.ts";
export {
  endName,
  formatAction,
  formatEvents,
  formatProgram,
  type Action,
  type AddHandleAction,
  type AddTimeoutAction,
  type ChannelKind,
  type CloseAction,
  type DrainAction,
  type EndRef,
  type ItemRef,
  type Program,
  type Reaction,
  type RemoveHandleAction,
  type RemoveTimeoutAction,
  type ReopenAction,
  type RunAction,
  type UpdateHandleAction,
  type UpdateTimeoutAction,
  type WriteAction,
} from "./program.ts";
export { ContractModel, type ContractModelOptions, type ModelContext } from "./reference.ts";
