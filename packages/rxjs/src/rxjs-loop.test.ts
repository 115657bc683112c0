import { HandleEvent } from "@evloop/core";
import type { Registrations } from "@evloop/core/kernel";
import { VirtualFds } from "@evloop/poll";
import { VirtualTimeScheduler, asyncScheduler, config, share, take, type SchedulerAction, type SchedulerLike, type Subscription } from "rxjs";
import { TestScheduler } from "rxjs/testing";
import { afterEach, describe, expect, it } from "vitest";
import { fromHandle } from "./from-handle.ts";
import { fromTimeout } from "./from-timeout.ts";
import { createRxjsLoop, type RxjsLoop } from "./rxjs-loop.ts";
import { virtualReadiness } from "./virtual-readiness.ts";

const { READABLE, WRITABLE } = HandleEvent;

/** A VirtualTimeScheduler that keeps every action it was asked for. */
class RecordingScheduler extends VirtualTimeScheduler {
  readonly scheduled: Subscription[] = [];
  override schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay?: number, state?: T): Subscription {
    const subscription = super.schedule(work, delay, state);
    this.scheduled.push(subscription);
    return subscription;
  }
}

/** A loop on a recording VirtualTimeScheduler and virtual descriptors. */
function virtualRig(): { loop: RxjsLoop; fds: VirtualFds; scheduled: Subscription[]; runTo(frame: number): void } {
  const scheduler = new RecordingScheduler();
  const fds = new VirtualFds();
  const loop = createRxjsLoop({ scheduler, readiness: virtualReadiness(fds) });
  const runTo = (frame: number) => {
    scheduler.schedule(() => {}, frame - scheduler.now());
    scheduler.maxFrames = frame;
    scheduler.flush();
  };
  return { loop, fds, scheduled: scheduler.scheduled, runTo };
}

afterEach(() => {
  config.onUnhandledError = null;
});

describe("createRxjsLoop: timers on an RxJS scheduler", () => {
  it("defaults to asyncScheduler", () => {
    const loop = createRxjsLoop();
    expect(loop.scheduler).toBe(asyncScheduler);
    loop.close();
  });

  it("fires timers at exact virtual instants on a VirtualTimeScheduler, its now() being the loop's clock", () => {
    const { loop, runTo } = virtualRig();
    const fires: [string, number][] = [];
    loop.addTimeout(30, () => void fires.push(["30", loop.scheduler.now()]));
    const fast = loop.addTimeout(10, () => void fires.push(["10", loop.scheduler.now()]));
    runTo(35);
    expect(fires).toEqual([["10", 10], ["10", 20], ["30", 30], ["10", 30]]);
    // updateTimeout restarts the countdown from now.
    loop.updateTimeout(fast, 50);
    runTo(84);
    expect(fires.filter(([name, at]) => name === "10" && at > 30)).toEqual([]);
    runTo(85);
    expect(fires.at(-1)).toEqual(["10", 85]);
    loop.close();
  });

  it("keeps one scheduler action armed, for the earliest deadline, however many timers there are", () => {
    const { loop, scheduled } = virtualRig();
    const open = () => scheduled.filter((s) => !s.closed).length;
    const ids = [];
    // Each new timer is earlier than the last: every add re-arms, and cancels the action before.
    for (let i = 100; i > 0; i--) ids.push(loop.addTimeout(i * 10, () => {}));
    expect(open()).toBe(1);
    // Later timers change nothing.
    const before = scheduled.length;
    for (let i = 0; i < 100; i++) loop.addTimeout(5000 + i, () => {});
    expect(scheduled.length).toBe(before);
    for (const id of ids) loop.removeTimeout(id);
    expect(open()).toBe(1);
    loop.close();
    expect(open()).toBe(0);
  });

  it("fires a 0 ms timer once per iteration (one virtual time unit) while a ready descriptor fires as often", () => {
    const { loop, fds, runTo } = virtualRig();
    let zero = 0;
    let writable = 0;
    loop.addTimeout(0, () => void zero++);
    const [, w] = fds.pipe();
    loop.addHandle(w, WRITABLE, () => void writable++);
    runTo(100);
    expect(zero).toBe(100);
    expect(writable).toBe(101);
    loop.close();
  });

  it("runs on virtual time inside TestScheduler.run even on asyncScheduler, as run() swaps its providers", () => {
    const testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    testScheduler.run(({ expectObservable }) => {
      const loop = createRxjsLoop({ readiness: virtualReadiness(new VirtualFds()) });
      expectObservable(fromTimeout(1000, { loop }).pipe(take(3))).toBe("1s a 999ms b 999ms (c|)", { a: 0, b: 1, c: 2 });
    });
  });
});

