import {
  InvalidArgumentError,
  NoEventLoopError,
  createNotifier,
  domainLifecycleEvent,
  formatUuid,
  parseUuid,
  type DomainEventType,
  type DomainLifecycleEvent,
  type ErrorHandler,
  type NotifyingConnection,
  type Observer,
  type Subscribable,
  type Subscription,
} from "@evloop/core";
import { DomainAction, native, type ConnHandle, type NativeDomain, type NativeLibvirt } from "./binding.ts";
import { callLibvirt, getLibvirtEventImpl } from "./event-impl.ts";

/** libvirt's `virDomainState`: what a domain is doing now. */
export const DomainState = {
  /** No state reported. */
  NOSTATE: 0,
  /** Running. */
  RUNNING: 1,
  /** Blocked on a resource. */
  BLOCKED: 2,
  /** Paused (suspended by the host). */
  PAUSED: 3,
  /** Shutting down. */
  SHUTDOWN: 4,
  /** Shut off: defined but not running. */
  SHUTOFF: 5,
  /** Crashed. */
  CRASHED: 6,
  /** Suspended by the guest's power management. */
  PMSUSPENDED: 7,
} as const;

/** One of the {@link DomainState} values. */
export type DomainState = (typeof DomainState)[keyof typeof DomainState];

/** A domain's state, from `virDomainGetState`, `virDomainIsActive` and `virDomainGetID`. */
export interface DomainInfo {
  /** The hypervisor's id while the domain runs, `-1` while it is inactive. */
  readonly id: number;
  /** What the domain is doing. */
  readonly state: DomainState;
  /** Why, as libvirt's reason code for `state` (`virDomainRunningReason`, …). */
  readonly reason: number;
  /** Whether the domain is running (or paused): `virDomainIsActive`. */
  readonly active: boolean;
}

/**
 * A domain of a {@link LibvirtConnection}. Every method calls libvirt synchronously on the calling
 * thread and throws a `LibvirtError` when libvirt fails; after the connection is closed they throw
 * one with code `INVALID_DOMAIN`.
 */
export interface LibvirtDomain {
  /** The domain's name, as it was when this object was made. */
  readonly name: string;
  /** The domain's uuid, 16 bytes. */
  readonly uuid: Uint8Array;
  /** The same uuid in its canonical form. */
  readonly uuidString: string;
  /** Its state now. */
  info(): DomainInfo;
  /** Its XML description (`virDomainGetXMLDesc`). */
  xmlDesc(): string;
  /** Starts a defined domain (`virDomainCreate`): STARTED/BOOTED. */
  create(): void;
  /** Stops it at once (`virDomainDestroy`): STOPPED/DESTROYED. A transient domain is gone afterwards. */
  destroy(): void;
  /** Pauses it (`virDomainSuspend`): SUSPENDED/PAUSED. */
  suspend(): void;
  /** Unpauses it (`virDomainResume`): RESUMED/UNPAUSED. */
  resume(): void;
  /** Removes its persistent definition (`virDomainUndefine`): UNDEFINED/REMOVED. */
  undefine(): void;
}

/** Options of {@link openConnection}. */
export interface OpenConnectionOptions {
  /** Open read-only (`virConnectOpenReadOnly`): queries and events, no changes. */
  readonly readOnly?: boolean;
  /**
   * Receives what a `notifications` subscriber threw; the other subscribers still get the event.
   * Without it the error is raised as an uncaught exception, from a microtask (core's
   * `createNotifier` rule). What this handler itself throws is raised the same way, from a
   * microtask: it never reaches libvirt's dispatch or the loop's `onError`.
   */
  readonly onError?: ErrorHandler;
}

/** Options of {@link LibvirtConnection.listDomains}. */
export interface ListDomainsOptions {
  /** `true`: only running (or paused) domains; `false`: only inactive ones; absent: all. */
  readonly active?: boolean;
}

/**
 * A libvirt connection (`virConnectPtr`). Calls are synchronous on the calling thread, as in
 * libvirt's C API: `test:///default` answers in microseconds, in process; a remote URI blocks the
 * thread for a round trip per call.
 *
 * `notifications` delivers every domain's lifecycle events (`VIR_DOMAIN_EVENT_ID_LIFECYCLE`) as
 * core `DomainLifecycleEvent`s, with libvirt's type and detail codes, through the loop given to
 * `registerLibvirtEventImpl`. The libvirt callback is registered while there are subscribers and
 * deregistered when the last one leaves, so that libvirt's event timer goes away with them.
 */
export interface LibvirtConnection extends NotifyingConnection<DomainLifecycleEvent> {
  /** The URI it was opened with. */
  readonly uri: string;
  /** Whether {@link LibvirtConnection.close} was called. */
  readonly closed: boolean;
  /**
   * Lifecycle events of every domain of the connection. Subscribing needs a loop registered with
   * `registerLibvirtEventImpl` on this thread (else it throws core's `NoEventLoopError`); it
   * completes when the connection closes.
   */
  readonly notifications: Subscribable<DomainLifecycleEvent>;
  /** The domains (`virConnectListAllDomains`). */
  listDomains(options?: ListDomainsOptions): LibvirtDomain[];
  /** The domain with this name; a `LibvirtError` with code `NO_DOMAIN` when there is none. */
  lookupDomain(name: string): LibvirtDomain;
  /** The domain with this uuid (a string with or without dashes, or 16 bytes). */
  lookupDomainByUuid(uuid: string | Uint8Array): LibvirtDomain;
  /** Creates and starts a transient domain from its XML (`virDomainCreateXML`): STARTED/BOOTED. */
  createDomain(xml: string): LibvirtDomain;
  /** Defines a persistent domain from its XML without starting it (`virDomainDefineXML`): DEFINED/ADDED. */
  defineDomain(xml: string): LibvirtDomain;
  /**
   * Deregisters the events, releases every domain object and closes the connection
   * (`virConnectClose`); `notifications` completes. Idempotent. libvirt's watches and timers for
   * the connection are removed by now; their free callbacks run when the loop next turns.
   */
  close(): void;
}

