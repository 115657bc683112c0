import type { EventLoopImpl, LoopOptions } from "@evloop/core";
import { contractOf, createKernel, refusal, type Registrations } from "@evloop/core/kernel";
import { createUvPoller } from "@evloop/native";

/** Options of {@link createLibuvLoop}. */
export interface LibuvLoopOptions extends LoopOptions {
  /**
   * Whether live watches and armed timers keep the process alive, as an open socket or a pending
   * `setTimeout` does (default `true`). With `false` the process may exit while they are
   * registered; they still fire while something else keeps it running.
   */
  readonly ref?: boolean;
}

/** The contract served by Node's own libuv loop. */
export interface LibuvLoop extends EventLoopImpl {
  /** Let live watches and timers keep the process alive (the default). */
  ref(): void;
  /** Let the process exit even while watches and timers are registered. */
  unref(): void;
  /** What the loop holds right now. */
  registrations(): Registrations;
  /**
   * Removes every watch and timer and lets the process exit. Their free callbacks run before it
   * returns, or, when it is called from one of the loop's callbacks, at the end of that pass.
   */
  close(): void;
}

/**
 * Serves the contract on the libuv loop of the calling thread (the main thread's or a worker's):
 * one `uv_poll` handle per descriptor, shared by all its watches, and one `uv_timer` for all
 * timers. Descriptors that became ready in one loop iteration reach JavaScript together, in one
 * call, after the poll phase, so `process.nextTick` callbacks and microtasks run once per batch,
 * not between two callbacks of the same batch.
 */
export function createLibuvLoop(options: LibuvLoopOptions = {}): LibuvLoop {
  const now = () => performance.now();
  let referenced = options.ref ?? true;
  /** Runs the kernel's flush (timers due now, free callbacks) on the loop's next iteration. */
  let immediate: NodeJS.Immediate | undefined;
  const soon = () => {
    if (immediate !== undefined) return;
    immediate = setImmediate(() => {
      immediate = undefined;
      kernel.flush();
    });
    if (!referenced) immediate.unref();
  };

  const poller = createUvPoller(
    (fds, events, count) => kernel.dispatchHandles(fds, events, count),
    () => kernel.dispatchTimers(now()),
  );
  const kernel = createKernel(
    {
      watchFd(fd, mask) {
        try {
          poller.watch(fd, mask);
        } catch (error) {
          throw refusal(fd, error);
        }
      },
      armTimer(deadline) {
        // uv_timer counts whole milliseconds: round up, so a timer never fires before it is due.
        if (deadline === Infinity) return poller.setTimer(-1);
        const delay = Math.ceil(deadline - now());
        if (delay > 0) return poller.setTimer(delay);
        // Due now (a 0 timer, or one that is late): fire once per loop iteration, from the check
        // phase. A 0 ms uv_timer re-armed in its own callback would run again in the same timers
        // phase (libuv 1.46), forever, and starve I/O.
        poller.setTimer(-1);
        soon();
      },
      requestFlush: soon,
    },
    { now, onError: options.onError },
  );
  if (!referenced) poller.unref();

  return {
    ...contractOf(kernel),
    registrations: kernel.registrations,
    ref() {
      referenced = true;
      poller.ref();
      immediate?.ref();
    },
    unref() {
      referenced = false;
      poller.unref();
      immediate?.unref();
    },
    close() {
      if (kernel.closed) return;
      try {
        kernel.close();
      } finally {
        if (immediate !== undefined) clearImmediate(immediate);
        immediate = undefined;
        poller.close();
      }
    },
  };
}