describe("createRxjsLoop: registrations$", () => {
  it("replays what the loop holds, then a snapshot after each change, and completes when the loop closes", () => {
    const { loop, fds } = virtualRig();
    const [r] = fds.pipe();
    const timer = loop.addTimeout(10, () => {});
    const seen: Registrations[] = [];
    let completed = false;
    loop.registrations$.subscribe({ next: (value) => void seen.push(value), complete: () => void (completed = true) });
    const watch = loop.addHandle(r, READABLE, () => {});
    loop.updateHandle(watch, 0);
    loop.removeHandle(watch);
    expect(loop.removeHandle(watch)).toBe(-1);
    loop.close();
    expect(seen).toEqual([
      { handles: [], timers: [{ timer, intervalMs: 10 }] },
      { handles: [{ watch, fd: r, events: READABLE }], timers: [{ timer, intervalMs: 10 }] },
      { handles: [{ watch, fd: r, events: 0 }], timers: [{ timer, intervalMs: 10 }] },
      { handles: [], timers: [{ timer, intervalMs: 10 }] },
      { handles: [], timers: [] },
    ]);
    expect(completed).toBe(true);
  });

  it("reports a watch removed by its callback returning -1", () => {
    const { loop, fds, runTo } = virtualRig();
    const [, w] = fds.pipe();
    loop.addHandle(w, WRITABLE, () => -1);
    const counts: number[] = [];
    loop.registrations$.subscribe((value) => counts.push(value.handles.length));
    runTo(1);
    expect(counts).toEqual([1, 0]);
    loop.close();
  });

  it("gives every subscriber the snapshots in order when one changes the loop from its handler, and survives one that throws", async () => {
    const { loop } = virtualRig();
    const unhandled: unknown[] = [];
    config.onUnhandledError = (error) => void unhandled.push(error);
    const first: number[] = [];
    const second: number[] = [];
    loop.registrations$.subscribe((value) => {
      first.push(value.timers.length);
      // The first timer makes this subscriber add a second one.
      if (value.timers.length === 1) loop.addTimeout(-1, () => {});
    });
    loop.registrations$.subscribe(() => {
      throw new Error("dashboard bug");
    });
    loop.registrations$.subscribe((value) => void second.push(value.timers.length));
    loop.addTimeout(-1, () => {});
    expect(first).toEqual([0, 1, 2]);
    expect(second).toEqual([0, 1, 2]);
    loop.close();
    // RxJS reports what the subscriber threw later, once per snapshot it got.
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(unhandled).toHaveLength(4);
  });

  it("after every subscriber leaves, the loop holds no watch and no timer", () => {
    const { loop, fds, runTo } = virtualRig();
    const [r, w] = fds.pipe();
    const events = fromHandle(r, READABLE, { loop }).pipe(share());
    const ticks = fromTimeout(5, { loop }).pipe(share());
    const subscriptions = [events.subscribe(), events.subscribe(), ticks.subscribe(), ticks.subscribe(), fromTimeout(0, { loop }).subscribe()];
    expect(loop.registrations().handles).toHaveLength(1);
    expect(loop.registrations().timers).toHaveLength(2);
    fds.write(w, "x");
    runTo(20);
    for (const s of subscriptions) s.unsubscribe();
    expect(loop.registrations()).toEqual({ handles: [], timers: [] });
    loop.close();
  });
});

describe("createRxjsLoop: errors and options", () => {
  it("without onError, gives what a pass threw to RxJS's config.onUnhandledError, together as one AggregateError", () => {
    const { loop, fds, runTo } = virtualRig();
    const unhandled: unknown[] = [];
    config.onUnhandledError = (error) => void unhandled.push(error);
    const [, w] = fds.pipe();
    const a = new Error("a");
    const b = new Error("b");
    loop.addHandle(w, WRITABLE, () => {
      throw a;
    });
    loop.addHandle(w, WRITABLE, () => {
      throw b;
    });
    const ticks: number[] = [];
    loop.addTimeout(1, () => void ticks.push(loop.scheduler.now()));
    runTo(2);
    expect(unhandled).toHaveLength(3);
    expect(unhandled[0]).toBeInstanceOf(AggregateError);
    expect((unhandled[0] as AggregateError).errors).toEqual([a, b]);
    // The scheduler kept every action: timers still fire.
    expect(ticks).toEqual([1, 2]);
    loop.close();
  });

  it("with onError, gives it each error and nothing to RxJS", () => {
    const unhandled: unknown[] = [];
    config.onUnhandledError = (error) => void unhandled.push(error);
    const scheduler = new VirtualTimeScheduler();
    const received: unknown[] = [];
    const loop = createRxjsLoop({ scheduler, readiness: virtualReadiness(new VirtualFds()), onError: (error) => void received.push(error) });
    const boom = new Error("timer");
    loop.addTimeout(5, () => {
      throw boom;
    });
    scheduler.maxFrames = 12;
    scheduler.flush();
    expect(received).toEqual([boom, boom]);
    expect(unhandled).toEqual([]);
    loop.close();
  });

  it("refuses a bad scheduler, readiness source or onError, and a source another loop uses", () => {
    expect(() => createRxjsLoop({ scheduler: {} as SchedulerLike })).toThrow(expect.objectContaining({ code: "ERR_EVLOOP_INVALID_ARG", argument: "options.scheduler" }));
    const readiness = virtualReadiness(new VirtualFds());
    expect(() => createRxjsLoop({ readiness: { ...readiness, requestIteration: undefined } as unknown as typeof readiness })).toThrow(
      expect.objectContaining({ argument: "options.readiness" }),
    );
    expect(() => createRxjsLoop({ readiness, onError: "log" as unknown as () => void })).toThrow(expect.objectContaining({ argument: "options.onError" }));
    const loop = createRxjsLoop({ scheduler: new VirtualTimeScheduler(), readiness });
    expect(() => createRxjsLoop({ scheduler: new VirtualTimeScheduler(), readiness })).toThrow(expect.objectContaining({ argument: "options.readiness" }));
    loop.close();
  });

  it("refuses new registrations once closed, and runs nothing it had scheduled", () => {
    const { loop, fds, runTo } = virtualRig();
    let fires = 0;
    loop.addTimeout(10, () => void fires++);
    loop.addHandle(fds.pipe()[1], WRITABLE, () => void fires++);
    runTo(15);
    // The writable end fired at frames 0 to 15, the timer at 10.
    expect(fires).toBe(17);
    loop.close();
    loop.close();
    runTo(100);
    expect(fires).toBe(17);
    expect(() => loop.addTimeout(10, () => {})).toThrow(expect.objectContaining({ code: "ERR_EVLOOP_CLOSED" }));
  });
});
