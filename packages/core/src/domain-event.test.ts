import { describe, it, expect, vi } from "vitest";
import { InvalidArgumentError } from "./errors.ts";
import {
  DomainEventDetail,
  DomainEventType,
  describeDomainEvent,
  domainLifecycleEvent,
  formatUuid,
  parseUuid,
  virConnectNotify,
  type DomainLifecycleEvent,
  type NotifyingConnection,
} from "./domain-event.ts";
import { createNotifier } from "./notifier.ts";

const UUID = "4dea22b3-1d52-d8f3-2516-782e98ab3fa0";
const BYTES = Uint8Array.from([0x4d, 0xea, 0x22, 0xb3, 0x1d, 0x52, 0xd8, 0xf3, 0x25, 0x16, 0x78, 0x2e, 0x98, 0xab, 0x3f, 0xa0]);

describe("DomainEventType", () => {
  it("has libvirt's virDomainEventType values, DEFINED=0 to CRASHED=8", () => {
    expect(DomainEventType).toEqual({
      DEFINED: 0,
      UNDEFINED: 1,
      STARTED: 2,
      SUSPENDED: 3,
      RESUMED: 4,
      STOPPED: 5,
      SHUTDOWN: 6,
      PMSUSPENDED: 7,
      CRASHED: 8,
    });
  });
});

describe("DomainEventDetail", () => {
  it("has a detail enum for every event type", () => {
    expect(Object.keys(DomainEventDetail)).toEqual(Object.keys(DomainEventType));
  });

  it.each([
    ["DEFINED", "ADDED", 0],
    ["DEFINED", "RENAMED", 2],
    ["UNDEFINED", "REMOVED", 0],
    ["STARTED", "BOOTED", 0],
    ["STARTED", "WAKEUP", 4],
    ["SUSPENDED", "PAUSED", 0],
    ["SUSPENDED", "API_ERROR", 6],
    ["SUSPENDED", "POSTCOPY_FAILED", 8],
    ["RESUMED", "UNPAUSED", 0],
    ["RESUMED", "POSTCOPY", 3],
    ["STOPPED", "SHUTDOWN", 0],
    ["STOPPED", "DESTROYED", 1],
    ["STOPPED", "CRASHED", 2],
    ["STOPPED", "FAILED", 5],
    ["STOPPED", "FROM_SNAPSHOT", 6],
    ["SHUTDOWN", "FINISHED", 0],
    ["SHUTDOWN", "HOST", 2],
    ["PMSUSPENDED", "DISK", 1],
    ["CRASHED", "PANICKED", 0],
    ["CRASHED", "CRASHLOADED", 1],
  ] as const)("%s.%s is libvirt's %d", (type, detail, value) => {
    expect((DomainEventDetail[type] as Record<string, number>)[detail]).toBe(value);
  });

  it("each type's detail codes run 0, 1, 2, … without gaps", () => {
    for (const details of Object.values(DomainEventDetail)) {
      const values = Object.values(details as Record<string, number>);
      expect(values).toEqual(values.map((_, i) => i));
    }
  });
});

describe("describeDomainEvent", () => {
  it("names a type and its detail", () => {
    expect(describeDomainEvent(DomainEventType.STOPPED, DomainEventDetail.STOPPED.DESTROYED)).toEqual(["STOPPED", "DESTROYED"]);
    expect(describeDomainEvent(DomainEventType.STARTED, DomainEventDetail.STARTED.BOOTED)).toEqual(["STARTED", "BOOTED"]);
    expect(describeDomainEvent(DomainEventType.DEFINED, 0)).toEqual(["DEFINED", "ADDED"]);
  });

  it("looks the detail up in the type's own enum (the same code means different things)", () => {
    expect(describeDomainEvent(DomainEventType.SUSPENDED, 1)).toEqual(["SUSPENDED", "MIGRATED"]);
    expect(describeDomainEvent(DomainEventType.CRASHED, 1)).toEqual(["CRASHED", "CRASHLOADED"]);
  });

  it("spells an unknown detail as its number", () => {
    expect(describeDomainEvent(DomainEventType.SHUTDOWN, 42)).toEqual(["SHUTDOWN", "42"]);
  });

  it("spells an unknown type and its detail as numbers (newer libvirt may send more)", () => {
    expect(describeDomainEvent(9 as never, 0)).toEqual(["9", "0"]);
  });
});

