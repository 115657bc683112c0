import assert from "node:assert/strict";
import type { Scenario } from "../scenario.ts";
import { READABLE, handleLog, readyPipe, runUntil, show, spin, timerLog, type Fixture, type HandleLog, type Loop } from "./support.ts";

/** An error a scenario throws from a callback, recognisable by identity. */
class Planted extends Error {
  constructor(what: string) {
    super(`planted by the conformance suite: ${what}`);
    this.name = "PlantedError";
  }
}

/**
 * Three watches on one ready fd, so they are dispatched in one pass whatever the loop; those in
 * `throwers` throw on their first call. Each call records how many errors had been reported
 * (`reported()`) when it ran, so a scenario can tell the others ran in the same pass.
 */
function threeWatches(
  f: Fixture,
  loop: Loop,
  throwers: readonly number[],
  reported: () => number,
): { logs: HandleLog[]; errors: Planted[]; seenReported: number[][]; ids: number[] } {
  const [r] = readyPipe(f, loop);
  const errors: Planted[] = [];
  const seenReported: number[][] = [[], [], []];
  const logs = [0, 1, 2].map((i) =>
    handleLog((_, count) => {
      (seenReported[i] as number[]).push(reported());
      if (count === 1 && throwers.includes(i)) {
        const error = new Planted(`watch ${i + 1} of 3`);
        errors.push(error);
        throw error;
      }
    }),
  );
  const ids = logs.map((log) => loop.addHandle(r, READABLE, log.cb));
  return { logs, errors, seenReported, ids };
}

