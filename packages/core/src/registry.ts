import { InvalidArgumentError, LoopAlreadyRegisteredError, NoEventLoopError } from "./errors.ts";
import type { EventLoopImpl, FreeCallback, HandleCallback, TimeoutCallback, TimerId, WatchId } from "./event-loop.ts";
import type { HandleEvents } from "./handle-event.ts";

/**
 * The application registers its loop once (libvirt's `virEventRegisterImpl`); drivers call the
 * module-level functions below, which forward to it. Each of them also takes an explicit loop as
 * its last argument, so a test can run a driver on a loop of its own without touching the
 * registered one.
 */

let registered: EventLoopImpl | undefined;

const METHODS = ["addHandle", "updateHandle", "removeHandle", "addTimeout", "updateTimeout", "removeTimeout"] as const;

/**
 * Registers the application's loop. Register it before opening anything that watches
 * descriptors. Registering the same loop again is a no-op; registering a different one while one
 * is registered throws {@link LoopAlreadyRegisteredError} (unregister first).
 */
export function registerEventImpl(impl: EventLoopImpl): void {
  if (typeof impl !== "object" || impl === null) throw new InvalidArgumentError("impl", impl, "an object implementing EventLoopImpl");
  for (const method of METHODS) {
    if (typeof impl[method] !== "function") throw new InvalidArgumentError("impl", impl, `an EventLoopImpl with a ${method}() method`);
  }
  if (registered === impl) return;
  if (registered !== undefined) throw new LoopAlreadyRegisteredError();
  registered = impl;
}

/** Unregisters the loop and returns it (or `undefined` when none was registered). */
export function unregisterEventImpl(): EventLoopImpl | undefined {
  const previous = registered;
  registered = undefined;
  return previous;
}

/** The registered loop, or `undefined`. */
export function getEventImpl(): EventLoopImpl | undefined {
  return registered;
}

/** The loop to use: the explicit one, else the registered one, else a {@link NoEventLoopError}. */
export function resolveEventImpl(operation: string, loop?: EventLoopImpl): EventLoopImpl {
  const impl = loop ?? registered;
  if (impl === undefined) throw new NoEventLoopError(operation);
  return impl;
}

/** {@link EventLoopImpl.addHandle} on `loop`, or on the registered loop. */
export function addHandle(fd: number, events: HandleEvents, cb: HandleCallback, free?: FreeCallback, loop?: EventLoopImpl): WatchId {
  return resolveEventImpl("addHandle", loop).addHandle(fd, events, cb, free);
}

/** {@link EventLoopImpl.updateHandle} on `loop`, or on the registered loop. */
export function updateHandle(watch: WatchId, events: HandleEvents, loop?: EventLoopImpl): void {
  resolveEventImpl("updateHandle", loop).updateHandle(watch, events);
}

/** {@link EventLoopImpl.removeHandle} on `loop`, or on the registered loop. */
export function removeHandle(watch: WatchId, loop?: EventLoopImpl): 0 | -1 {
  return resolveEventImpl("removeHandle", loop).removeHandle(watch);
}

/** {@link EventLoopImpl.addTimeout} on `loop`, or on the registered loop. */
export function addTimeout(intervalMs: number, cb: TimeoutCallback, free?: FreeCallback, loop?: EventLoopImpl): TimerId {
  return resolveEventImpl("addTimeout", loop).addTimeout(intervalMs, cb, free);
}

/** {@link EventLoopImpl.updateTimeout} on `loop`, or on the registered loop. */
export function updateTimeout(timer: TimerId, intervalMs: number, loop?: EventLoopImpl): void {
  resolveEventImpl("updateTimeout", loop).updateTimeout(timer, intervalMs);
}

/** {@link EventLoopImpl.removeTimeout} on `loop`, or on the registered loop. */
export function removeTimeout(timer: TimerId, loop?: EventLoopImpl): 0 | -1 {
  return resolveEventImpl("removeTimeout", loop).removeTimeout(timer);
}
