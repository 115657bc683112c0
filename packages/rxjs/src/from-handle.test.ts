import { closeSync, readSync, writeSync } from "node:fs";
import { HandleEvent, registerEventImpl, unregisterEventImpl, type EventLoopImpl } from "@evloop/core";
import { createLibuvLoop } from "@evloop/libuv";
import { pipe } from "@evloop/native";
import { createVirtualLoop, type VirtualLoop } from "@evloop/poll";
import { config, firstValueFrom, share, take, type Observer } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import { HandleEventError, fromHandle } from "./from-handle.ts";

const { READABLE, WRITABLE, ERROR, HANGUP } = HandleEvent;

/** A virtual loop whose removeHandle calls are counted, to check teardown happens exactly once. */
function countingLoop(): { loop: VirtualLoop; removals: number[] } {
  const inner = createVirtualLoop();
  const removals: number[] = [];
  const loop: VirtualLoop = {
    ...inner,
    removeHandle(watch) {
      removals.push(watch);
      return inner.removeHandle(watch);
    },
  };
  return { loop, removals };
}

/** Records what an Observable delivered. */
function recorder<T>(): Observer<T> & { values: T[]; errors: unknown[]; completed: boolean } {
  const r = {
    values: [] as T[],
    errors: [] as unknown[],
    completed: false,
    next: (value: T) => void r.values.push(value),
    error: (error: unknown) => void r.errors.push(error),
    complete: () => void (r.completed = true),
  };
  return r;
}

afterEach(() => {
  unregisterEventImpl();
  config.onUnhandledError = null;
});

