import { native } from "./binding.ts";

/** Options of {@link createFdWaiter}. */
export interface FdWaiterOptions {
  /**
   * At most how often, in milliseconds, watched descriptors are checked for having been closed
   * (or their number reused) without `watch(fd, 0)`; such a descriptor is reported as ERROR once.
   * A wait that blocks longer wakes up for the check. 0 turns it off. Default 250.
   */
  sweepIntervalMs?: number;
}

/**
 * A blocking wait on descriptors, for a loop driven by hand (`@evloop/poll`'s createPollLoop).
 * It never touches libuv. Linux uses epoll, so a wait costs what is ready rather than what is
 * watched; other systems use poll(2). Readiness is level-triggered.
 */
export interface FdWaiter {
  /**
   * Adds, changes or (with `mask` 0) removes the interest for `fd`, with the same rules as
   * the libuv poller's `watch`: READABLE=1, WRITABLE=2, ERROR=4, HANGUP=8; ERROR and HANGUP are always
   * reported; removal is synchronous; a regular file or `/dev/null` throws `code: 'EPERM'`
   * (`syscall: 'epoll_ctl'`) registering nothing; a descriptor that is not open (any number up to
   * 2^31-1) is reported as ERROR by the next wait(), once; after an ERROR the descriptor is not
   * polled until watched again. While watched, the descriptor is non-blocking (O_NONBLOCK), as the
   * libuv poller's are; a descriptor that was blocking is made blocking again when the watch ends
   * (`watch(fd, 0)`, close(), or an ERROR).
   *
   * @throws RangeError for an fd outside [0, 2^31-1], a mask outside [0, 15], or the waiter's own
   *   wake-up descriptor; Error with code ERR_EVLOOP_CLOSED after close().
   */
  watch(fd: number, mask: number): void;
  /**
   * Blocks the calling thread until a watched descriptor is ready, `timeoutMs` passes (rounded up
   * to whole milliseconds; -1 or Infinity waits forever, 0 does not block), or interrupt() or a
   * write to `wakeFd` wakes it. Signals do not end it
   * early: an interrupted system call is retried with the time left.
   *
   * Returns the number of reports written to {@link fds} and {@link events} (one per descriptor,
   * merged); 0 on timeout or wake-up. A hang-up also reports the watched READABLE/WRITABLE
   * direction, as libuv does.
   */
  wait(timeoutMs: number): number;
  /**
   * Descriptors of the last wait(), entries `0 .. count - 1`. The array is reused, and replaced
   * by a larger one when a wait has more to report: read this property after each wait.
   */
  readonly fds: Int32Array;
  /** Event bits matching {@link fds}, entry for entry; the same reuse rules. */
  readonly events: Int32Array;
  /**
   * Wakes the current or, if none is blocked, the next wait(), which then returns (0 if nothing
   * else is ready). Safe to call at any time; repeated calls before the wait coalesce.
   */
  interrupt(): void;
  /**
   * The write end of the waiter's wake-up pipe (-1 after close()), for waking it from another
   * thread that cannot call interrupt(): write at least one byte, e.g.
   * `fs.writeSync(wakeFd, new Uint8Array(1))`; any byte count from 1 up works and the bytes are
   * drained unseen. The pipe is non-blocking: if a very large number of wake-ups were never
   * consumed, the write fails with EAGAIN, which is harmless (a wake-up is already pending).
   * Never write to it after close(): the number may belong to another file by then.
   */
  readonly wakeFd: number;
  /** Which system call waits: 'epoll' on Linux, 'poll' elsewhere. */
  readonly backend: "epoll" | "poll";
  /** Closes the waiter's descriptors and forgets every watch; calling it again does nothing. */
  close(): void;
}

/**
 * Creates a blocking waiter. It releases its own descriptors on close(), when garbage-collected,
 * or when its thread ends. Not available on Windows (throws ENOSYS there).
 */
export function createFdWaiter(options: FdWaiterOptions = {}): FdWaiter {
  const { FdWaiter } = native();
  const waiter = new FdWaiter(options.sweepIntervalMs);
  const backend = waiter.backend;
  // Arrow functions, so the methods work when taken off the object, and getters, so the arrays
  // are always the current ones. The getters are added to the built object: V8 keeps an object
  // literal that declares accessors in dictionary mode, and a loop reads these on every wait.
  const methods = {
    watch: (fd: number, mask: number): void => waiter.watch(fd, mask),
    wait: (timeoutMs: number): number => waiter.wait(timeoutMs),
    interrupt: (): void => waiter.interrupt(),
    backend,
    close: (): void => waiter.close(),
  };
  const getter = (get: () => unknown): PropertyDescriptor => ({ get, enumerable: true });
  return Object.freeze(
    Object.defineProperties(methods, {
      fds: getter(() => waiter.fds),
      events: getter(() => waiter.events),
      wakeFd: getter(() => waiter.wakeFd),
    }) as FdWaiter,
  );
}