/** Scenarios on callbacks that throw: the others of the pass still run, and the error reaches the application. */
export const errorScenarios: readonly Scenario[] = [
  {
    id: "errors.on-error-others-still-run",
    title: "with onError, a throwing callback loses no other callback's event in that pass",
    rule: "A callback that throws loses no other callback's event in that pass; the error reaches the application via the onError option, after the pass.",
    async run(f) {
      const received: unknown[] = [];
      let firesAtFirstError: number[] | undefined;
      const loop = f.createLoop({
        onError(error) {
          firesAtFirstError ??= t.logs.map((l) => l.count);
          received.push(error);
        },
      });
      const t = threeWatches(f, loop, [1], () => received.length);
      await runUntil(f, loop, () => received.length >= 1 && t.logs.every((l) => l.count >= 2), "onError got the error and every watch fired twice");
      assert.deepEqual(received, t.errors, "onError did not get exactly what the callback threw");
      assert.deepEqual(firesAtFirstError, [1, 1, 1], `onError ran before every watch of the pass had fired (calls per watch: ${show(firesAtFirstError)})`);
      assert.deepEqual(t.seenReported.map((s) => s[0]), [0, 0, 0], "a watch of the pass ran only after the error was reported");
      assert.deepEqual(f.raised(loop), [], "a loop with onError raised the error too");
    },
  },
  {
    id: "errors.on-error-each-error",
    title: "with onError, each error of a pass reaches onError as it was thrown",
    rule: "The error reaches the application via the onError option (the AggregateError is only for raising several at once).",
    async run(f) {
      const received: unknown[] = [];
      const loop = f.createLoop({ onError: (error) => void received.push(error) });
      const t = threeWatches(f, loop, [0, 2], () => received.length);
      await runUntil(f, loop, () => received.length >= 2 && t.logs.every((l) => l.count >= 2), "onError got both errors and every watch fired twice");
      assert.equal(received.length, 2, `onError got ${show(received)}`);
      assert.ok(t.errors.every((e) => received.includes(e)), `onError did not get each thrown error itself: ${show(received)}`);
      assert.deepEqual(t.seenReported.map((s) => s[0]), [0, 0, 0], "a watch of the pass ran only after an error was reported");
    },
  },
  {
    id: "errors.raised-after-pass",
    title: "without onError, the error is raised after the pass, and the other callbacks of that pass ran",
    rule: "A callback that throws loses no other callback's event in that pass; without onError the error is raised after the pass.",
    async run(f) {
      const loop = f.createLoop({});
      const t = threeWatches(f, loop, [1], () => f.raised(loop).length);
      await runUntil(f, loop, () => f.raised(loop).length >= 1 && t.logs.every((l) => l.count >= 2), "the error was raised and every watch fired twice");
      assert.deepEqual(f.raised(loop), t.errors, "the loop did not raise exactly what the callback threw");
      assert.deepEqual(t.seenReported.map((s) => s[0]), [0, 0, 0], "a watch of the pass ran only after the error was raised: the pass was cut short");
    },
  },
  {
    id: "errors.raised-aggregate",
    title: "without onError, several errors of one pass are raised together as one AggregateError",
    rule: "Without onError, errors are raised after the pass, several at once as an AggregateError.",
    async run(f) {
      const loop = f.createLoop({});
      const t = threeWatches(f, loop, [0, 2], () => f.raised(loop).length);
      await runUntil(f, loop, () => f.raised(loop).length >= 1 && t.logs.every((l) => l.count >= 2), "an error was raised and every watch fired twice");
      const raised = f.raised(loop);
      assert.equal(raised.length, 1, `two errors of one pass were raised as ${raised.length} errors: ${show(raised)}`);
      const aggregate = raised[0];
      assert.ok(aggregate instanceof AggregateError, `two errors of one pass were raised as ${show(aggregate)}, not an AggregateError`);
      assert.equal(aggregate.errors.length, 2, `the AggregateError holds ${show(aggregate.errors)}`);
      assert.ok(t.errors.every((e) => aggregate.errors.includes(e)), `the AggregateError does not hold the thrown errors themselves: ${show(aggregate.errors)}`);
      assert.deepEqual(t.seenReported.map((s) => s[0]), [0, 0, 0], "a watch of the pass ran only after the errors were raised");
    },
  },
  {
    id: "errors.timer-throws",
    title: "a throwing timer callback reaches onError (or is raised), and other timers keep firing",
    rule: "A callback that throws loses no other callback's event; the error reaches onError, else is raised after the pass.",
    async run(f) {
      for (const withOnError of [true, false]) {
        const received: unknown[] = [];
        const loop = f.createLoop(withOnError ? { onError: (error) => void received.push(error) } : {});
        const reported = () => (withOnError ? received : f.raised(loop));
        const error = new Planted("a timer callback");
        const thrower = timerLog((_, count) => {
          if (count === 1) throw error;
        });
        const other = timerLog();
        const t1 = loop.addTimeout(0, thrower.cb);
        const t2 = loop.addTimeout(0, other.cb);
        await runUntil(f, loop, () => reported().length >= 1 && other.count >= 3, "the error was reported and the other timer fired 3 times");
        assert.deepEqual(reported(), [error], `${withOnError ? "onError" : "the loop"} did not get exactly what the timer threw`);
        if (withOnError) assert.deepEqual(f.raised(loop), [], "a loop with onError raised the error too");
        loop.removeTimeout(t1);
        loop.removeTimeout(t2);
      }
    },
  },
  {
    id: "errors.free-throws",
    title: "a throwing free callback reaches onError (or is raised) like any callback",
    rule: "What a callback (or a free callback) throws reaches onError, else is raised after the pass.",
    async run(f) {
      for (const withOnError of [true, false]) {
        const received: unknown[] = [];
        const loop = f.createLoop(withOnError ? { onError: (error) => void received.push(error) } : {});
        const reported = () => (withOnError ? received : f.raised(loop));
        const [r] = f.pipe(loop);
        const watchError = new Planted("a watch's free callback");
        const timerError = new Planted("a timer's free callback");
        const watch = loop.addHandle(r, READABLE, () => {}, () => {
          throw watchError;
        });
        const timer = loop.addTimeout(-1, () => {}, () => {
          throw timerError;
        });
        assert.equal(loop.removeHandle(watch), 0);
        assert.equal(loop.removeTimeout(timer), 0);
        await runUntil(f, loop, () => reported().flatMap((e) => (e instanceof AggregateError ? e.errors : [e])).length >= 2, "both free callbacks' errors were reported", 1000);
        const got = reported().flatMap((e) => (withOnError || !(e instanceof AggregateError) ? [e] : e.errors));
        assert.ok(got.includes(watchError) && got.includes(timerError) && got.length === 2, `${withOnError ? "onError" : "the loop"} got ${show(reported())}`);
        if (withOnError) assert.deepEqual(f.raised(loop), [], "a loop with onError raised the error too");
        // The loop still works.
        await spin(f, loop, 3);
      }
    },
  },
];
