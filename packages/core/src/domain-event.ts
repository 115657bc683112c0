import { InvalidArgumentError } from "./errors.ts";
import type { Subscribable, Subscription } from "./notifier.ts";

/** libvirt's `virDomainEventType`: what happened to a domain. */
export const DomainEventType = {
  /** The domain's persistent configuration was created or changed. */
  DEFINED: 0,
  /** The domain's persistent configuration was removed. */
  UNDEFINED: 1,
  /** The domain began running. */
  STARTED: 2,
  /** The domain was paused: it still exists but its CPUs do not run. */
  SUSPENDED: 3,
  /** A paused domain runs again. */
  RESUMED: 4,
  /** The domain is no longer running. */
  STOPPED: 5,
  /** The guest went through a shutdown sequence; usually followed by `STOPPED` once it is down. */
  SHUTDOWN: 6,
  /** The guest entered a power-management sleep state (suspend to memory or disk). */
  PMSUSPENDED: 7,
  /** The guest reported a crash; whether the domain then stops depends on its crash policy. */
  CRASHED: 8,
} as const;

/** One of the {@link DomainEventType} values. */
export type DomainEventType = (typeof DomainEventType)[keyof typeof DomainEventType];

/** libvirt's detail codes for each {@link DomainEventType} (`virDomainEvent*DetailType`). */
export const DomainEventDetail = {
  /** Details of `DEFINED`. */
  DEFINED: {
    /** A new configuration was created. */
    ADDED: 0,
    /** An existing configuration was changed. */
    UPDATED: 1,
    /** The configuration now carries the domain's new name. */
    RENAMED: 2,
    /** The configuration was restored from a snapshot. */
    FROM_SNAPSHOT: 3,
  },
  /** Details of `UNDEFINED`. */
  UNDEFINED: {
    /** The configuration was deleted. */
    REMOVED: 0,
    /** The configuration under the domain's old name went away in a rename. */
    RENAMED: 1,
  },
  /** Details of `STARTED`. */
  STARTED: {
    /** A normal boot. */
    BOOTED: 0,
    /** The domain arrived by migration from another host. */
    MIGRATED: 1,
    /** The domain was restored from a saved state file. */
    RESTORED: 2,
    /** The domain was restored from a snapshot. */
    FROM_SNAPSHOT: 3,
    /** The domain was started by a wakeup event. */
    WAKEUP: 4,
  },
  /** Details of `SUSPENDED`. */
  SUSPENDED: {
    /** Paused on an administrator's request. */
    PAUSED: 0,
    /** Paused for an offline migration. */
    MIGRATED: 1,
    /** Paused because of a disk I/O error. */
    IOERROR: 2,
    /** Paused because the guest's watchdog fired. */
    WATCHDOG: 3,
    /** Restored from a state file saved while paused. */
    RESTORED: 4,
    /** Restored from a snapshot taken while paused. */
    FROM_SNAPSHOT: 5,
    /** Paused after a libvirt API call failed. */
    API_ERROR: 6,
    /** Paused for a post-copy migration. */
    POSTCOPY: 7,
    /** Paused because a post-copy migration failed. */
    POSTCOPY_FAILED: 8,
  },
  /** Details of `RESUMED`. */
  RESUMED: {
    /** Unpaused on an administrator's request. */
    UNPAUSED: 0,
    /** Resumed at the end of a migration. */
    MIGRATED: 1,
    /** Resumed from a snapshot. */
    FROM_SNAPSHOT: 2,
    /** Running, while a migration still copies memory in post-copy mode. */
    POSTCOPY: 3,
    /** Running, after a post-copy migration failed. */
    POSTCOPY_FAILED: 4,
  },
  /** Details of `STOPPED`. */
  STOPPED: {
    /** A normal shutdown. */
    SHUTDOWN: 0,
    /** Forcibly powered off from the host. */
    DESTROYED: 1,
    /** The guest crashed. */
    CRASHED: 2,
    /** The domain migrated away to another host. */
    MIGRATED: 3,
    /** The domain's state was saved to a file. */
    SAVED: 4,
    /** The host-side emulator or its management failed. */
    FAILED: 5,
    /** Stopped by loading an offline snapshot. */
    FROM_SNAPSHOT: 6,
  },
  /** Details of `SHUTDOWN`. */
  SHUTDOWN: {
    /** The guest finished its shutdown sequence. */
    FINISHED: 0,
    /** The shutdown was requested from inside the guest. */
    GUEST: 1,
    /** The shutdown was requested from the host (for example a signal to the emulator). */
    HOST: 2,
  },
  /** Details of `PMSUSPENDED`. */
  PMSUSPENDED: {
    /** Suspended to memory (S3). */
    MEMORY: 0,
    /** Suspended to disk (S4). */
    DISK: 1,
  },
  /** Details of `CRASHED`. */
  CRASHED: {
    /** The guest kernel panicked. */
    PANICKED: 0,
    /** The guest loaded a crash kernel to dump itself. */
    CRASHLOADED: 1,
  },
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
  /** Delivers each notification to every current subscriber as it happens; completes when the connection closes. */
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
