import assert from "node:assert/strict";
import type { Scenario } from "../scenario.ts";
import { READABLE, assertId, expectRefused, handleLog, never, readyPipe, runUntil, show, spin, timerLog, type Fixture, type Loop, type Refusal } from "./support.ts";

type Bad = Omit<Refusal, "argument">;

const invalid = (value: unknown): Bad => ({ kind: "invalid", value });
const range = (value: unknown): Bad => ({ kind: "range", value });

/** Not an integer from 0 to 2^31-1: numbers outside are out of range, anything not an integer is invalid. */
const BAD_FDS: readonly Bad[] = [range(-1), range(-100), range(2 ** 31), invalid(1.5), invalid(Number.NaN), invalid("3"), invalid(undefined), invalid(null)];
/** Not a combination of READABLE|WRITABLE|ERROR|HANGUP (0 to 15). */
const BAD_EVENTS: readonly Bad[] = [range(16), range(-1), range(0x100 | 1), invalid(1.5), invalid("1"), invalid(undefined)];
/** Not an integer from -1 to 2^31-1. */
const BAD_INTERVALS: readonly Bad[] = [range(-2), range(-1000), range(2 ** 31), invalid(1.5), invalid(-1.5), invalid(Number.NaN), invalid("10"), invalid(undefined)];
/** Not a function. */
const BAD_CALLBACKS: readonly Bad[] = [invalid(undefined), invalid(null), invalid(42), invalid("cb"), invalid({})];
/** Given but not a function (`undefined` means no free callback). */
const BAD_FREES: readonly Bad[] = [invalid(42), invalid("free"), invalid({}), invalid(true)];
/** Not a number (any number is a well-formed id: unknown ones are no-ops or return -1). */
const BAD_IDS: readonly Bad[] = [invalid("1"), invalid(undefined), invalid(null), invalid({})];

// The refused values do not have the parameter types; the casts are the point of the test.
const as = <T>(value: unknown): T => value as T;

/**
 * After refused calls: the loop still works (a new watch and a new timer get ids and fire), and
 * nothing given to a refused call ever runs.
 */
async function assertNothingRegistered(f: Fixture, loop: Loop, spies: readonly ReturnType<typeof never>[], what: string): Promise<void> {
  const [r] = readyPipe(f, loop);
  const watchLog = handleLog();
  const timer = timerLog();
  const watch = loop.addHandle(r, READABLE, watchLog.cb);
  const t = loop.addTimeout(0, timer.cb);
  assertId(watch, "addHandle after refused calls");
  assertId(t, "addTimeout after refused calls");
  await runUntil(f, loop, () => watchLog.count >= 3 && timer.count >= 3, "a watch and a timer added after the refused calls fired");
  for (const fire of watchLog.fires) assert.equal(fire.events, READABLE);
  assert.equal(loop.removeHandle(watch), 0);
  assert.equal(loop.removeTimeout(t), 0);
  await f.runFor(loop, 30);
  for (const spy of spies) assert.deepEqual(spy.calls, [], `a callback given to a refused ${what} ran: ${show(spy.calls)}`);
}

