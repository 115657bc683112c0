import { UnpollableDescriptorError, NotSupportedError } from "./errors.ts";
import type { EventLoopImpl, LoopOptions } from "./event-loop.ts";
import type { HandleEvents } from "./handle-event.ts";
import { contractOf, createKernel, type Kernel } from "./kernel.ts";
import { getEventImpl, registerEventImpl, resolveEventImpl } from "./registry.ts";
import { assertCallback, assertEvents, assertFd, assertId, assertInterval } from "./validate.ts";

/**
 * The names of the 2007 plan ("Making QEMU use the real internal driver API"), kept so code
 * written against it reads the same. They run on the same machinery as the rest of core:
 * `virEventInitialize` registers a loop, and `virEventAddHandle`/`virEventRemoveHandle` work on
 * whichever loop is registered, however it was registered.
 */

/** The seed's handle callback: `cb(fd, events, opaque)`. Returning `-1` stops monitoring the fd. */
export type VirEventCallback = (fd: number, events: HandleEvents, opaque: unknown) => void | number;

/** The seed's `virEventAddHandleImpl`: watch `fd` for `events`; returns `0`, or `-1` when it cannot. */
export type VirEventAddHandleImpl = (fd: number, events: HandleEvents, cb: VirEventCallback, opaque: unknown) => number;

/** The seed's `virEventRemoveHandleImpl`: stop watching `fd`; returns `0`, or `-1` when it was not watched. */
export type VirEventRemoveHandleImpl = (fd: number) => number;

/**
 * Turns the seed's two functions into an {@link EventLoopImpl}. The application's loop sees
 * exactly the seed's calls, one registration per fd (several watches on one fd are merged into
 * one `addImpl` call, re-made when the union of their events changes). Such a loop has no timers:
 * `addTimeout` throws {@link NotSupportedError}. Errors thrown by callbacks go to `onError`, else
 * they are raised into the application's call of the seed callback, after every watch ran.
 */
export function createSeedLoop(addImpl: VirEventAddHandleImpl, removeImpl: VirEventRemoveHandleImpl, options: LoopOptions = {}): EventLoopImpl {
  assertCallback(addImpl, "addImpl");
  assertCallback(removeImpl, "removeImpl");
  /** The mask each fd is registered with in the application's loop. */
  const watched = new Map<number, HandleEvents>();
  const dispatch: VirEventCallback = (fd, events) => kernel.dispatchHandles([fd], [events], 1);
  const kernel: Kernel = createKernel(
    {
      watchFd(fd, mask) {
        const previous = watched.get(fd);
        if (previous !== undefined) {
          watched.delete(fd);
          removeImpl(fd);
        }
        if (mask === 0) return;
        if (addImpl(fd, mask, dispatch, undefined) < 0) {
          // The kernel undoes its change when we throw, so the application must be left as it
          // was: put the previous registration back (the seed re-registers by remove + add).
          if (previous !== undefined && addImpl(fd, previous, dispatch, undefined) >= 0) watched.set(fd, previous);
          throw new UnpollableDescriptorError(fd, "addImpl returned -1");
        }
        watched.set(fd, mask);
      },
      armTimer() {},
      requestFlush: () => queueMicrotask(() => kernel.flush()),
    },
    { now: () => performance.now(), onError: options.onError },
  );
  const refuse = (): never => {
    throw new NotSupportedError("addTimeout", "a loop registered with virEventInitialize(addImpl, removeImpl) has no timers");
  };
  return {
    ...contractOf(kernel),
    addTimeout: refuse,
    updateTimeout(timer, intervalMs) {
      assertId(timer, "timer");
      assertInterval(intervalMs);
    },
    removeTimeout(timer) {
      assertId(timer, "timer");
      return -1;
    },
  };
}

/** The functions the seed loop in place was registered with, so registering them again is a no-op. */
let initialized: { addImpl: VirEventAddHandleImpl; removeImpl: VirEventRemoveHandleImpl; loop: EventLoopImpl } | undefined;

/** The seed's `virEventInitialize(addImpl, removeImpl)`: registers the application's two functions as the loop. */
export function virEventInitialize(addImpl: VirEventAddHandleImpl, removeImpl: VirEventRemoveHandleImpl): void {
  if (initialized?.addImpl === addImpl && initialized.removeImpl === removeImpl && getEventImpl() === initialized.loop) return;
  const loop = createSeedLoop(addImpl, removeImpl);
  registerEventImpl(loop);
  initialized = { addImpl, removeImpl, loop };
}

/** Per loop, the watch each fd got through the seed's names (the seed removes by fd). */
const seedWatches = new WeakMap<EventLoopImpl, Map<number, number>>();

/**
 * The seed's `virEventAddHandle(fd, events, cb, opaque)`: watches `fd` on the registered loop (or
 * `loop`). Returns `0`, or `-1` when `fd` is already watched through this function. Bad input
 * throws the contract's typed errors.
 */
export function virEventAddHandle(fd: number, events: HandleEvents, cb: VirEventCallback, opaque: unknown, loop?: EventLoopImpl): number {
  const impl = resolveEventImpl("virEventAddHandle", loop);
  assertFd(fd);
  assertEvents(events);
  assertCallback(cb);
  let byFd = seedWatches.get(impl);
  if (byFd === undefined) seedWatches.set(impl, (byFd = new Map()));
  if (byFd.has(fd)) return -1;
  const table = byFd;
  const release = () => {
    if (table.get(fd) === watch) table.delete(fd);
  };
  // A -1 from cb releases the fd at once; however else the watch ends (removeHandle on the loop,
  // the loop closing), its free callback releases it.
  const watch = impl.addHandle(
    fd,
    events,
    (_id, readyFd, ready) => {
      const result = cb(readyFd, ready, opaque);
      if (result === -1) release();
      return result;
    },
    release,
  );
  table.set(fd, watch);
  return 0;
}

/** The seed's `virEventRemoveHandle(fd)`: stops watching `fd`. Returns `0`, or `-1` when it was not watched. */
export function virEventRemoveHandle(fd: number, loop?: EventLoopImpl): number {
  const impl = resolveEventImpl("virEventRemoveHandle", loop);
  assertFd(fd);
  const byFd = seedWatches.get(impl);
  const watch = byFd?.get(fd);
  if (watch === undefined) return -1;
  byFd?.delete(fd);
  return impl.removeHandle(watch);
}
