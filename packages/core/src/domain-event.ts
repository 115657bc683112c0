import { InvalidArgumentError } from "./errors.ts";
import type { Subscribable, Subscription } from "./notifier.ts";

/** libvirt's `virDomainEventType`: what happened to a domain. */
export const DomainEventType = {
  DEFINED: 0,
  UNDEFINED: 1,
  STARTED: 2,
  SUSPENDED: 3,
  RESUMED: 4,
  STOPPED: 5,
  SHUTDOWN: 6,
  PMSUSPENDED: 7,
  CRASHED: 8,
} as const;

/** One of the {@link DomainEventType} values. */
export type DomainEventType = (typeof DomainEventType)[keyof typeof DomainEventType];

/** libvirt's detail codes for each {@link DomainEventType} (`virDomainEvent*DetailType`). */
export const DomainEventDetail = {
  DEFINED: { ADDED: 0, UPDATED: 1, RENAMED: 2, FROM_SNAPSHOT: 3 },
  UNDEFINED: { REMOVED: 0, RENAMED: 1 },
  STARTED: { BOOTED: 0, MIGRATED: 1, RESTORED: 2, FROM_SNAPSHOT: 3, WAKEUP: 4 },
  SUSPENDED: { PAUSED: 0, MIGRATED: 1, IOERROR: 2, WATCHDOG: 3, RESTORED: 4, FROM_SNAPSHOT: 5, API_ERROR: 6, POSTCOPY: 7, POSTCOPY_FAILED: 8 },
  RESUMED: { UNPAUSED: 0, MIGRATED: 1, FROM_SNAPSHOT: 2, POSTCOPY: 3, POSTCOPY_FAILED: 4 },
  STOPPED: { SHUTDOWN: 0, DESTROYED: 1, CRASHED: 2, MIGRATED: 3, SAVED: 4, FAILED: 5, FROM_SNAPSHOT: 6 },
  SHUTDOWN: { FINISHED: 0, GUEST: 1, HOST: 2 },
  PMSUSPENDED: { MEMORY: 0, DISK: 1 },
  CRASHED: { PANICKED: 0, CRASHLOADED: 1 },
} as const;

/** A domain lifecycle notification, as libvirt's `virConnectDomainEventCallback` reports it. */
export interface DomainLifecycleEvent {
  /** What happened. */
  readonly type: DomainEventType;
  /** Why, as one of {@link DomainEventDetail}'s codes for `type`. */
  readonly detail: number;
  /** The domain's name. */
  readonly name: string;
  /** The domain's uuid, 16 bytes. */
  readonly uuid: Uint8Array;
  /** The same uuid in its canonical form, `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`. */
  readonly uuidString: string;
}

/** Names a lifecycle type and detail, for example `["STOPPED", "DESTROYED"]`. */
export function describeDomainEvent(type: DomainEventType, detail: number): [string, string] {
  const typeName = (Object.keys(DomainEventType) as (keyof typeof DomainEventType)[]).find((k) => DomainEventType[k] === type);
  if (typeName === undefined) return [String(type), String(detail)];
  const details = DomainEventDetail[typeName] as Record<string, number>;
  return [typeName, Object.keys(details).find((k) => details[k] === detail) ?? String(detail)];
}

const UUID = /^([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})$/i;

/** The canonical string of a 16-byte uuid. */
export function formatUuid(uuid: Uint8Array): string {
  if (!(uuid instanceof Uint8Array) || uuid.length !== 16) throw new InvalidArgumentError("uuid", uuid, "a Uint8Array of 16 bytes");
  const hex = Array.from(uuid, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The 16 bytes of a uuid string (with or without dashes, any case). */
export function parseUuid(text: string): Uint8Array {
  const m = typeof text === "string" ? UUID.exec(text) : null;
  if (m === null) throw new InvalidArgumentError("uuid", text, "a uuid string such as 4dea22b3-1d52-d8f3-2516-782e98ab3fa0");
  const hex = m.slice(1).join("");
  return Uint8Array.from({ length: 16 }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));
}

/** Builds a lifecycle event, filling the uuid's both forms from either one. */
export function domainLifecycleEvent(init: { type: DomainEventType; detail: number; name: string; uuid: Uint8Array | string }): DomainLifecycleEvent {
  const uuid = typeof init.uuid === "string" ? parseUuid(init.uuid) : Uint8Array.from(init.uuid);
  return Object.freeze({ type: init.type, detail: init.detail, name: init.name, uuid, uuidString: formatUuid(uuid) });
}

/** Anything that delivers state-change notifications, such as a driver's connection. */
export interface NotifyingConnection<E = DomainLifecycleEvent> {
  readonly notifications: Subscribable<E>;
}

/**
 * The seed's `virConnectNotify(conn, cb)`: `cb` is called with each notification `conn` delivers
 * until the returned subscription is unsubscribed. State changes arrive as they happen, with no
 * polling.
 */
export function virConnectNotify<E>(conn: NotifyingConnection<E>, cb: (event: E) => void): Subscription {
  if (typeof cb !== "function") throw new InvalidArgumentError("cb", cb, "a function");
  return conn.notifications.subscribe(cb);
}
