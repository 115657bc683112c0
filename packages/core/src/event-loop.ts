// Imported for the {@link}s in the comments below, which documentation tools resolve like code.
// eslint-disable-next-line @typescript-eslint/no-unused-vars
import type { InvalidArgumentError, OutOfRangeError, UnpollableDescriptorError } from "./errors.ts";
import type { HandleEvents } from "./handle-event.ts";

/** A watch's id: a positive integer, never reused by the loop that returned it. */
export type WatchId = number;
/** A timer's id: a positive integer, never reused by the loop that returned it. */
export type TimerId = number;

/**
 * Called once for each pass in which the watched descriptor has events the watch wants.
 * `events` holds the ready bits the watch asked for plus ERROR and HANGUP when they occurred.
 * Returning `-1` removes the watch, as if {@link EventLoopImpl.removeHandle} had been called.
 */
export type HandleCallback = (watch: WatchId, fd: number, events: HandleEvents) => void | number;

/** Called each time the timer falls due. */
export type TimeoutCallback = (timer: TimerId) => void;

/**
 * Called exactly once after a watch or timer is removed, from a clean stack: never inside
 * `removeHandle`/`removeTimeout` and never inside the removed item's own callback. Release what
 * the callback held here (libvirt's `virFreeCallback`).
 */
export type FreeCallback = () => void;

/** Receives what a callback threw, after the pass in which it threw. */
export type ErrorHandler = (error: unknown) => void;

/**
 * The contract between a library that needs descriptor and timer events and the application's
 * event loop (libvirt's `virEventRegisterImpl`). Every evloop adapter implements it, and the
 * `@evloop/conformance` suite checks each rule below.
 *
 * Rules shared by all methods:
 * - Ids are positive integers, never reused by a loop.
 * - What is added during a dispatch pass is not dispatched in that same pass.
 * - A callback that throws loses no other callback's event in that pass. What it threw goes to the
 *   loop's `onError` option, or without one is raised after the pass (several errors from one
 *   pass together, as one `AggregateError`): thrown from the call that ran the pass on loops the
 *   application drives (`runOnce`, `advance`), an uncaught exception on loops Node drives.
 * - Bad input throws {@link InvalidArgumentError} or {@link OutOfRangeError}, naming the argument
 *   and value; nothing is registered.
 */
export interface EventLoopImpl {
  /**
   * Watches `fd` for `events` (READABLE and/or WRITABLE; ERROR and HANGUP are always reported).
   * The same fd may be watched several times with different masks. A descriptor that is not open
   * gets one ERROR event; a descriptor that can never block (a regular file) is refused with
   * {@link UnpollableDescriptorError}.
   * @returns the new watch's id.
   */
  addHandle(fd: number, events: HandleEvents, cb: HandleCallback, free?: FreeCallback): WatchId;
  /** Changes what a watch wants. `0` keeps the watch but stops its dispatch. An unknown watch is a no-op. */
  updateHandle(watch: WatchId, events: HandleEvents): void;
  /**
   * Removes a watch. Once this returns the watch never fires again, even if it was ready in the
   * pass being dispatched, and the caller may close the descriptor at once.
   * @returns `0`, or `-1` when the watch is unknown or already removed.
   */
  removeHandle(watch: WatchId): 0 | -1;
  /**
   * Adds a timer: `-1` disabled, `0` fires on every loop iteration, `> 0` fires every
   * `intervalMs` milliseconds (periodic, without catching up missed fires).
   * @returns the new timer's id.
   */
  addTimeout(intervalMs: number, cb: TimeoutCallback, free?: FreeCallback): TimerId;
  /** Sets a timer's interval (same values as `addTimeout`) and restarts its countdown from now. An unknown timer is a no-op. */
  updateTimeout(timer: TimerId, intervalMs: number): void;
  /**
   * Removes a timer; it never fires again once this returns.
   * @returns `0`, or `-1` when the timer is unknown or already removed.
   */
  removeTimeout(timer: TimerId): 0 | -1;
}

/** Options every evloop adapter accepts. */
export interface LoopOptions {
  /**
   * Receives what a callback (or a free callback) threw, after the pass in which it threw. Without
   * it the error is raised after the pass, the loop's documented way (see {@link EventLoopImpl}).
   */
  onError?: ErrorHandler;
}
