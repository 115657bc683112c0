// The "what must hold", on the real libvirt's test:///default, for each loop in turn, in
// one process: libvirt's implementation is registered once and the loop behind it is swapped
// between tests, which is allowed only because each test leaves libvirt holding nothing.
import { DomainEventDetail, DomainEventType, type DomainLifecycleEvent } from "@evloop/core";
import { fromNotifications, ofDomain, ofType } from "@evloop/rxjs";
import { firstValueFrom, take, toArray } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import { libvirtEventImplStats, openConnection, registerLibvirtEventImpl, unregisterLibvirtEventImpl, type LibvirtConnection } from "./index.ts";
import { LOOPS, LOOP_NAMES, SKIP_LINE, delta, idle, libvirtInstalled, until, type TestLoop } from "./test/helpers.ts";

const { STOPPED, STARTED } = DomainEventType;
const { DESTROYED } = DomainEventDetail.STOPPED;
const { BOOTED } = DomainEventDetail.STARTED;

if (!libvirtInstalled) console.log(SKIP_LINE);

/** The events of `cycles` destroy/start cycles of one domain. */
const cyclesOf = (cycles: number, uuid: string) =>
  Array.from({ length: cycles }, () => [
    ["test", uuid, STOPPED, DESTROYED],
    ["test", uuid, STARTED, BOOTED],
  ]).flat();
const summary = (events: DomainLifecycleEvent[]) => events.map((e) => [e.name, e.uuidString, e.type, e.detail]);

