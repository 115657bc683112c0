import type { EventLoopImpl } from "@evloop/core";
import fc from "fast-check";
import type { ConformanceFixture } from "../fixture.ts";
import { REAL_TIME_PROGRAMS, programArbitrary, type ProgramOptions } from "./arbitraries.ts";
import { runProgram, type ProgramResult, type RunProgramOptions } from "./execute.ts";
import { formatProgram, type Program } from "./program.ts";

/** Options of {@link checkModel}. */
export interface CheckModelOptions<L extends EventLoopImpl = EventLoopImpl> extends RunProgramOptions<L> {
  /** fast-check's seed (default 42: the same programs on every run). */
  readonly seed?: number;
  /** How many random programs to run (default 100). */
  readonly numRuns?: number;
  /** What the programs may contain; default {@link REAL_TIME_PROGRAMS} on real time. */
  readonly programs?: ProgramOptions;
}

/** A program the loop failed on, shrunk. */
export interface ModelFailure {
  /** The shrunk program. */
  readonly program: Program;
  /** The same as a readable scenario. */
  readonly scenario: string;
  /** The first rule the loop broke on it. */
  readonly violation: string;
  /** What happened in the failing run, one line per event. */
  readonly log: readonly string[];
  /** The seed of the run that failed; with {@link ModelFailure.path}, `checkModel(fixture, { seed, path })` replays the failure. */
  readonly seed: number;
  /** fast-check's path to the shrunk program. */
  readonly path: string | undefined;
  /** How many smaller programs fast-check tried. */
  readonly shrinks: number;
}

/** What {@link checkModel} did. */
export interface ModelCheckResult {
  /** How many programs ran before it stopped (all of them when nothing failed). */
  readonly runs: number;
  /** The seed the programs were drawn from. */
  readonly seed: number;
  /** The failing program, shrunk; undefined when the loop passed every program. */
  readonly failure: ModelFailure | undefined;
}

/**
 * Runs `numRuns` random programs (from `seed`) against loops of `fixture`, each checked by the
 * reference model. A failing program is shrunk to a minimal one.
 */
export async function checkModel<L extends EventLoopImpl>(fixture: ConformanceFixture<L>, options: CheckModelOptions<L> & { readonly path?: string } = {}): Promise<ModelCheckResult> {
  const seed = options.seed ?? 42;
  const numRuns = options.numRuns ?? 100;
  const programs = options.programs ?? (fixture.virtualTime ? {} : REAL_TIME_PROGRAMS);
  const results = new WeakMap<Program, ProgramResult>();
  const property = fc.asyncProperty(programArbitrary(programs), async (program) => {
    const result = await runProgram(fixture, program, options);
    results.set(program, result);
    return result.violation === undefined;
  });
  const details = await fc.check(property, {
    seed,
    numRuns,
    ...(options.path !== undefined ? { path: options.path } : {}),
  });
  if (!details.failed || details.counterexample === null) return { runs: details.numRuns, seed, failure: undefined };
  const [program] = details.counterexample;
  // The last failing run of the shrunk program, or (real loops can be lucky once) a fresh one.
  const result = results.get(program) ?? (await runProgram(fixture, program, options));
  const thrown = details.errorInstance;
  return {
    runs: details.numRuns,
    seed,
    failure: {
      program,
      scenario: formatProgram(program),
      violation: result.violation ?? (thrown instanceof Error ? thrown.message : "the property failed"),
      log: result.log,
      seed,
      path: details.counterexamplePath ?? undefined,
      shrinks: details.numShrinks,
    },
  };
}

/** The report of a failure: the rule broken, the shrunk program, what happened, and how to replay it. */
export function formatFailure(fixtureName: string, failure: ModelFailure): string {
  const tail = failure.log;
  return [
    `${fixtureName} broke the contract: ${failure.violation}`,
    "",
    `Smallest program found (after ${failure.shrinks} shrinks):`,
    ...failure.scenario.split("\n").map((l) => `  ${l}`),
    "",
    "What happened:",
    ...tail.map((l) => `  ${l}`),
    "",
    `Replay: checkModel(fixture, { seed: ${failure.seed}${failure.path !== undefined ? `, path: ${JSON.stringify(failure.path)}` : ""} })`,
  ].join("\n");
}

/** Like {@link checkModel}, but rejects with the readable report when a program fails. */
export async function assertModel<L extends EventLoopImpl>(fixture: ConformanceFixture<L>, options: CheckModelOptions<L> & { readonly path?: string } = {}): Promise<ModelCheckResult> {
  const result = await checkModel(fixture, options);
  if (result.failure !== undefined) throw new Error(formatFailure(fixture.name, result.failure));
  return result;
}
