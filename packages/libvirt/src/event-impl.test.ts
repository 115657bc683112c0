// The event implementation itself, through libvirt's public virEvent* wrappers (the addon's test
// probe calls virEventAddTimeout & co. with C callbacks that count), on the JavaScript thread and
// from another thread; then the registration rules and where errors go: the loop's, a
// subscriber's, and JavaScript's under libvirt's dispatch.
import { closeSync, readSync, writeSync } from "node:fs";
import { DomainEventType, HandleEvent, InvalidArgumentError, LoopClosedError, NoEventLoopError, type EventLoopImpl } from "@evloop/core";
import { createLibuvLoop } from "@evloop/libuv";
import { pipe } from "@evloop/native";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DomainAction, native } from "./binding.ts";
import {
  DomainState,
  LibvirtError,
  LibvirtEventImplBusyError,
  getLibvirtEventImpl,
  libvirtEventImplStats,
  openConnection,
  registerLibvirtEventImpl,
  unregisterLibvirtEventImpl,
} from "./index.ts";
import { LOOPS, LOOP_NAMES, delta, idle, libvirtInstalled, until, type TestLoop } from "./test/helpers.ts";

const { READABLE } = HandleEvent;
const ADD_TIMEOUT = 1, UPDATE_TIMEOUT = 2, REMOVE_TIMEOUT = 3, ADD_HANDLE = 4, UPDATE_HANDLE = 5, REMOVE_HANDLE = 6;
const HERE = 0, OTHER_THREAD = 1;

/** libvirt's virEvent* wrapper `op`, called on this thread or on another one. */
const probe = (op: number, a: number, b = 0, where = HERE) => native().probe(op, a, b, where);
const counts = () => native().probeCounts();

