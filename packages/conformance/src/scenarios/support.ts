/**
 * What the scenarios share: recorders for callbacks, a way to let the loop run a number of passes,
 * and the check of a refused call. Internal to the suite: not exported from the package.
 *
 * Scenarios never assert inside a loop callback: an assertion thrown there would be routed to the
 * loop's error path (and could even be swallowed by a broken loop). Callbacks only record; the
 * scenario asserts once the loop has run.
 */
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { HandleEvent, formatHandleEvents, type EventLoopImpl, type HandleCallback, type HandleEvents, type TimeoutCallback } from "@evloop/core";
import type { ConformanceFixture } from "../fixture.ts";

export type Fixture = ConformanceFixture;
export type Loop = EventLoopImpl;

export const { READABLE, WRITABLE, ERROR, HANGUP } = HandleEvent;
/** The bits a closed peer may produce: real systems differ in which of the two they report. */
export const ERROR_OR_HANGUP = ERROR | HANGUP;

/**
 * How much earlier than its due time a real timer may seem to fire, seen from `performance.now()`:
 * loops read a cached or millisecond-rounded clock. Only lower bounds use it; there are no upper
 * bounds on real time (a busy machine makes everything late, never early).
 */
export const EARLY_MS = 10;

/** Spells events for messages. */
export const fmt = (events: HandleEvents): string => formatHandleEvents(events);

/** Spells any value for messages. */
export const show = (value: unknown): string => inspect(value, { depth: 2, breakLength: Infinity });

/** One call of a watch callback. */
export interface Fire {
  readonly watch: number;
  readonly fd: number;
  readonly events: HandleEvents;
}

/** A watch callback that records its calls. */
export interface HandleLog {
  readonly cb: HandleCallback;
  readonly fires: Fire[];
  readonly count: number;
}

/** A handle callback that records each call, then lets `react` act (its return value is the callback's). */
export function handleLog(react?: (fire: Fire, count: number) => void | number): HandleLog {
  const fires: Fire[] = [];
  return {
    fires,
    get count() {
      return fires.length;
    },
    cb(watch, fd, events) {
      const fire = { watch, fd, events };
      fires.push(fire);
      return react?.(fire, fires.length);
    },
  };
}

/** A timer callback that records each call (its argument and the real time), then lets `react` act. */
export interface TimerLog {
  readonly cb: TimeoutCallback;
  readonly ids: number[];
  /** `performance.now()` at each call: meaningful only for loops on real time. */
  readonly times: number[];
  readonly count: number;
}

/** Creates a {@link TimerLog}. */
export function timerLog(react?: (timer: number, count: number) => void): TimerLog {
  const ids: number[] = [];
  const times: number[] = [];
  return {
    ids,
    times,
    get count() {
      return ids.length;
    },
    cb(timer) {
      ids.push(timer);
      times.push(performance.now());
      react?.(timer, ids.length);
    },
  };
}

/** A callback for calls that must never happen; `calls` counts them. */
export function never(): { readonly calls: unknown[][]; readonly fn: (...args: unknown[]) => undefined } {
  const calls: unknown[][] = [];
  return {
    calls,
    fn: (...args: unknown[]) => {
      calls.push(args);
      return undefined;
    },
  };
}

/** Runs the loop until `condition` holds and fails the scenario with `what` when it never does. */
export async function runUntil(f: Fixture, loop: Loop, condition: () => boolean, what: string, timeoutMs?: number): Promise<void> {
  const ok = await f.runUntil(loop, condition, timeoutMs);
  assert.ok(ok, `timed out waiting until ${what}`);
}

/**
 * Lets the loop run at least `passes` iterations. A watch on a pipe's write end, which is always
 * writable, fires once per iteration of a level-triggered loop, so counting its calls counts
 * iterations: "never fires" checks wait for passes, not for a guessed number of milliseconds. It
 * also works on a virtual clock, where time may not move while something is ready.
 */
export async function spin(f: Fixture, loop: Loop, passes = 5): Promise<void> {
  const [r, w] = f.pipe(loop);
  const marker = handleLog();
  const watch = loop.addHandle(w, WRITABLE, marker.cb);
  const ok = await f.runUntil(loop, () => marker.count >= passes);
  assert.equal(loop.removeHandle(watch), 0, "removing the pass-counting watch");
  f.close(loop, r);
  f.close(loop, w);
  assert.ok(ok, `the loop did not run ${passes} passes: a watch on an always-writable pipe end fired ${marker.count} times`);
}

/** A pipe whose read end is readable: `[readEnd, writeEnd]`. */
export function readyPipe(f: Fixture, loop: Loop, data = "ping"): [number, number] {
  const [r, w] = f.pipe(loop);
  assert.ok(f.write(loop, w, data) > 0, "the fixture wrote nothing into a new pipe");
  return [r, w];
}

/** Reads everything buffered on `fd`. */
export function drain(f: Fixture, loop: Loop, fd: number): void {
  for (let i = 0; i < 1000 && f.read(loop, fd, 65536).length > 0; i++);
}

/** What a refused call must throw. */
export interface Refusal {
  /** `invalid`: InvalidArgumentError (a TypeError); `range`: OutOfRangeError (a RangeError). */
  readonly kind: "invalid" | "range";
  /** The argument's name as `EventLoopImpl` spells it. */
  readonly argument: string;
  /** The refused value (compared with `Object.is`, so `NaN` matches). */
  readonly value: unknown;
}

const REFUSALS = {
  invalid: { name: "InvalidArgumentError", code: "ERR_EVLOOP_INVALID_ARG", base: TypeError },
  range: { name: "OutOfRangeError", code: "ERR_EVLOOP_OUT_OF_RANGE", base: RangeError },
} as const;

/**
 * Checks that `call` throws the contract's typed error. The class is recognised by its `name`,
 * `code` and built-in base class rather than by `instanceof` of core's class, so an adapter that
 * ends up with its own copy of `@evloop/core` is still judged on what users can rely on.
 */
export function expectRefused(what: string, call: () => unknown, expected: Refusal): void {
  let returned: unknown;
  try {
    returned = call();
  } catch (error) {
    const want = REFUSALS[expected.kind];
    const e = error as { name?: unknown; code?: unknown; argument?: unknown; value?: unknown };
    assert.ok(error instanceof want.base, `${what} threw ${show(error)}; expected a ${want.name} (a ${want.base.name})`);
    assert.equal(e.name, want.name, `${what}: the error's name`);
    assert.equal(e.code, want.code, `${what}: the error's code`);
    assert.equal(e.argument, expected.argument, `${what}: the error's argument`);
    assert.ok(Object.is(e.value, expected.value), `${what}: the error's value is ${show(e.value)}, expected ${show(expected.value)}`);
    return;
  }
  assert.fail(`${what} did not throw (it returned ${show(returned)}); expected a ${REFUSALS[expected.kind].name}`);
}

/** Checks a value is a positive safe integer id. */
export function assertId(id: unknown, what: string): asserts id is number {
  assert.ok(typeof id === "number" && Number.isSafeInteger(id) && id > 0, `${what} returned ${show(id)}, not a positive integer id`);
}