/** Scenarios on bad input: every argument of every method, refused with a typed error, registering nothing. */
export const badInputScenarios: readonly Scenario[] = [
  {
    id: "bad-input.add-handle-fd",
    title: "addHandle refuses an fd that is not a non-negative integer",
    rule: "Bad input (fd not a non-negative integer) throws InvalidArgumentError (TypeError) or OutOfRangeError (RangeError) with code, argument and value; nothing is registered.",
    async run(f) {
      const loop = f.createLoop({});
      const cb = never();
      const free = never();
      for (const bad of BAD_FDS) {
        expectRefused(`addHandle(${show(bad.value)}, READABLE, cb, free)`, () => loop.addHandle(as(bad.value), READABLE, cb.fn, free.fn), { ...bad, argument: "fd" });
      }
      await assertNothingRegistered(f, loop, [cb, free], "addHandle");
    },
  },
  {
    id: "bad-input.add-handle-events",
    title: "addHandle refuses unknown event bits",
    rule: "Bad input (unknown event bits) throws a typed error naming the argument and value; nothing is registered.",
    async run(f) {
      const loop = f.createLoop({});
      // A ready fd: had a refused watch been registered, it would fire.
      const [r] = readyPipe(f, loop);
      const cb = never();
      const free = never();
      for (const bad of BAD_EVENTS) {
        expectRefused(`addHandle(fd, ${show(bad.value)}, cb, free)`, () => loop.addHandle(r, as(bad.value), cb.fn, free.fn), { ...bad, argument: "events" });
      }
      await assertNothingRegistered(f, loop, [cb, free], "addHandle");
    },
  },
  {
    id: "bad-input.add-handle-cb",
    title: "addHandle refuses a callback that is not a function",
    rule: "Bad input (callback not a function) throws InvalidArgumentError naming the argument and value; nothing is registered.",
    async run(f) {
      const loop = f.createLoop({});
      const [r] = readyPipe(f, loop);
      const free = never();
      for (const bad of BAD_CALLBACKS) {
        expectRefused(`addHandle(fd, READABLE, ${show(bad.value)}, free)`, () => loop.addHandle(r, READABLE, as(bad.value), free.fn), { ...bad, argument: "cb" });
      }
      await assertNothingRegistered(f, loop, [free], "addHandle");
    },
  },
  {
    id: "bad-input.add-handle-free",
    title: "addHandle refuses a free callback that is not a function",
    rule: "Bad input (callback not a function) throws InvalidArgumentError naming the argument and value; nothing is registered.",
    async run(f) {
      const loop = f.createLoop({});
      const [r] = readyPipe(f, loop);
      const cb = never();
      for (const bad of BAD_FREES) {
        expectRefused(`addHandle(fd, READABLE, cb, ${show(bad.value)})`, () => loop.addHandle(r, READABLE, cb.fn, as(bad.value)), { ...bad, argument: "free" });
      }
      await assertNothingRegistered(f, loop, [cb], "addHandle");
    },
  },
  {
    id: "bad-input.update-handle",
    title: "updateHandle refuses a bad watch id or bad events, leaving the watch as it was",
    rule: "Bad input throws a typed error naming the argument and value; nothing changes.",
    async run(f) {
      const loop = f.createLoop({});
      const [r] = readyPipe(f, loop);
      const disabled = handleLog();
      const enabled = handleLog();
      const off = loop.addHandle(r, 0, disabled.cb);
      const on = loop.addHandle(r, READABLE, enabled.cb);
      for (const bad of BAD_EVENTS) {
        expectRefused(`updateHandle(disabledWatch, ${show(bad.value)})`, () => loop.updateHandle(off, as(bad.value)), { ...bad, argument: "events" });
        expectRefused(`updateHandle(enabledWatch, ${show(bad.value)})`, () => loop.updateHandle(on, as(bad.value)), { ...bad, argument: "events" });
      }
      for (const bad of BAD_IDS) {
        expectRefused(`updateHandle(${show(bad.value)}, READABLE)`, () => loop.updateHandle(as(bad.value), READABLE), { ...bad, argument: "watch" });
      }
      await spin(f, loop, 5);
      assert.equal(disabled.count, 0, `a disabled watch fired after refused updates: ${show(disabled.fires)}`);
      assert.ok(enabled.count >= 4, `an enabled watch fired ${enabled.count} times in 5 passes after refused updates`);
      for (const fire of enabled.fires) assert.equal(fire.events, READABLE);
      loop.updateHandle(off, READABLE);
      await runUntil(f, loop, () => disabled.count >= 1, "the disabled watch fired once enabled");
      assert.equal(loop.removeHandle(off), 0);
      assert.equal(loop.removeHandle(on), 0);
    },
  },
  {
    id: "bad-input.remove-handle",
    title: "removeHandle refuses a watch id that is not a number, removing nothing",
    rule: "Bad input throws a typed error naming the argument and value; nothing changes.",
    async run(f) {
      const loop = f.createLoop({});
      const [r] = readyPipe(f, loop);
      const log = handleLog();
      const watch = loop.addHandle(r, READABLE, log.cb);
      for (const bad of BAD_IDS) {
        expectRefused(`removeHandle(${show(bad.value)})`, () => loop.removeHandle(as(bad.value)), { ...bad, argument: "watch" });
      }
      await runUntil(f, loop, () => log.count >= 3, "the watch still fired after refused removals");
      assert.equal(loop.removeHandle(watch), 0);
    },
  },
  {
    id: "bad-input.add-timeout-interval",
    title: "addTimeout refuses an interval that is not an integer >= -1",
    rule: "Bad input (interval not an integer >= -1) throws a typed error naming the argument and value; nothing is registered.",
    async run(f) {
      const loop = f.createLoop({});
      const cb = never();
      const free = never();
      for (const bad of BAD_INTERVALS) {
        expectRefused(`addTimeout(${show(bad.value)}, cb, free)`, () => loop.addTimeout(as(bad.value), cb.fn, free.fn), { ...bad, argument: "intervalMs" });
      }
      await assertNothingRegistered(f, loop, [cb, free], "addTimeout");
    },
  },
  {
    id: "bad-input.add-timeout-cb",
    title: "addTimeout refuses a callback that is not a function",
    rule: "Bad input (callback not a function) throws InvalidArgumentError naming the argument and value; nothing is registered.",
    async run(f) {
      const loop = f.createLoop({});
      const free = never();
      for (const bad of BAD_CALLBACKS) {
        expectRefused(`addTimeout(0, ${show(bad.value)}, free)`, () => loop.addTimeout(0, as(bad.value), free.fn), { ...bad, argument: "cb" });
      }
      await assertNothingRegistered(f, loop, [free], "addTimeout");
    },
  },
  {
    id: "bad-input.add-timeout-free",
    title: "addTimeout refuses a free callback that is not a function",
    rule: "Bad input (callback not a function) throws InvalidArgumentError naming the argument and value; nothing is registered.",
    async run(f) {
      const loop = f.createLoop({});
      const cb = never();
      for (const bad of BAD_FREES) {
        // A 0 ms timer: had it been registered, it would fire on the next iteration.
        expectRefused(`addTimeout(0, cb, ${show(bad.value)})`, () => loop.addTimeout(0, cb.fn, as(bad.value)), { ...bad, argument: "free" });
      }
      await assertNothingRegistered(f, loop, [cb], "addTimeout");
    },
  },
  {
    id: "bad-input.update-timeout",
    title: "updateTimeout refuses a bad timer id or interval, leaving the timer as it was",
    rule: "Bad input throws a typed error naming the argument and value; nothing changes.",
    async run(f) {
      const loop = f.createLoop({});
      const disabled = timerLog();
      const running = timerLog();
      const off = loop.addTimeout(-1, disabled.cb);
      const on = loop.addTimeout(10, running.cb);
      for (const bad of BAD_INTERVALS) {
        expectRefused(`updateTimeout(disabledTimer, ${show(bad.value)})`, () => loop.updateTimeout(off, as(bad.value)), { ...bad, argument: "intervalMs" });
        expectRefused(`updateTimeout(runningTimer, ${show(bad.value)})`, () => loop.updateTimeout(on, as(bad.value)), { ...bad, argument: "intervalMs" });
      }
      for (const bad of BAD_IDS) {
        expectRefused(`updateTimeout(${show(bad.value)}, 10)`, () => loop.updateTimeout(as(bad.value), 10), { ...bad, argument: "timer" });
      }
      await runUntil(f, loop, () => running.count >= 3, "the running timer still fired after refused updates");
      await f.runFor(loop, 30);
      assert.equal(disabled.count, 0, "a disabled timer fired after refused updates");
      loop.updateTimeout(off, 0);
      await runUntil(f, loop, () => disabled.count >= 1, "the disabled timer fired once set to 0");
      assert.equal(loop.removeTimeout(off), 0);
      assert.equal(loop.removeTimeout(on), 0);
    },
  },
  {
    id: "bad-input.remove-timeout",
    title: "removeTimeout refuses a timer id that is not a number, removing nothing",
    rule: "Bad input throws a typed error naming the argument and value; nothing changes.",
    async run(f) {
      const loop = f.createLoop({});
      const log = timerLog();
      const timer = loop.addTimeout(0, log.cb);
      for (const bad of BAD_IDS) {
        expectRefused(`removeTimeout(${show(bad.value)})`, () => loop.removeTimeout(as(bad.value)), { ...bad, argument: "timer" });
      }
      await runUntil(f, loop, () => log.count >= 3, "the timer still fired after refused removals");
      assert.equal(loop.removeTimeout(timer), 0);
    },
  },
];