describe.skipIf(!libvirtInstalled)("the event implementation, through libvirt's virEvent* calls", () => {
  let t: TestLoop;
  const open: number[] = [];
  beforeEach(() => {
    t = LOOPS.libuv();
    registerLibvirtEventImpl(t.loop);
  });
  afterEach(async () => {
    await until(() => idle(), t.turn);
    unregisterLibvirtEventImpl();
    t.loop.close();
    for (const fd of open.splice(0)) closeSync(fd);
  });

  it.each(LOOP_NAMES)("%s: a timer from the JavaScript thread: interval unchanged, periodic, disabled, every iteration, removed; its free callback once, never inside remove", async (name) => {
    unregisterLibvirtEventImpl();
    t.loop.close();
    t = LOOPS[name]();
    registerLibvirtEventImpl(t.loop);
    const before = libvirtEventImplStats();
    const c0 = counts();
    const id = probe(ADD_TIMEOUT, 5);
    expect(id).toBeGreaterThan(0);
    const [held] = libvirtEventImplStats().timers;
    expect(held).toEqual({ timer: id, loopId: expect.any(Number), intervalMs: 5 });
    expect(t.loop.registrations().timers).toEqual([{ timer: held?.loopId, intervalMs: 5 }]);
    await until(() => counts().timerFires >= c0.timerFires + 3, t.turn);

    probe(UPDATE_TIMEOUT, id, -1);
    expect(t.loop.registrations().timers).toEqual([{ timer: held?.loopId, intervalMs: -1 }]);
    const still = counts().timerFires;
    await new Promise((r) => setTimeout(r, 20));
    for (let i = 0; i < 3; i++) await t.turn();
    expect(counts().timerFires).toBe(still);

    probe(UPDATE_TIMEOUT, id, 0);
    for (let i = 0; i < 3; i++) await t.turn();
    expect(counts().timerFires).toBeGreaterThanOrEqual(still + 2);

    expect(probe(REMOVE_TIMEOUT, id)).toBe(0);
    expect(probe(REMOVE_TIMEOUT, id)).toBe(-1);
    expect(t.loop.registrations().timers).toEqual([]);
    const fired = counts().timerFires;
    await until(() => idle(), t.turn);
    for (let i = 0; i < 3; i++) await t.turn();
    expect(counts()).toMatchObject({ timerFires: fired, frees: c0.frees + 1, freesInsideRemove: 0 });
    expect(delta(before)).toEqual({ added: 1, freed: 1, freeCallbacksRun: 1, droppedDispatches: 0, unexpectedFrees: 0 });
  });

  it("a watch from the JavaScript thread: fd and events unchanged, READABLE when written, 0 stops it, removed and freed once", async () => {
    const [r, w] = pipe();
    open.push(r, w);
    const before = libvirtEventImplStats();
    const c0 = counts();
    const id = probe(ADD_HANDLE, r, READABLE);
    expect(id).toBeGreaterThan(0);
    const [held] = libvirtEventImplStats().handles;
    expect(held).toEqual({ watch: id, loopId: expect.any(Number), fd: r, events: READABLE });
    expect(t.loop.registrations().handles).toEqual([{ watch: held?.loopId, fd: r, events: READABLE }]);
    writeSync(w, "x");
    await until(() => counts().handleFires > c0.handleFires, t.turn);
    expect(counts().lastEvents).toBe(READABLE);

    probe(UPDATE_HANDLE, id, 0);
    expect(t.loop.registrations().handles).toEqual([{ watch: held?.loopId, fd: r, events: 0 }]);
    const fired = counts().handleFires;
    for (let i = 0; i < 5; i++) await t.turn();
    expect(counts().handleFires).toBe(fired);

    expect(probe(REMOVE_HANDLE, id)).toBe(0);
    expect(probe(REMOVE_HANDLE, id)).toBe(-1);
    // A timer id is not a watch id: unknown to removeHandle.
    const timer = probe(ADD_TIMEOUT, -1);
    expect(probe(REMOVE_HANDLE, timer)).toBe(-1);
    expect(probe(REMOVE_TIMEOUT, timer)).toBe(0);
    await until(() => idle(), t.turn);
    readSync(r, Buffer.alloc(8));
    expect(counts()).toMatchObject({ frees: c0.frees + 2, freesInsideRemove: 0 });
    expect(delta(before)).toEqual({ added: 2, freed: 2, freeCallbacksRun: 2, droppedDispatches: 0, unexpectedFrees: 0 });
  });

  it("from another thread: the id comes back at once, the calls reach the loop in order when it turns, and removal there stops dispatch", async () => {
    const before = libvirtEventImplStats();
    const c0 = counts();
    const id = probe(ADD_TIMEOUT, 1000, 0, OTHER_THREAD);
    expect(id).toBeGreaterThan(0);
    // Recorded at once, queued for the loop.
    expect(libvirtEventImplStats()).toMatchObject({ queuedCalls: 1, timers: [{ timer: id, loopId: 0, intervalMs: 1000 }] });
    expect(t.loop.registrations().timers).toEqual([]);
    probe(UPDATE_TIMEOUT, id, 0, OTHER_THREAD);
    await until(() => counts().timerFires >= c0.timerFires + 3, t.turn);
    const [held] = libvirtEventImplStats().timers;
    expect(t.loop.registrations().timers).toEqual([{ timer: held?.loopId, intervalMs: 0 }]);

    expect(probe(REMOVE_TIMEOUT, id, 0, OTHER_THREAD)).toBe(0);
    expect(probe(REMOVE_TIMEOUT, id, 0, OTHER_THREAD)).toBe(-1);
    // Removed for libvirt at once: the loop may still fire it before the queue is applied, and
    // that dispatch is dropped rather than reaching libvirt's callback.
    const fired = counts().timerFires;
    await until(() => idle(), t.turn);
    for (let i = 0; i < 3; i++) await t.turn();
    expect(counts()).toMatchObject({ timerFires: fired, frees: c0.frees + 1, freesInsideRemove: 0 });
    expect(t.loop.registrations()).toEqual({ handles: [], timers: [] });
    expect(delta(before)).toMatchObject({ added: 1, freed: 1, freeCallbacksRun: 1, unexpectedFrees: 0 });
  });

  it("a call on the JavaScript thread applies what other threads queued first, so the loop sees libvirt's order", async () => {
    const c0 = counts();
    const id = probe(ADD_TIMEOUT, 1000, 0, OTHER_THREAD);
    probe(UPDATE_TIMEOUT, id, 7); // here, before the queued add reached the loop
    const [held] = libvirtEventImplStats().timers;
    expect(held).toMatchObject({ timer: id, intervalMs: 7 });
    expect(held?.loopId).toBeGreaterThan(0);
    expect(t.loop.registrations().timers).toEqual([{ timer: held?.loopId, intervalMs: 7 }]);
    expect(probe(REMOVE_TIMEOUT, id)).toBe(0);
    await until(() => idle(), t.turn);
    expect(counts().frees).toBe(c0.frees + 1);
  });

  it("added and removed on another thread before the loop turned: the loop never sees it, and its free callback still runs once", async () => {
    const before = libvirtEventImplStats();
    const c0 = counts();
    const id = probe(ADD_TIMEOUT, 0, 0, OTHER_THREAD);
    expect(probe(REMOVE_TIMEOUT, id, 0, OTHER_THREAD)).toBe(0);
    await until(() => idle(), t.turn);
    expect(counts()).toMatchObject({ timerFires: c0.timerFires, frees: c0.frees + 1 });
    expect(delta(before)).toEqual({ added: 1, freed: 1, freeCallbacksRun: 1, droppedDispatches: 0, unexpectedFrees: 0 });
  });

  it("refuses to switch loops or unregister while libvirt holds something, and allows it once the free callbacks ran", async () => {
    const other = createLibuvLoop();
    try {
      const id = probe(ADD_TIMEOUT, -1);
      expect(() => registerLibvirtEventImpl(other)).toThrow(LibvirtEventImplBusyError);
      expect(() => unregisterLibvirtEventImpl()).toThrow(/libvirt still holds 0 watch\(es\) and 1 timer\(s\)/);
      expect(getLibvirtEventImpl()).toBe(t.loop);
      registerLibvirtEventImpl(t.loop); // the same loop again: fine
      probe(REMOVE_TIMEOUT, id);
      // Removed, but its free callback has not run: still busy.
      expect(() => registerLibvirtEventImpl(other)).toThrow(expect.objectContaining({ code: "ERR_EVLOOP_LIBVIRT_BUSY", pendingFrees: 1 }));
      await until(() => idle(), t.turn);
      registerLibvirtEventImpl(other);
      expect(getLibvirtEventImpl()).toBe(other);
      expect(unregisterLibvirtEventImpl()).toBe(other);
      expect(unregisterLibvirtEventImpl()).toBeUndefined();
      // With no loop, libvirt's requests fail, as with no implementation registered.
      expect(probe(ADD_TIMEOUT, 0)).toBe(-1);
    } finally {
      registerLibvirtEventImpl(t.loop);
      other.close();
    }
  });

  it("refuses what is not a loop, and a bad onError", () => {
    expect(() => registerLibvirtEventImpl(null as unknown as EventLoopImpl)).toThrow(InvalidArgumentError);
    expect(() => registerLibvirtEventImpl({ ...t.loop, removeTimeout: undefined } as unknown as EventLoopImpl)).toThrow(/removeTimeout\(\) method/);
    expect(() => registerLibvirtEventImpl(t.loop, { onError: 1 as unknown as () => void })).toThrow(InvalidArgumentError);
  });

  it("subscribing with no loop registered throws NoEventLoopError naming registerLibvirtEventImpl", () => {
    unregisterLibvirtEventImpl();
    const conn = openConnection("test:///default");
    try {
      expect(() => conn.notifications.subscribe(() => {})).toThrow(NoEventLoopError);
      expect(() => conn.notifications.subscribe(() => {})).toThrow(/registerLibvirtEventImpl\(loop\)/);
    } finally {
      conn.close();
      registerLibvirtEventImpl(t.loop);
    }
  });

  it("a loop that refuses libvirt's timer: libvirt's error says so, with the loop's error as its cause, and nothing is held", () => {
    unregisterLibvirtEventImpl();
    const closed = createLibuvLoop();
    closed.close();
    registerLibvirtEventImpl(closed);
    const conn = openConnection("test:///default");
    try {
      let thrown: unknown;
      try {
        conn.notifications.subscribe(() => {});
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(LibvirtError);
      expect(thrown).toMatchObject({ code: 1, message: expect.stringMatching(/could not initialize domain event timer/) });
      expect((thrown as Error).cause).toBeInstanceOf(LoopClosedError);
      expect(libvirtEventImplStats().timers).toEqual([]);
    } finally {
      conn.close();
      unregisterLibvirtEventImpl();
      registerLibvirtEventImpl(t.loop);
    }
  });

  it("a loop that throws while libvirt arms its timer: the error goes to onError, libvirt's call returns, and libvirt keeps working", async () => {
    const errors: unknown[] = [];
    let failNext = false;
    const inner = t.loop;
    const flaky: EventLoopImpl = {
      ...inner,
      updateTimeout(timer, interval) {
        if (failNext) {
          failNext = false;
          throw new Error("flaky loop");
        }
        inner.updateTimeout(timer, interval);
      },
    };
    unregisterLibvirtEventImpl();
    registerLibvirtEventImpl(flaky, { onError: (e) => errors.push(e) });
    try {
      const conn = openConnection("test:///default");
      const subscription = conn.notifications.subscribe(() => {});
      const dom = conn.lookupDomain("test");
      failNext = true;
      // libvirt arms its event timer for the first queued event: the loop throws, into onError,
      // never through libvirt's frames, and destroy() itself succeeds.
      dom.destroy();
      expect(errors).toEqual([new Error("flaky loop")]);
      expect(dom.info().active).toBe(false);
      subscription.unsubscribe();
      conn.close();
      await until(() => idle(), t.turn);

      // The next connection's events flow as usual.
      const again = openConnection("test:///default");
      const events: number[] = [];
      const second = again.notifications.subscribe((e) => events.push(e.type));
      again.lookupDomain("test").destroy();
      await until(() => events.length === 1, t.turn);
      second.unsubscribe();
      again.close();
      await until(() => idle(), t.turn);
      expect(errors).toHaveLength(1);
    } finally {
      unregisterLibvirtEventImpl();
      registerLibvirtEventImpl(t.loop);
    }
  });

  it("what a subscriber throws goes to the connection's onError and the others still get the event; what onError throws is raised from a microtask, never by libvirt's dispatch or the loop", async () => {
    const loopErrors: unknown[] = [];
    unregisterLibvirtEventImpl();
    t.loop.close();
    t = { ...LOOPS.libuv(), loop: createLibuvLoop({ onError: (e) => loopErrors.push(e) }) };
    registerLibvirtEventImpl(t.loop);
    // core's notifier raises what onError throws from a microtask: catch it there rather than as
    // an uncaught exception of the test process, and let every microtask run as usual.
    const raised: unknown[] = [];
    const queue = globalThis.queueMicrotask.bind(globalThis);
    const spy = vi.spyOn(globalThis, "queueMicrotask").mockImplementation((fn) =>
      queue(() => {
        try {
          fn();
        } catch (error) {
          raised.push(error);
        }
      }),
    );
    const subscriberErrors: unknown[] = [];
    const conn = openConnection("test:///default", {
      onError: (error) => {
        subscriberErrors.push(error);
        throw new Error(`onError ${subscriberErrors.length}`);
      },
    });
    try {
      const seen: number[] = [];
      const first = conn.notifications.subscribe(() => {
        throw new Error("subscriber");
      });
      const second = conn.notifications.subscribe((e) => seen.push(e.type));
      const dom = conn.lookupDomain("test");
      dom.destroy();
      dom.create();
      await until(() => seen.length === 2 && raised.length === 2, t.turn);
      expect(seen).toEqual([DomainEventType.STOPPED, DomainEventType.STARTED]);
      expect(subscriberErrors).toEqual([new Error("subscriber"), new Error("subscriber")]);
      expect(raised).toEqual([new Error("onError 1"), new Error("onError 2")]);
      expect(loopErrors).toEqual([]);
      first.unsubscribe();
      second.unsubscribe();
    } finally {
      conn.close();
      spy.mockRestore();
    }
  });

  it("a JavaScript exception under libvirt's dispatch waits until libvirt returns, then the loop raises it (several as one AggregateError)", async () => {
    const loopErrors: unknown[] = [];
    unregisterLibvirtEventImpl();
    t.loop.close();
    t = { ...LOOPS.libuv(), loop: createLibuvLoop({ onError: (e) => loopErrors.push(e) }) };
    registerLibvirtEventImpl(t.loop);
    // Nothing the package gives libvirt throws (the bridge catches what the loop throws, the
    // notifier what subscribers and onError throw), so the addon's guard under libvirt is reached
    // directly: its subscribe, given a lifecycle callback that throws, which the C callback calls
    // while libvirt dispatches its event timer.
    const n = native();
    const conn = n.open("test:///default", false);
    try {
      const seen: number[] = [];
      let throwing = true;
      n.subscribe(conn, (type) => {
        seen.push(type);
        if (throwing) throw new Error(`lifecycle ${seen.length}`);
      });
      const dom = n.lookupByName(conn, "test").handle;
      n.domainAction(dom, DomainAction.DESTROY);
      n.domainAction(dom, DomainAction.CREATE); // both events are flushed by one firing of libvirt's timer
      expect(seen).toEqual([]);
      await until(() => loopErrors.length === 1, t.turn);
      // The first exception was taken at once: libvirt went on to deliver the second event, and
      // both errors came out of the dispatch together.
      expect(seen).toEqual([DomainEventType.STOPPED, DomainEventType.STARTED]);
      expect(loopErrors[0]).toBeInstanceOf(AggregateError);
      expect(loopErrors[0]).toMatchObject({ message: "2 errors were thrown by JavaScript called from libvirt" });
      expect((loopErrors[0] as AggregateError).errors).toEqual([new Error("lifecycle 1"), new Error("lifecycle 2")]);

      n.domainAction(dom, DomainAction.SUSPEND); // one event: the error itself
      await until(() => loopErrors.length === 2, t.turn);
      expect(loopErrors[1]).toEqual(new Error("lifecycle 3"));
      // libvirt kept going: its state is sound and its next events arrive.
      expect(n.domainInfo(dom).state).toBe(DomainState.PAUSED);
      throwing = false;
      n.domainAction(dom, DomainAction.RESUME);
      await until(() => seen.length === 4, t.turn);
      expect(seen[3]).toBe(DomainEventType.RESUMED);
      expect(loopErrors).toHaveLength(2);
    } finally {
      n.close(conn); // deregisters the callback, then closes
    }
  });

  it("a loop closed under libvirt: libvirt's free callback waits for libvirt's own remove, then runs once", async () => {
    const before = libvirtEventImplStats();
    const c0 = counts();
    const id = probe(ADD_TIMEOUT, 0);
    t.loop.close(); // runs the loop's free callbacks now, for a timer libvirt still holds
    await t.turn();
    expect(counts().frees).toBe(c0.frees);
    expect(libvirtEventImplStats().timers).toEqual([{ timer: id, loopId: 0, intervalMs: 0 }]);
    expect(probe(REMOVE_TIMEOUT, id)).toBe(0);
    expect(counts().frees).toBe(c0.frees); // never inside remove
    await until(() => idle(), t.turn);
    expect(counts()).toMatchObject({ frees: c0.frees + 1, freesInsideRemove: 0 });
    expect(delta(before)).toEqual({ added: 1, freed: 1, freeCallbacksRun: 1, droppedDispatches: 0, unexpectedFrees: 0 });
    unregisterLibvirtEventImpl();
    t = LOOPS.libuv();
    registerLibvirtEventImpl(t.loop);
  });
});
