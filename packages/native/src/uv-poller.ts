import { native } from "./binding.ts";

/**
 * Receives every descriptor that became ready during one libuv loop iteration, in one call (with
 * `batch: false`, one call per report instead: see {@link UvPollerOptions.batch}).
 *
 * Entries `0 .. count - 1` of `fds` and `events` are valid; each descriptor appears at most once,
 * with the union of what was seen for it: READABLE=1, WRITABLE=2, ERROR=4, HANGUP=8 (libvirt's
 * bits). The arrays belong to the poller and are reused (or replaced by larger ones) for the next
 * batch: copy what must outlive the call. A watch removed or changed by an earlier entry of the
 * same batch may still appear later in it; check liveness while dispatching.
 *
 * Because the whole batch is one crossing into JavaScript, `process.nextTick` callbacks and
 * microtasks run once after the batch, not between its entries.
 */
export type ReadyCallback = (fds: Int32Array, events: Int32Array, count: number) => void;

/** Options of {@link createUvPoller}. */
export interface UvPollerOptions {
  /**
   * How often, in milliseconds, polled descriptors are checked for having been closed (or their
   * number reused) without `watch(fd, 0)`; such a descriptor is reported as ERROR once. The check
   * runs only while something is polled, on an unref'd timer. 0 turns it off. Default 250.
   */
  sweepIntervalMs?: number;
  /**
   * Whether ready descriptors are delivered in one `onReady` call per loop iteration (`true`, the
   * default) or each from its own libuv poll callback as `onReady(fds, events, 1)` (`false`).
   *
   * `false` is the baseline that benchmarks measure the batched contract against: a bare
   * `uv_poll` binding, one crossing into JavaScript per report, with `process.nextTick` callbacks
   * and microtasks run after each. Reports are then not merged, so a descriptor may be reported
   * more than once in one iteration, and they arrive during the I/O phase. Everything else stays
   * the same, including exception routing and `watch(fd, 0)` taking effect at once (even for a
   * descriptor already ready in the same iteration). The reports made outside the I/O phase, ERROR
   * for a descriptor not open at `watch` and for one found closed by the sweep, still arrive
   * after the I/O phase, possibly several in one call.
   *
   * @throws TypeError from createUvPoller if given and not a boolean.
   */
  batch?: boolean;
}

/**
 * Descriptors and one timer on the libuv loop of the thread that created the poller (the main
 * thread or a worker: each has its own loop, and pollers in several threads run at once).
 */
export interface UvPoller {
  /**
   * Sets the interest for `fd`, replacing any previous one.
   *
   * `mask` is a union of READABLE (1), WRITABLE (2), ERROR (4) and HANGUP (8). ERROR and HANGUP
   * are reported whenever they happen, as poll(2) does; a mask of only those bits watches for
   * nothing else. One libuv handle serves each descriptor and is reused across mask changes.
   *
   * - `mask` 0 stops polling before returning, so the caller may close `fd` at once and its number
   *   may be reused right away; a report already queued for it is dropped. Unknown fds are ignored.
   * - A descriptor that cannot be polled (a regular file, `/dev/null`) throws an Error with
   *   `code: 'EPERM'`, `errno` and `syscall: 'uv_poll_init'`, and nothing stays registered.
   * - A descriptor that is not open (any number up to 2^31-1) does not throw: the next batch
   *   reports ERROR for it, once, and nothing is polled. Calling `watch` again retries. The same
   *   holds for one closed (or whose number was reused by another file) after `watch` but before
   *   the loop's next poll phase: it is reported as ERROR once, in that iteration's batch.
   * - After an ERROR (reported by libuv, or by the closed-descriptor sweep) the descriptor is no
   *   longer polled until `watch(fd, mask)` is called again, which registers it afresh; so does a
   *   `watch` for a number that now names a different file.
   * - While watched, the descriptor is non-blocking (libuv's `uv_poll_init` sets O_NONBLOCK); one
   *   that was blocking is made blocking again when the watch ends (`watch(fd, 0)`, close(), or an
   *   ERROR), if the number still names the same file.
   *
   * @throws RangeError if `fd` is not an integer in [0, 2^31-1] or `mask` not an integer in [0, 15];
   *   Error with code ERR_EVLOOP_CLOSED after close().
   */
  watch(fd: number, mask: number): void;
  /**
   * Arms the poller's single timer to call `onTimer` once, `ms` milliseconds (a number >= 0,
   * fractions allowed) from now, replacing any earlier setting; -1 disarms it. It fires in the
   * loop's timers phase, never before `ms` have passed by the real clock (`performance.now()`),
   * even when libuv's millisecond clock would run it earlier.
   *
   * @throws RangeError for anything else (or above 2^31-1); Error with code ERR_EVLOOP_CLOSED
   *   after close().
   */
  setTimer(ms: number): void;
  /** Makes polled descriptors and the armed timer keep the process alive (the default). */
  ref(): void;
  /** Lets the process exit even while descriptors are polled or the timer is armed. */
  unref(): void;
  /**
   * Stops and releases everything. No callback runs after it returns, even one already due in
   * the current loop iteration. Calling it again does nothing; other methods then throw.
   */
  close(): void;
}

/**
 * Runs when the poller's timer fires. `now` is when it fired, in milliseconds on the clock of
 * `process.hrtime.bigint()` (its nanoseconds divided by 1e6), read before the call: a loop can use
 * it as the time of the wake-up without reading a clock. What the callback returns re-arms the
 * timer, as `setTimer` would but counted from `now`, without another call into the addon: a
 * number of milliseconds >= 0 (at least one loop millisecond is waited, so the timer never runs
 * twice in one timers phase); anything else, such as `undefined` or -1, leaves the timer as the
 * callback left it (disarmed unless it called `setTimer`).
 */
export type TimerCallback = (now: number) => number | undefined | void;

/**
 * Creates a poller on the calling thread's libuv loop.
 *
 * `onReady` receives each loop iteration's ready descriptors as one batch, after the I/O phase
 * and before that iteration's `setImmediate` callbacks and the next timers (Node's own order);
 * with `batch: false`, one report per call during the I/O phase instead.
 * `onTimer` runs when the timer armed by `setTimer` fires (see {@link TimerCallback} for what its
 * return value does). Both run with `this` set to an internal
 * object and inside an async context, like Node's own callbacks; an exception they throw goes to
 * `process.on('uncaughtException')` (or ends the process), and later batches still arrive.
 *
 * An open poller is never garbage-collected, like a socket; it keeps the process alive only
 * through its ref'd descriptors and armed timer. Call close() when done.
 */
export function createUvPoller(onReady: ReadyCallback, onTimer: TimerCallback, options: UvPollerOptions = {}): UvPoller {
  const { UvPoller } = native();
  const poller = new UvPoller(onReady, onTimer, options.sweepIntervalMs, options.batch);
  // Arrow functions, so the methods still work when taken off the object.
  return Object.freeze({
    watch: (fd: number, mask: number): void => poller.watch(fd, mask),
    setTimer: (ms: number): void => poller.setTimer(ms),
    ref: (): void => poller.ref(),
    unref: (): void => poller.unref(),
    close: (): void => poller.close(),
  });
}
