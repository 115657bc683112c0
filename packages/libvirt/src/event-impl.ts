import { InvalidArgumentError, assertOptionalCallback, type ErrorHandler, type EventLoopImpl } from "@evloop/core";
import { BridgeOp, RecordKind, native, onLoad, type NativeLibvirt } from "./binding.ts";
import { LibvirtError, LibvirtEventImplBusyError } from "./errors.ts";

/** Options of {@link registerLibvirtEventImpl}. */
export interface LibvirtEventImplOptions {
  /**
   * Receives what the loop threw while serving libvirt (a loop that refuses a watch or a timer, or
   * is closed under libvirt), when no libvirt call on the stack can carry it as its error's
   * `cause`. Without it the error is raised as an uncaught exception, from a microtask.
   */
  readonly onError?: ErrorHandler;
}

/** A watch libvirt holds: the id libvirt was given, the loop's own id, and what it watches. */
export interface LibvirtWatch {
  /** The id libvirt was given (a positive C `int`, never reused). */
  readonly watch: number;
  /** The id the loop returned for it. */
  readonly loopId: number;
  /** The watched descriptor, as libvirt passed it. */
  readonly fd: number;
  /** The events libvirt asked for last, as it passed them. */
  readonly events: number;
}

/** A timer libvirt holds. */
export interface LibvirtTimer {
  /** The id libvirt was given (a positive C `int`, never reused). */
  readonly timer: number;
  /** The id the loop returned for it. */
  readonly loopId: number;
  /** The interval libvirt asked for last: `-1` disabled, `0` every iteration, else milliseconds. */
  readonly intervalMs: number;
}

/**
 * What libvirt holds through the event implementation, and what it did, since the process
 * started (all loops together). When libvirt holds nothing and every free callback ran,
 * `handlesAdded + timersAdded === freed` and `handles`, `timers` and `pendingFrees` are empty.
 */
export interface LibvirtEventImplStats {
  /** Watches libvirt added. */
  readonly handlesAdded: number;
  /** Timers libvirt added. */
  readonly timersAdded: number;
  /** Watches and timers retired after libvirt removed them: each exactly once. */
  readonly freed: number;
  /** libvirt free callbacks run (a watch or timer added without one retires without one). */
  readonly freeCallbacksRun: number;
  /** Watches and timers libvirt removed whose free callbacks have not run yet. */
  readonly pendingFrees: number;
  /** Calls made by libvirt on other threads, not yet applied to the loop. */
  readonly queuedCalls: number;
  /** Loop dispatches dropped because libvirt had removed the watch or timer: `0` with a correct loop used from one thread. */
  readonly droppedDispatches: number;
  /** Free callbacks from the loop for watches or timers that were not removed, or twice: `0` with a correct loop that was not closed under libvirt. */
  readonly unexpectedFrees: number;
  /** The watches libvirt holds now. */
  readonly handles: readonly LibvirtWatch[];
  /** The timers libvirt holds now. */
  readonly timers: readonly LibvirtTimer[];
}

/** The loop serving libvirt in this thread, or `undefined`. */
let target: EventLoopImpl | undefined;
let onError: ErrorHandler | undefined;
/** What the loop threw during the libvirt call on the stack, for its error's `cause`. */
let failures: unknown[] | undefined;

function raise(error: unknown): void {
  if (onError !== undefined) {
    try {
      onError(error);
      return;
    } catch (failure) {
      error = failure;
    }
  }
  queueMicrotask(() => {
    throw error;
  });
}

const report = (error: unknown): void => void (failures !== undefined ? failures.push(error) : raise(error));

onLoad((n: NativeLibvirt) => {
  const makeError = (code: number, domain: number, message: string, level: number): Error =>
    new LibvirtError({ code, domain, message, level }, failures !== undefined && failures.length > 0 ? { cause: failures.shift() } : undefined);

  // Called by the C shims on this thread with the id libvirt was given (`id`) and, for updates and
  // removals, the loop's id for it. Returns the loop's new id, removeX's result, or -1; never throws.
  const bridge = (op: number, kind: number, id: number, loopId: number, a: number, b: number): number => {
    const loop = target;
    if (loop === undefined) return -1;
    try {
      switch (op) {
        case BridgeOp.ADD:
          return kind === RecordKind.HANDLE
            ? loop.addHandle(a, b, (_watch, fd, events) => void n.dispatchHandle(id, fd, events), () => n.free(id))
            : loop.addTimeout(a, () => n.dispatchTimeout(id), () => n.free(id));
        case BridgeOp.UPDATE:
          if (kind === RecordKind.HANDLE) loop.updateHandle(loopId, a);
          else loop.updateTimeout(loopId, a);
          return 0;
        case BridgeOp.REMOVE:
          return kind === RecordKind.HANDLE ? loop.removeHandle(loopId) : loop.removeTimeout(loopId);
        case BridgeOp.DEFER_FREE:
          // The loop does not hold it (it refused it, or was closed under libvirt): free it from a
          // clean stack ourselves.
          setImmediate(() => n.free(id));
          return 0;
      }
    } catch (error) {
      report(error);
    }
    return -1;
  };
  n.setup(makeError, bridge);
});