/** The key under which Observable libraries look for the interop accessor. */
const interop: symbol | "@@observable" =
  (typeof Symbol === "function" && (Symbol as unknown as { observable?: symbol }).observable) || "@@observable";

class Domain implements LibvirtDomain {
  readonly name: string;
  readonly uuid: Uint8Array;
  readonly uuidString: string;
  readonly #n: NativeLibvirt;
  readonly #init: NativeDomain;
  constructor(n: NativeLibvirt, init: NativeDomain) {
    this.#n = n;
    this.#init = init;
    this.name = init.name;
    this.uuid = init.uuid;
    this.uuidString = formatUuid(init.uuid);
  }
  info(): DomainInfo {
    return callLibvirt(() => this.#n.domainInfo(this.#init.handle)) as DomainInfo;
  }
  xmlDesc(): string {
    return callLibvirt(() => this.#n.domainXml(this.#init.handle));
  }
  #act(action: number): void {
    callLibvirt(() => this.#n.domainAction(this.#init.handle, action));
  }
  create(): void {
    this.#act(DomainAction.CREATE);
  }
  destroy(): void {
    this.#act(DomainAction.DESTROY);
  }
  suspend(): void {
    this.#act(DomainAction.SUSPEND);
  }
  resume(): void {
    this.#act(DomainAction.RESUME);
  }
  undefine(): void {
    this.#act(DomainAction.UNDEFINE);
  }
}

function assertString(value: unknown, name: string): asserts value is string {
  if (typeof value !== "string") throw new InvalidArgumentError(name, value, "a string");
}

/**
 * Opens a libvirt connection (`virConnectOpen`), for example `test:///default`: libvirt's test
 * driver, entirely in process, with one running domain named `test`. Throws a `LibvirtError` when
 * libvirt cannot open it, and `LibvirtUnavailableError` when the addon is not built.
 */
export function openConnection(uri: string, options: OpenConnectionOptions = {}): LibvirtConnection {
  assertString(uri, "uri");
  const notifier = createNotifier<DomainLifecycleEvent>(options.onError !== undefined ? { onError: options.onError } : {});
  const n = native();
  const handle: ConnHandle = callLibvirt(() => n.open(uri, options.readOnly === true));
  let closed = false;

  const emit = (type: number, detail: number, name: string, uuid: Uint8Array): void =>
    notifier.emit(domainLifecycleEvent({ type: type as DomainEventType, detail, name, uuid }));

  const notifications: Subscribable<DomainLifecycleEvent> & Record<symbol, unknown> = {
    subscribe(observer?: Partial<Observer<DomainLifecycleEvent>> | ((value: DomainLifecycleEvent) => void)): Subscription {
      if (closed || notifier.observers > 0) return watch(notifier.subscribe(observer));
      if (getLibvirtEventImpl() === undefined) {
        const error = new NoEventLoopError("libvirt domain events");
        error.message = "libvirt domain events: no loop serves libvirt on this thread. Call registerLibvirtEventImpl(loop) first.";
        throw error;
      }
      callLibvirt(() => n.subscribe(handle, emit));
      return watch(notifier.subscribe(observer));
    },
    "@@observable"() {
      return notifications;
    },
  };
  if (typeof interop === "symbol") notifications[interop] = () => notifications;

  /** The subscription, whose unsubscribe deregisters libvirt's callback after the last subscriber. */
  function watch(inner: Subscription): Subscription {
    return {
      unsubscribe() {
        if (inner.closed) return;
        inner.unsubscribe();
        if (notifier.observers === 0 && !closed) callLibvirt(() => n.unsubscribe(handle));
      },
      get closed() {
        return inner.closed;
      },
    };
  }

  const domain = (init: NativeDomain) => new Domain(n, init);
  return {
    uri,
    get closed() {
      return closed;
    },
    notifications,
    listDomains(opts: ListDomainsOptions = {}) {
      const flags = opts.active === undefined ? 0 : opts.active ? 1 : 2; // VIR_CONNECT_LIST_DOMAINS_(IN)ACTIVE
      return callLibvirt(() => n.listDomains(handle, flags)).map(domain);
    },
    lookupDomain(name: string) {
      assertString(name, "name");
      return domain(callLibvirt(() => n.lookupByName(handle, name)));
    },
    lookupDomainByUuid(uuid: string | Uint8Array) {
      const bytes = typeof uuid === "string" ? parseUuid(uuid) : uuid;
      if (!(bytes instanceof Uint8Array) || bytes.length !== 16) throw new InvalidArgumentError("uuid", uuid, "a uuid string or 16 bytes");
      return domain(callLibvirt(() => n.lookupByUuid(handle, bytes)));
    },
    createDomain(xml: string) {
      assertString(xml, "xml");
      return domain(callLibvirt(() => n.createXML(handle, xml)));
    },
    defineDomain(xml: string) {
      assertString(xml, "xml");
      return domain(callLibvirt(() => n.defineXML(handle, xml)));
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        callLibvirt(() => n.close(handle));
      } finally {
        notifier.complete();
      }
    },
  };
}

/** The version of the libvirt library in use, for example `"9.0.0"`. */
export function libvirtVersion(): string {
  const v = native().version();
  return `${Math.floor(v / 1_000_000)}.${Math.floor(v / 1000) % 1000}.${v % 1000}`;
}