describe("fromHandle", () => {
  it("emits the ready events of each pass, level-triggered, until unsubscribed; unsubscribing removes the watch once", () => {
    const { loop, removals } = countingLoop();
    const [r, w] = loop.fds.pipe();
    const seen = recorder<number>();
    const subscription = fromHandle(r, READABLE, { loop }).subscribe(seen);
    expect(loop.registrations().handles).toEqual([{ watch: expect.any(Number), fd: r, events: READABLE }]);
    loop.fds.write(w, "x");
    loop.runOnce();
    loop.runOnce();
    expect(seen.values).toEqual([READABLE, READABLE]);
    subscription.unsubscribe();
    subscription.unsubscribe();
    loop.runOnce();
    expect(seen.values).toHaveLength(2);
    expect(removals).toHaveLength(1);
    expect(loop.registrations()).toEqual({ handles: [], timers: [] });
  });

  it("delivers ERROR and HANGUP as values by default", () => {
    const loop = createVirtualLoop();
    const [r, w] = loop.fds.pipe();
    const seen = recorder<number>();
    const subscription = fromHandle(r, READABLE, { loop }).subscribe(seen);
    loop.fds.close(w);
    loop.runOnce();
    expect(seen.values).toEqual([READABLE | HANGUP]);
    expect(seen.completed).toBe(false);
    subscription.unsubscribe();
  });

  it('with hangup: "complete", delivers the last data, removes the watch, then completes', () => {
    const { loop, removals } = countingLoop();
    const [r, w] = loop.fds.pipe();
    const seen = recorder<number>();
    let heldAtCompletion: number | undefined;
    fromHandle(r, READABLE, { loop, hangup: "complete" }).subscribe({
      ...seen,
      complete() {
        heldAtCompletion = loop.registrations().handles.length;
        seen.complete();
      },
    });
    loop.fds.write(w, "last words");
    loop.fds.close(w);
    loop.runOnce();
    expect(seen.values).toEqual([READABLE | HANGUP]);
    expect(seen.completed).toBe(true);
    expect(heldAtCompletion).toBe(0);
    expect(removals).toHaveLength(1);
  });

  it('with hangup: "error", fails with HandleEventError after removing the watch, once', () => {
    const { loop, removals } = countingLoop();
    const [a, b] = loop.fds.socketpair();
    const seen = recorder<number>();
    // Only WRITABLE wanted: the HANGUP alone carries no wanted bit, so no value comes before the error.
    fromHandle(a, WRITABLE, { loop, hangup: "error" }).subscribe(seen);
    loop.runOnce();
    expect(seen.values).toEqual([WRITABLE]);
    loop.fds.close(b);
    loop.runOnce();
    expect(seen.values).toHaveLength(1);
    expect(seen.errors).toEqual([expect.any(HandleEventError)]);
    expect(seen.errors[0]).toMatchObject({ code: "ERR_EVLOOP_HANDLE_EVENT", fd: a, events: HANGUP });
    expect(removals).toHaveLength(1);
    expect(loop.registrations().handles).toEqual([]);
  });

  it('with error: "error", fails on a descriptor that is not open', () => {
    const loop = createVirtualLoop();
    const seen = recorder<number>();
    fromHandle(4_000_000, READABLE, { loop, error: "error" }).subscribe(seen);
    loop.runOnce();
    expect(seen.errors).toEqual([expect.objectContaining({ name: "HandleEventError", events: ERROR })]);
    expect(loop.registrations().handles).toEqual([]);
  });

  it("shares one watch between subscribers with share(), and holds none once they all left", () => {
    const { loop, removals } = countingLoop();
    const [r, w] = loop.fds.pipe();
    const shared = fromHandle(r, READABLE, { loop }).pipe(share());
    const first = recorder<number>();
    const second = recorder<number>();
    const s1 = shared.subscribe(first);
    const s2 = shared.subscribe(second);
    expect(loop.registrations().handles).toHaveLength(1);
    loop.fds.write(w, "x");
    loop.runOnce();
    expect([first.values, second.values]).toEqual([[READABLE], [READABLE]]);
    s1.unsubscribe();
    expect(loop.registrations().handles).toHaveLength(1);
    s2.unsubscribe();
    expect(loop.registrations()).toEqual({ handles: [], timers: [] });
    expect(removals).toHaveLength(1);
  });

  it("keeps serving the loop and the other subscribers when one subscriber throws", () => {
    const loop = createVirtualLoop();
    const [r, w] = loop.fds.pipe();
    const unhandled: unknown[] = [];
    config.onUnhandledError = (error) => void unhandled.push(error);
    const shared = fromHandle(r, READABLE, { loop }).pipe(share());
    const boom = new Error("subscriber bug");
    shared.subscribe(() => {
      throw boom;
    });
    const other = recorder<number>();
    shared.subscribe(other);
    const timerFires: number[] = [];
    loop.addTimeout(1, () => void timerFires.push(loop.now()));
    loop.fds.write(w, "x");
    loop.advance(3);
    expect(other.values.length).toBeGreaterThanOrEqual(2);
    expect(timerFires).toEqual([1, 2, 3]);
    return new Promise<void>((resolve) => setTimeout(resolve, 5)).then(() => {
      // RxJS reports what a subscriber threw asynchronously, once per throw.
      expect(unhandled.length).toBe(other.values.length);
      expect(unhandled.every((e) => e === boom)).toBe(true);
    });
  });

  it("uses the registered loop, looked up at each subscription", () => {
    const events = fromHandle(5, READABLE);
    const none = recorder<number>();
    events.subscribe(none);
    expect(none.errors).toEqual([expect.objectContaining({ code: "ERR_EVLOOP_NO_LOOP" })]);
    const loop = createVirtualLoop();
    const [r, w] = loop.fds.pipe();
    expect(r).toBe(3);
    registerEventImpl(loop);
    const seen = recorder<number>();
    fromHandle(r, READABLE).pipe(take(1)).subscribe(seen);
    loop.fds.write(w, "x");
    loop.runOnce();
    expect(seen).toMatchObject({ values: [READABLE], completed: true });
    expect(loop.registrations().handles).toEqual([]);
  });

  it("errors with the loop's refusal when the descriptor cannot be watched, and holds nothing", () => {
    const loop = createVirtualLoop();
    const seen = recorder<number>();
    fromHandle(loop.fds.file(), READABLE, { loop }).subscribe(seen);
    expect(seen.errors).toEqual([expect.objectContaining({ code: "ERR_EVLOOP_UNPOLLABLE" })]);
    expect(loop.registrations().handles).toEqual([]);
  });

  it("refuses bad arguments at once", () => {
    expect(() => fromHandle(-1, READABLE)).toThrow(expect.objectContaining({ code: "ERR_EVLOOP_OUT_OF_RANGE", argument: "fd" }));
    expect(() => fromHandle(3, 16)).toThrow(expect.objectContaining({ code: "ERR_EVLOOP_OUT_OF_RANGE", argument: "events" }));
    expect(() => fromHandle(3, READABLE, { hangup: "explode" as "error" })).toThrow(expect.objectContaining({ code: "ERR_EVLOOP_INVALID_ARG", argument: "options.hangup" }));
    expect(() => fromHandle(3, READABLE, { error: "close" as "error" })).toThrow(expect.objectContaining({ argument: "options.error" }));
  });

  it("works on any loop: real descriptors on @evloop/libuv", async () => {
    const loop: EventLoopImpl & { close(): void; registrations(): { handles: readonly unknown[] } } = createLibuvLoop();
    const [r, w] = pipe();
    try {
      const got = firstValueFrom(fromHandle(r, READABLE, { loop }));
      writeSync(w, "x");
      expect(await got).toBe(READABLE);
      expect(readSync(r, Buffer.alloc(1))).toBe(1);
      expect(loop.registrations().handles).toEqual([]);
    } finally {
      loop.close();
      closeSync(r);
      closeSync(w);
    }
  });
});
