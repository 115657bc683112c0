import fc from "fast-check";
import type { Action, ChannelKind, Program, Reaction } from "./program.ts";

/** What the generated programs may contain. */
export interface ProgramOptions {
  /** At most this many channels (default 2: few descriptors, so watches meet on them). */
  readonly maxChannels?: number;
  /** At most this many top-level steps (default 20). */
  readonly maxSteps?: number;
  /** At most this many actions in one callback (default 3). */
  readonly maxActions?: number;
  /** How deep callbacks may add callbacks that act (default 2). */
  readonly depth?: number;
  /** Timer intervals to draw from (default `[-1, 0, 1, 2, 3, 5, 10]`). */
  readonly intervals?: readonly number[];
  /** Time steps to draw from, in ms (default `[1, 2, 3, 5, 10]`). */
  readonly runMs?: readonly number[];
}

/**
 * Timers and time steps for loops on real time: short steps, timers of a few milliseconds or of a
 * minute (registered, updated and removed, never due), so a run stays short.
 */
export const REAL_TIME_PROGRAMS: ProgramOptions = { intervals: [-1, 0, 1, 2, 5, 60_000], runMs: [1, 2, 5, 10] };

const weighted = <T>(...choices: [number, T][]): fc.Arbitrary<T> => fc.oneof(...choices.map(([weight, value]) => ({ weight, arbitrary: fc.constant(value) })));

/**
 * Random programs for {@link runProgram}: a few channels, then add/update/remove of watches and
 * timers, writes, drains, closes, reopened channels (numbers reused at once) and time steps;
 * callbacks that add, update or remove watches and timers (their own included), write, close and
 * reopen. fast-check shrinks a failing one to a short program.
 */
export function programArbitrary(options: ProgramOptions = {}): fc.Arbitrary<Program> {
  const maxChannels = options.maxChannels ?? 2;
  const maxSteps = options.maxSteps ?? 20;
  const maxActions = options.maxActions ?? 3;
  const depth = options.depth ?? 2;
  const intervals = options.intervals ?? [-1, 0, 1, 2, 3, 5, 10];
  const runMs = options.runMs ?? [1, 2, 3, 5, 10];

  const end = fc.nat(2 * maxChannels - 1);
  const channel = fc.nat(maxChannels - 1);
  const events = weighted<number>([5, 1], [2, 2], [2, 3], [1, 0]);
  const interval = fc.constantFrom(...intervals);
  const item = weighted<number>([3, -1], [4, 0], [3, 1], [2, 2], [1, 3], [1, 4]);

  const reaction = (level: number): fc.Arbitrary<Reaction> =>
    fc.record({
      actions: level <= 0 ? fc.constant([]) : fc.array(action(level - 1, false), { maxLength: maxActions, size: "max" }),
      stop: weighted<Reaction["stop"]>([4, "none"], [2, "remove"], [1, "return-1"], [2, "disable"]),
      throws: weighted([8, false], [1, true]),
    });

  const action = (level: number, top: boolean): fc.Arbitrary<Action> =>
    fc.oneof(
      { weight: 7, arbitrary: fc.record({ op: fc.constant("addHandle" as const), end, events, reaction: reaction(level) }) },
      { weight: 2, arbitrary: fc.record({ op: fc.constant("updateHandle" as const), watch: item, events }) },
      { weight: 3, arbitrary: fc.record({ op: fc.constant("removeHandle" as const), watch: item }) },
      { weight: 3, arbitrary: fc.record({ op: fc.constant("addTimeout" as const), interval, reaction: reaction(level) }) },
      { weight: 2, arbitrary: fc.record({ op: fc.constant("updateTimeout" as const), timer: item, interval }) },
      { weight: 2, arbitrary: fc.record({ op: fc.constant("removeTimeout" as const), timer: item }) },
      { weight: 5, arbitrary: fc.record({ op: fc.constant("write" as const), end }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant("drain" as const), end }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant("close" as const), end }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant("reopen" as const), channel }) },
      ...(top ? [{ weight: 4, arbitrary: fc.record({ op: fc.constant("run" as const), ms: fc.constantFrom(...runMs) }) }] : []),
    );

  return fc.record({
    channels: fc.array(fc.constantFrom<ChannelKind>("pipe", "socketpair"), { minLength: 1, maxLength: maxChannels }),
    steps: fc.array(action(depth, true), { minLength: 1, maxLength: maxSteps, size: "max" }),
  });
}

/** `count` programs drawn from `seed`, the same ones on every call: for statistics and replays. */
export function samplePrograms(count: number, seed: number, options: ProgramOptions = {}): Program[] {
  return fc.sample(programArbitrary(options), { seed, numRuns: count });
}
