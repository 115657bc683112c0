import { InvalidArgumentError, LoopClosedError, OutOfRangeError, type EventLoopImpl, type LoopOptions } from "@evloop/core";
import { contractOf, createKernel, refusal, refuseNestedPass, withGetters, type Registrations } from "@evloop/core/kernel";
import { createFdWaiter } from "@evloop/native";
import { monotonicClock, type Clock } from "./clock.ts";

/** Options of {@link createPollLoop}. */
export interface PollLoopOptions extends LoopOptions {
  /**
   * The loop's clock (default: real monotonic time). With any other clock, time is the caller's
   * to move: due timers fire at the next `runOnce`, and waiting is bounded only by descriptors and
   * `timeoutMs`, never by a timer's virtual deadline.
   */
  readonly clock?: Clock;
}

/** Options of {@link PollLoop.run}. */
export interface RunOptions {
  /**
   * Stops the loop when aborted, checked between passes. The thread is blocked while the loop
   * waits, so only a callback or timer of this loop can abort it (or another thread, after waking
   * the wait through {@link PollLoop.wakeFd}).
   */
  readonly signal?: AbortSignal;
  /** Stops the loop after the first pass after which this returns `true`. */
  readonly until?: () => boolean;
}

/**
 * A loop the application drives itself: it blocks the calling thread while it waits, and
 * dispatches only when asked. Run it where blocking is the point: a CLI, a tick, a worker thread.
 */
export interface PollLoop extends EventLoopImpl {
  /**
   * Waits until a watched descriptor is ready or the next timer is due, never longer than
   * `timeoutMs` (`0` does not block; no argument waits as long as needed), dispatches what is
   * ready and returns how many callbacks ran. With nothing to wait for (no enabled watch, no
   * armed timer) and no `timeoutMs`, it returns `0` at once instead of blocking forever.
   */
  runOnce(timeoutMs?: number): number;
  /** Runs passes until `signal` aborts, `until()` holds, or there is nothing left to wait for. */
  run(options?: RunOptions): void;
  /** Wakes a blocked `runOnce` now. Safe from callbacks and timers; other threads write to {@link PollLoop.wakeFd}. */
  interrupt(): void;
  /**
   * The loop's wake-up descriptor. Another thread (a worker) wakes the loop by writing 8 bytes to
   * it, for example `fs.writeSync(wakeFd, new BigUint64Array([1n]))`.
   */
  readonly wakeFd: number;
  /** What the loop holds right now. */
  registrations(): Registrations;
  /** Removes every watch and timer (their free callbacks run) and releases the waiter. */
  close(): void;
}

/**
 * Creates a manual loop on real descriptors: epoll on Linux, so one iteration costs what is
 * ready rather than what is watched, and poll(2) elsewhere.
 */
export function createPollLoop(options: PollLoopOptions = {}): PollLoop {
  const clock = options.clock ?? monotonicClock;
  if (typeof clock?.now !== "function") throw new InvalidArgumentError("options.clock", clock, "an object with a now() method");
  const realTime = clock === monotonicClock;
  const waiter = createFdWaiter();
  /** The descriptors the waiter watches: with none and no timer, a wait would never end. */
  const watched = new Set<number>();
  const kernel = createKernel(
    {
      watchFd(fd, mask) {
        try {
          waiter.watch(fd, mask);
        } catch (error) {
          throw refusal(fd, error);
        }
        if (mask === 0) watched.delete(fd);
        else watched.add(fd);
      },
      // The wait's timeout is computed from the next deadline on every pass.
      armTimer() {},
      // Every pass flushes; a removal outside a pass waits for the next one.
      requestFlush() {},
    },
    { now: () => clock.now(), onError: options.onError },
  );

  function waitTime(timeoutMs: number | undefined): number {
    if (kernel.pending) return 0;
    const deadline = kernel.nextDeadline();
    let wait = timeoutMs ?? Infinity;
    if (deadline !== Infinity) {
      const until = deadline - clock.now();
      // Round up: a wait that ends before the deadline only spins once more.
      if (realTime || until <= 0) wait = Math.min(wait, Math.max(0, Math.ceil(until)));
    }
    return wait;
  }


  function runOnce(timeoutMs?: number): number {
    refuseNestedPass(kernel, "runOnce");
    if (timeoutMs !== undefined && (typeof timeoutMs !== "number" || !(timeoutMs >= 0)))
      throw new OutOfRangeError("timeoutMs", timeoutMs, "a number >= 0, or undefined to wait as long as needed");
    if (kernel.closed) throw new LoopClosedError("runOnce");
    const wait = waitTime(timeoutMs);
    if (wait === Infinity && watched.size === 0) {
      kernel.flush();
      return 0;
    }
    const n = waiter.wait(wait === Infinity ? -1 : wait);
    let ran = 0;
    kernel.pass(() => {
      ran += kernel.dispatchTimers(clock.now());
      ran += kernel.dispatchHandles(waiter.fds, waiter.events, n);
    });
    return ran;
  }

  const loop: Omit<PollLoop, "wakeFd"> = {
    ...contractOf(kernel),
    registrations: kernel.registrations,
    runOnce,
    run(opts = {}) {
      refuseNestedPass(kernel, "run");
      const { signal, until } = opts;
      while (!signal?.aborted && !until?.()) {
        if (watched.size === 0 && waitTime(undefined) === Infinity) break;
        runOnce();
      }
    },
    interrupt: () => waiter.interrupt(),
    close() {
      if (kernel.closed) return;
      try {
        kernel.close();
      } finally {
        waiter.close();
      }
    },
  };
  return withGetters(loop, { wakeFd: () => waiter.wakeFd });
}