describe.skipIf(!libvirtInstalled)("libvirt's test:///default driven by each evloop loop", () => {
  let t: TestLoop | undefined;
  let conn: LibvirtConnection | undefined;

  /** Registers a fresh loop of this kind and opens test:///default. */
  function setUp(name: keyof typeof LOOPS) {
    t = LOOPS[name]();
    registerLibvirtEventImpl(t.loop);
    const before = libvirtEventImplStats();
    conn = openConnection("test:///default");
    return { t, conn, before, dom: conn.lookupDomain("test") };
  }

  afterEach(async () => {
    conn?.close();
    conn = undefined;
    if (t !== undefined) {
      const turn = t.turn;
      await until(() => idle(), turn);
      expect(unregisterLibvirtEventImpl()).toBe(t.loop);
      t.loop.close();
      t = undefined;
    }
  });

  it.each(LOOP_NAMES)(
    "%s: destroy then start gives STOPPED/DESTROYED then STARTED/BOOTED; after unsubscribe and close the loop holds nothing and every free callback ran once",
    async (name) => {
      const { t, conn, before, dom } = setUp(name);
      const events: DomainLifecycleEvent[] = [];
      const subscription = conn.notifications.subscribe((e) => events.push(e));

      // libvirt's domain event timer is on the loop, disabled, under an id of libvirt's own.
      const held = libvirtEventImplStats();
      expect(held.handles).toEqual([]);
      expect(held.timers).toEqual([{ timer: expect.any(Number), loopId: expect.any(Number), intervalMs: -1 }]);
      expect(t.loop.registrations()).toEqual({ handles: [], timers: [{ timer: held.timers[0]?.loopId, intervalMs: -1 }] });

      dom.destroy();
      await until(() => events.length >= 1, t.turn);
      dom.create();
      await until(() => events.length >= 2, t.turn);
      for (let i = 0; i < 5; i++) await t.turn();
      expect(summary(events)).toEqual(cyclesOf(1, dom.uuidString));

      subscription.unsubscribe();
      conn.close();
      // The timer is removed by now; its free callback waits for the loop to turn.
      expect(t.loop.registrations()).toEqual({ handles: [], timers: [] });
      await until(() => idle(), t.turn);
      expect(t.loop.registrations()).toEqual({ handles: [], timers: [] });
      expect(delta(before)).toEqual({ added: 1, freed: 1, freeCallbacksRun: 1, droppedDispatches: 0, unexpectedFrees: 0 });
    },
  );

  it.each(LOOP_NAMES)("%s: as an RxJS observable, take(2) unsubscribing from inside libvirt's dispatch", async (name) => {
    const { t, conn, before, dom } = setUp(name);
    const received = firstValueFrom(
      fromNotifications(conn).pipe(ofDomain("test"), ofType(DomainEventType.STOPPED, DomainEventType.STARTED), take(2), toArray()),
    );
    let events: DomainLifecycleEvent[] | undefined;
    void received.then((e) => (events = e));
    dom.destroy();
    dom.create();
    await until(() => events !== undefined, t.turn);
    expect(summary(events ?? [])).toEqual(cyclesOf(1, dom.uuidString));
    // take(2) unsubscribed inside the event callback, so libvirt's timer was removed from there.
    expect(libvirtEventImplStats().timers).toEqual([]);
    conn.close();
    await until(() => idle(), t.turn);
    expect(t.loop.registrations()).toEqual({ handles: [], timers: [] });
    expect(delta(before)).toEqual({ added: 1, freed: 1, freeCallbacksRun: 1, droppedDispatches: 0, unexpectedFrees: 0 });
  });

  it.each(LOOP_NAMES)("%s: 1,000 destroy/start cycles, each event awaited: none lost, none duplicated, in order", async (name) => {
    const { t, conn, before, dom } = setUp(name);
    const events: DomainLifecycleEvent[] = [];
    const subscription = conn.notifications.subscribe((e) => events.push(e));
    const started = performance.now();
    for (let i = 0; i < 1000; i++) {
      dom.destroy();
      await until(() => events.length === 2 * i + 1, t.turn);
      dom.create();
      await until(() => events.length === 2 * i + 2, t.turn);
    }
    const ms = performance.now() - started;
    for (let i = 0; i < 5; i++) await t.turn();
    console.log(`${name}: 1,000 destroy/start cycles, each event awaited, in ${ms.toFixed(0)} ms`);
    expect(summary(events)).toEqual(cyclesOf(1000, dom.uuidString));
    expect(ms).toBeLessThan(20_000);
    subscription.unsubscribe();
    conn.close();
    await until(() => idle(), t.turn);
    expect(t.loop.registrations()).toEqual({ handles: [], timers: [] });
    expect(delta(before)).toEqual({ added: 1, freed: 1, freeCallbacksRun: 1, droppedDispatches: 0, unexpectedFrees: 0 });
  });

  it.each(LOOP_NAMES)("%s: 1,000 cycles in one burst: libvirt queues 2,000 events and the loop delivers each once", async (name) => {
    const { t, conn, dom } = setUp(name);
    const events: DomainLifecycleEvent[] = [];
    const subscription = conn.notifications.subscribe((e) => events.push(e));
    for (let i = 0; i < 1000; i++) {
      dom.destroy();
      dom.create();
    }
    await until(() => events.length >= 2000, t.turn);
    for (let i = 0; i < 5; i++) await t.turn();
    expect(summary(events)).toEqual(cyclesOf(1000, dom.uuidString));
    subscription.unsubscribe();
  });

  it("libvirt's ids stay small C ints while the loop's own ids outgrow them", async () => {
    const { t, conn, before, dom } = setUp("libuv");
    const seen: number[] = [];
    let loopId = 0;
    for (let i = 0; i < 130; i++) {
      const subscription = conn.notifications.subscribe(() => {});
      const [timer] = libvirtEventImplStats().timers;
      seen.push(timer?.timer ?? 0);
      loopId = timer?.loopId ?? 0;
      subscription.unsubscribe();
      await t.turn();
    }
    // The kernel reuses the slot with a new generation: past 2^31 - 1 after 128 reuses.
    expect(loopId).toBeGreaterThan(2 ** 31 - 1);
    expect(Math.max(...seen)).toBeLessThan(2 ** 31);
    expect(new Set(seen).size).toBe(130);
    expect(seen.every((id, i) => i === 0 || id > (seen[i - 1] as number))).toBe(true);
    // And events still flow on the last of them.
    const events: DomainLifecycleEvent[] = [];
    const subscription = conn.notifications.subscribe((e) => events.push(e));
    dom.destroy();
    await until(() => events.length === 1, t.turn);
    subscription.unsubscribe();
    conn.close();
    await until(() => idle(), t.turn);
    expect(delta(before)).toMatchObject({ added: 131, freed: 131, freeCallbacksRun: 131, unexpectedFrees: 0 });
  });
});
