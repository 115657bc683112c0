import { registerEventImpl, unregisterEventImpl } from "@evloop/core";
import { VirtualFds, createVirtualLoop } from "@evloop/poll";
import { take } from "rxjs";
import { TestScheduler } from "rxjs/testing";
import { afterEach, describe, expect, it } from "vitest";
import { fromTimeout } from "./from-timeout.ts";
import { createRxjsLoop } from "./rxjs-loop.ts";
import { virtualReadiness } from "./virtual-readiness.ts";

afterEach(() => void unregisterEventImpl());

describe("fromTimeout", () => {
  it("ticks 0, 1, 2, … every interval of the loop's time, as marbles on TestScheduler", () => {
    const testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    const loop = createRxjsLoop({ scheduler: testScheduler, readiness: virtualReadiness(new VirtualFds()) });
    testScheduler.run(({ expectObservable }) => {
      expectObservable(fromTimeout(250, { loop }), "^ 800ms !").toBe("250ms a 249ms b 249ms c", { a: 0, b: 1, c: 2 });
      // 0 ticks on every iteration: one virtual time unit.
      expectObservable(fromTimeout(0, { loop }).pipe(take(3))).toBe("-ab(c|)", { a: 0, b: 1, c: 2 });
    });
    expect(loop.registrations()).toEqual({ handles: [], timers: [] });
    loop.close();
  });

  it("adds a timer per subscription and removes it exactly once on unsubscription", () => {
    const inner = createVirtualLoop();
    const removed: number[] = [];
    const loop = { ...inner, removeTimeout: (timer: number) => (removed.push(timer), inner.removeTimeout(timer)) };
    const ticks: number[] = [];
    const subscription = fromTimeout(10, { loop }).subscribe((n) => ticks.push(n));
    inner.advance(35);
    subscription.unsubscribe();
    subscription.unsubscribe();
    inner.advance(35);
    expect(ticks).toEqual([0, 1, 2]);
    expect(removed).toHaveLength(1);
    expect(inner.registrations().timers).toEqual([]);
  });

  it("uses the registered loop by default", () => {
    const loop = createVirtualLoop();
    registerEventImpl(loop);
    const ticks: number[] = [];
    fromTimeout(5).pipe(take(2)).subscribe((n) => ticks.push(n));
    loop.advance(20);
    expect(ticks).toEqual([0, 1]);
    expect(loop.registrations().timers).toEqual([]);
  });

  it("refuses an interval that is not an integer >= 0 at once", () => {
    expect(() => fromTimeout(-1)).toThrow(expect.objectContaining({ code: "ERR_EVLOOP_OUT_OF_RANGE", argument: "intervalMs" }));
    expect(() => fromTimeout(1.5)).toThrow(expect.objectContaining({ code: "ERR_EVLOOP_INVALID_ARG", argument: "intervalMs" }));
  });
});