/**
 * Runs a native call that may reach libvirt. When the loop refuses one of libvirt's watches or
 * timers during it, libvirt's own error (thrown as a {@link LibvirtError}) gets what the loop
 * threw as its `cause`; what no error carried is reported after the call (`onError`, else
 * uncaught). For the package's modules.
 */
export function callLibvirt<T>(run: () => T): T {
  const outer = failures;
  const mine: unknown[] = [];
  failures = mine;
  try {
    return run();
  } finally {
    failures = outer;
    for (const error of mine) report(error);
  }
}

const METHODS = ["addHandle", "updateHandle", "removeHandle", "addTimeout", "updateTimeout", "removeTimeout"] as const;

function held(n: NativeLibvirt): { handles: number; timers: number; pendingFrees: number } {
  const s = n.stats();
  return { handles: s.handles.length, timers: s.timers.length, pendingFrees: s.pendingFrees };
}

/**
 * Makes `loop` serve libvirt's event implementation (`virEventRegisterImpl`) in this process:
 * every watch and timer libvirt asks for, from any connection, is added to `loop`, and libvirt's
 * callbacks run when the loop dispatches them. Call it before opening connections whose events
 * you want (libvirt needs the loop for domain events and keepalive).
 *
 * - libvirt takes one implementation per process and ignores later registrations, so the first
 *   call registers six C functions once, and they forward to the loop registered now. Another
 *   loop may replace it only while libvirt holds nothing on it (every connection closed and
 *   every free callback run); otherwise this throws {@link LibvirtEventImplBusyError}.
 *   Registering the same loop again only replaces the options.
 * - Events, intervals and fds pass to the loop unchanged. libvirt gets ids of its own (positive
 *   C ints, never reused) that map to the loop's ids: an evloop loop's ids are JavaScript numbers
 *   that outgrow a C int.
 * - libvirt's free callbacks run exactly once, from the loop's free callbacks: after removal, from
 *   a clean stack.
 * - Only one thread (the main thread or a worker) serves libvirt at a time; registering in
 *   another one while a loop is registered here throws (code `ERR_EVLOOP_LIBVIRT_OWNED`). libvirt
 *   used from other threads is served too: its calls are queued and applied on this thread, in
 *   order, when this thread's Node event loop next turns.
 *
 * Throws `LibvirtUnavailableError` when the addon is not built (no libvirt-dev).
 */
export function registerLibvirtEventImpl(loop: EventLoopImpl, options: LibvirtEventImplOptions = {}): void {
  if (typeof loop !== "object" || loop === null) throw new InvalidArgumentError("loop", loop, "an object implementing EventLoopImpl");
  for (const method of METHODS) {
    if (typeof loop[method] !== "function") throw new InvalidArgumentError("loop", loop, `an EventLoopImpl with a ${method}() method`);
  }
  assertOptionalCallback(options.onError, "options.onError");
  const n = native();
  if (loop !== target && !n.claim()) throw new LibvirtEventImplBusyError("registerLibvirtEventImpl", held(n));
  target = loop;
  onError = options.onError;
}

/**
 * Stops serving libvirt and returns the loop that served it (`undefined` when none did). From
 * then on libvirt's requests for watches and timers fail, as with no implementation registered.
 * Throws {@link LibvirtEventImplBusyError} while libvirt holds anything on the loop.
 */
export function unregisterLibvirtEventImpl(): EventLoopImpl | undefined {
  const previous = target;
  if (previous === undefined) return undefined;
  const n = native();
  if (!n.release()) throw new LibvirtEventImplBusyError("unregisterLibvirtEventImpl", held(n));
  target = undefined;
  onError = undefined;
  return previous;
}

/** The loop serving libvirt from this thread, or `undefined`. */
export function getLibvirtEventImpl(): EventLoopImpl | undefined {
  return target;
}

/**
 * What libvirt holds through the event implementation and the counts of what it did: for tests
 * (libvirt left nothing behind and every free callback ran once) and dashboards.
 */
export function libvirtEventImplStats(): LibvirtEventImplStats {
  return native().stats();
}
