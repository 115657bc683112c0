import { UnpollableDescriptorError, NotSupportedError } from "./errors.ts";
import type { EventLoopImpl } from "./event-loop.ts";
import type { HandleEvents } from "./handle-event.ts";
import { createKernel, type Kernel } from "./kernel.ts";
import { registerEventImpl, resolveEventImpl } from "./registry.ts";
import { assertCallback, assertFd } from "./validate.ts";

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
 * `addTimeout` throws {@link NotSupportedError}.
 */
export function createSeedLoop(addImpl: VirEventAddHandleImpl, removeImpl: VirEventRemoveHandleImpl): EventLoopImpl {
  assertCallback(addImpl, "addImpl");
  assertCallback(removeImpl, "removeImpl");
  const watched = new Set<number>();
  const dispatch: VirEventCallback = (fd, events) => kernel.dispatchHandles([fd], [events], 1);
  const kernel: Kernel = createKernel(
    {
      watchFd(fd, mask) {
        if (watched.delete(fd)) removeImpl(fd);
        if (mask === 0) return;
        if (addImpl(fd, mask, dispatch, undefined) < 0) throw new UnpollableDescriptorError(fd, "addImpl returned -1");
        watched.add(fd);
      },
      armTimer() {},
      requestFlush: () => queueMicrotask(() => kernel.flush()),
    },
    { now: () => performance.now() },
  );
  const refuse = (): never => {
    throw new NotSupportedError("addTimeout", "a loop registered with virEventInitialize(addImpl, removeImpl) has no timers");
  };
  return {
    addHandle: kernel.addHandle,
    updateHandle: kernel.updateHandle,
    removeHandle: kernel.removeHandle,
    addTimeout: refuse,
    updateTimeout: () => {},
    removeTimeout: () => -1,
  };
}

/** The seed's `virEventInitialize(addImpl, removeImpl)`: registers the application's two functions as the loop. */
export function virEventInitialize(addImpl: VirEventAddHandleImpl, removeImpl: VirEventRemoveHandleImpl): void {
  registerEventImpl(createSeedLoop(addImpl, removeImpl));
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
  assertCallback(cb);
  let byFd = seedWatches.get(impl);
  if (byFd === undefined) seedWatches.set(impl, (byFd = new Map()));
  if (byFd.has(fd)) return -1;
  const table = byFd;
  const watch = impl.addHandle(fd, events, (id, readyFd, ready) => {
    const result = cb(readyFd, ready, opaque);
    if (result === -1 && table.get(readyFd) === id) table.delete(readyFd);
    return result;
  });
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