describe("uuids", () => {
  it("formatUuid spells 16 bytes in the canonical lower-case 8-4-4-4-12 form", () => {
    expect(formatUuid(BYTES)).toBe(UUID);
    expect(formatUuid(new Uint8Array(16))).toBe("00000000-0000-0000-0000-000000000000");
    expect(formatUuid(new Uint8Array(16).fill(255))).toBe("ffffffff-ffff-ffff-ffff-ffffffffffff");
  });

  it("parseUuid reads the canonical form", () => {
    expect(parseUuid(UUID)).toEqual(BYTES);
  });

  it("parseUuid accepts upper case and the form without dashes", () => {
    expect(parseUuid(UUID.toUpperCase())).toEqual(BYTES);
    expect(parseUuid(UUID.replaceAll("-", ""))).toEqual(BYTES);
  });

  it("format and parse round-trip", () => {
    const bytes = Uint8Array.from({ length: 16 }, (_, i) => (i * 37 + 11) & 255);
    expect(parseUuid(formatUuid(bytes))).toEqual(bytes);
    expect(formatUuid(parseUuid(UUID))).toBe(UUID);
    expect(formatUuid(parseUuid(UUID.toUpperCase()))).toBe(UUID);
  });

  it.each([
    ["an empty string", ""],
    ["one digit too few", UUID.slice(0, -1)],
    ["one digit too many", `${UUID}0`],
    ["a non-hex digit", UUID.replace("4", "g")],
    ["dashes in the wrong places", "4dea22b31-d52-d8f3-2516-782e98ab3fa0"],
    ["braces", `{${UUID}}`],
    ["surrounding spaces", ` ${UUID} `],
    ["a number", 42],
    ["undefined", undefined],
  ])("parseUuid refuses %s with InvalidArgumentError naming uuid", (_what, text) => {
    expect(() => parseUuid(text as never)).toThrow(InvalidArgumentError);
    expect(() => parseUuid(text as never)).toThrow(/"uuid"/);
  });

  it.each([
    ["15 bytes", new Uint8Array(15)],
    ["17 bytes", new Uint8Array(17)],
    ["a plain array", Array.from(BYTES)],
    ["a string", UUID],
  ])("formatUuid refuses %s with InvalidArgumentError naming uuid", (_what, value) => {
    expect(() => formatUuid(value as never)).toThrow(InvalidArgumentError);
    expect(() => formatUuid(value as never)).toThrow(/"uuid"/);
  });
});

describe("domainLifecycleEvent", () => {
  it("fills both forms of the uuid from the string form", () => {
    const event = domainLifecycleEvent({ type: DomainEventType.STARTED, detail: 0, name: "vm1", uuid: UUID.toUpperCase() });
    expect(event).toEqual({ type: 2, detail: 0, name: "vm1", uuid: BYTES, uuidString: UUID });
  });

  it("fills both forms of the uuid from the bytes, copying them", () => {
    const bytes = Uint8Array.from(BYTES);
    const event = domainLifecycleEvent({ type: DomainEventType.STOPPED, detail: 1, name: "vm1", uuid: bytes });
    expect(event.uuidString).toBe(UUID);
    bytes[0] = 0;
    expect(event.uuid[0]).toBe(0x4d);
  });

  it("is frozen", () => {
    const event = domainLifecycleEvent({ type: DomainEventType.STARTED, detail: 0, name: "vm1", uuid: UUID });
    expect(Object.isFrozen(event)).toBe(true);
  });

  it("refuses a bad uuid", () => {
    expect(() => domainLifecycleEvent({ type: 0, detail: 0, name: "vm1", uuid: "nope" })).toThrow(InvalidArgumentError);
    expect(() => domainLifecycleEvent({ type: 0, detail: 0, name: "vm1", uuid: new Uint8Array(3) })).toThrow(InvalidArgumentError);
  });
});

describe("virConnectNotify(conn, cb)", () => {
  function connection() {
    const notifications = createNotifier<DomainLifecycleEvent>();
    const conn: NotifyingConnection = { notifications };
    return { conn, notifications };
  }
  const started = domainLifecycleEvent({ type: DomainEventType.STARTED, detail: 0, name: "vm1", uuid: UUID });
  const stopped = domainLifecycleEvent({ type: DomainEventType.STOPPED, detail: 1, name: "vm1", uuid: UUID });

  it("calls cb with each notification the connection delivers", () => {
    const { conn, notifications } = connection();
    const cb = vi.fn();
    virConnectNotify(conn, cb);
    notifications.emit(started);
    notifications.emit(stopped);
    expect(cb.mock.calls).toEqual([[started], [stopped]]);
  });

  it("stops once the returned subscription is unsubscribed", () => {
    const { conn, notifications } = connection();
    const cb = vi.fn();
    const sub = virConnectNotify(conn, cb);
    expect(notifications.observers).toBe(1);
    sub.unsubscribe();
    expect(sub.closed).toBe(true);
    expect(notifications.observers).toBe(0);
    notifications.emit(started);
    expect(cb).not.toHaveBeenCalled();
  });

  it("refuses a cb that is not a function, without subscribing", () => {
    const { conn, notifications } = connection();
    expect(() => virConnectNotify(conn, "cb" as never)).toThrow(InvalidArgumentError);
    expect(() => virConnectNotify(conn, "cb" as never)).toThrow(/"cb"/);
    expect(notifications.observers).toBe(0);
  });

  it("works with any Subscribable, not only core's notifier", () => {
    const unsubscribe = vi.fn();
    const subscribe = vi.fn(() => ({ unsubscribe, closed: false }));
    const conn: NotifyingConnection<string> = { notifications: { subscribe, "@@observable": () => conn.notifications } };
    const cb = (_: string) => {};
    virConnectNotify(conn, cb).unsubscribe();
    expect(subscribe).toHaveBeenCalledWith(cb);
    expect(unsubscribe).toHaveBeenCalledTimes(1);
  });
});
