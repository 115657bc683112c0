// Loads the compiled addon on first use, once per module instance (each worker thread has its
// own). Not at import: the package's types and errors must import on a machine without libvirt,
// where the addon was never built. node-gyp-build finds the binary built from source in
// build/Release, relative to the package root, one level above both src/ and dist/.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

/** A connection handle: an external the addon gives out and takes back. */
export type ConnHandle = { readonly __brand: "libvirt connection" };
/** A domain handle. */
export type DomainHandle = { readonly __brand: "libvirt domain" };

/** What the addon gives for a domain: its handle, and its name and uuid as they were then. */
export interface NativeDomain {
  readonly handle: DomainHandle;
  readonly name: string;
  readonly uuid: Uint8Array;
}

/** A live record of the event implementation, by the id libvirt was given. */
export interface NativeHandleRecord {
  readonly watch: number;
  readonly loopId: number;
  readonly fd: number;
  readonly events: number;
}
/** A live timer record of the event implementation. */
export interface NativeTimerRecord {
  readonly timer: number;
  readonly loopId: number;
  readonly intervalMs: number;
}

/** The event implementation's counters and records. */
export interface NativeStats {
  readonly handlesAdded: number;
  readonly timersAdded: number;
  readonly freed: number;
  readonly freeCallbacksRun: number;
  readonly pendingFrees: number;
  readonly queuedCalls: number;
  readonly droppedDispatches: number;
  readonly unexpectedFrees: number;
  readonly handles: NativeHandleRecord[];
  readonly timers: NativeTimerRecord[];
}

/** The bridge's operations (event-impl.c has the same numbers). */
export const BridgeOp = { ADD: 1, UPDATE: 2, REMOVE: 3, DEFER_FREE: 4 } as const;
/** What a bridge call is about. */
export const RecordKind = { HANDLE: 0, TIMER: 1 } as const;

/** Domain actions of `domainAction`. */
export const DomainAction = { CREATE: 1, DESTROY: 2, SUSPEND: 3, RESUME: 4, UNDEFINE: 5 } as const;

/** What the addon exports. Internal: the package's public API wraps it. */
export interface NativeLibvirt {
  setup(
    makeError: (code: number, domain: number, message: string, level: number) => Error,
    bridge: (op: number, kind: number, id: number, loopId: number, a: number, b: number) => number,
  ): void;
  claim(): boolean;
  release(): boolean;
  dispatchHandle(id: number, fd: number, events: number): void;
  dispatchTimeout(id: number): void;
  free(id: number): void;
  stats(): NativeStats;
  probe(op: number, a: number, b: number, otherThread: number): number;
  probeCounts(): { timerFires: number; handleFires: number; lastEvents: number; frees: number; freesInsideRemove: number };
  open(uri: string, readOnly: boolean): ConnHandle;
  close(conn: ConnHandle): void;
  listDomains(conn: ConnHandle, flags: number): NativeDomain[];
  lookupByName(conn: ConnHandle, name: string): NativeDomain;
  lookupByUuid(conn: ConnHandle, uuid: Uint8Array): NativeDomain;
  createXML(conn: ConnHandle, xml: string): NativeDomain;
  defineXML(conn: ConnHandle, xml: string): NativeDomain;
  domainAction(domain: DomainHandle, action: number): void;
  domainInfo(domain: DomainHandle): { id: number; state: number; reason: number; active: boolean };
  domainXml(domain: DomainHandle): string;
  subscribe(conn: ConnHandle, emit: (type: number, detail: number, name: string, uuid: Uint8Array) => void): void;
  unsubscribe(conn: ConnHandle): void;
  version(): number;
}

/** The package root: where binding.gyp and build/ live. */
export const packageRoot: string = fileURLToPath(new URL("..", import.meta.url));

let binding: NativeLibvirt | undefined;
const setups: ((n: NativeLibvirt) => void)[] = [];

/**
 * Runs `setup` on the addon as soon as it is loaded (at once when it already is): the modules
 * that give the addon its JavaScript callbacks register here, so that no load order matters.
 */
export function onLoad(setup: (n: NativeLibvirt) => void): void {
  setups.push(setup);
  if (binding !== undefined) setup(binding);
}

/** The addon could not be loaded: it was not built (no libvirt-dev), or not for this Node. */
export class LibvirtUnavailableError extends Error {
  /** Always `"ERR_EVLOOP_LIBVIRT_UNAVAILABLE"`; test it rather than the class or the message. */
  readonly code = "ERR_EVLOOP_LIBVIRT_UNAVAILABLE" as const;
  constructor(cause: unknown) {
    super(
      "@evloop/libvirt's addon is not built: install libvirt's development files (Debian: apt-get install libvirt-dev), " +
        "then run `pnpm install` again or `pnpm --filter @evloop/libvirt build:native`",
      { cause },
    );
    this.name = "LibvirtUnavailableError";
  }
}

/** The addon, loaded by the first call; throws {@link LibvirtUnavailableError} when it cannot be. */
export function native(): NativeLibvirt {
  if (binding === undefined) {
    let loaded: NativeLibvirt;
    try {
      const load = createRequire(import.meta.url)("node-gyp-build") as (dir: string) => unknown;
      loaded = load(packageRoot) as NativeLibvirt;
    } catch (error) {
      throw new LibvirtUnavailableError(error);
    }
    binding = loaded;
    for (const setup of setups) setup(loaded);
  }
  return binding;
}

/** Whether the addon loads here. */
export function available(): boolean {
  try {
    native();
    return true;
  } catch {
    return false;
  }
}
