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
  // The kernel's clock is the poller's (`process.hrtime.bigint()` in ms), so that a wake-up can
  // use the time the poller hands it instead of reading a clock. `performance.now()` plus an
  // offset reads it cheaply; the offset is measured with `performance.now()` first, so the clock
  // never runs behind: timers can fire a fraction of a microsecond late, never early.
  const clock = performance;
  const before = clock.now();
  const offset = Number(process.hrtime.bigint()) / 1e6 - before;
  const now = () => clock.now() + offset;
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
  /** The deadline the native timer is armed for; `Infinity` while it is disarmed. */
  let armedFor = Infinity;
  /**
   * Whether the native timer's callback is running, and the time it fired: meanwhile the next
   * deadline is handed back as the callback's return value (one crossing per wake-up, as Node's
   * own timers do) instead of through `setTimer`.
   */
  let firing = false;
  let firedAt = 0;
  const onTimer = (fired: number) => {
    firing = true;
    firedAt = fired;
    armedFor = Infinity;
    let done = false;
    try {
      kernel.dispatchTimers(fired);
      done = true;
    } finally {
      firing = false;
      // A pass that ends by raising its callbacks' errors still keeps its timers armed.
      if (!done && armedFor !== Infinity && !kernel.closed) poller.setTimer(Math.max(0, armedFor - now()));
    }
    return armedFor === Infinity ? -1 : armedFor - fired;
  };

  const poller = createUvPoller((fds, events, count) => kernel.dispatchHandles(fds, events, count), onTimer);
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
        const at = firing ? firedAt : now();
        // Due now (a 0 ms timer, or a late one): fire once per loop iteration, from the check
        // phase. A 0 ms uv_timer re-armed in its own callback would run again in the same timers
        // phase (libuv 1.46), forever, and starve I/O.
        const due = deadline <= at;
        if (due) soon();
        if (firing) armedFor = due ? Infinity : deadline;
        else if (deadline === Infinity) {
          // Nothing left: disarm, so the timer no longer keeps the process alive.
          if (armedFor !== Infinity) poller.setTimer(-1);
          armedFor = Infinity;
        } else if (!due && deadline < armedFor) {
          poller.setTimer(deadline - at);
          armedFor = deadline;
        }
        // A later deadline leaves the native timer armed for the earlier one: it wakes the loop
        // once for nothing and is re-armed then, which is cheaper than a call into the addon each
        // time the earliest timer is removed (a timeout cleared before it fires: the usual case).
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
