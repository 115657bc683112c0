import type { ErrorHandler, EventLoopImpl } from "@evloop/core";

/**
 * What the conformance suite needs from a loop under test: a way to make loops, descriptors,
 * and to let the loop run. An adapter's test supplies one; the suite does the rest.
 *
 * Descriptors may be real (a pipe made by the OS) or the loop's own (the virtual loop's `fds`);
 * the suite only passes them back to this fixture and to the loop.
 */
export interface ConformanceFixture<L extends EventLoopImpl = EventLoopImpl> {
  /** The adapter's name, used in test titles. */
  readonly name: string;
  /** A fresh loop for one scenario. `onError` is the contract's option; when it is absent the loop raises errors its own documented way (see {@link ConformanceFixture.runUntil}). */
  createLoop(options: { onError?: ErrorHandler }): L;
  /** Releases the loop and anything the fixture made for it (descriptors still open are closed). */
  dispose(loop: L): void | Promise<void>;
  /** A pipe: `[readEnd, writeEnd]`, both non-blocking. */
  pipe(loop: L): [number, number];
  /** Two connected stream sockets (both ends readable and writable). */
  socketpair(loop: L): [number, number];
  /** Writes bytes; returns how many were written (a full buffer writes fewer, never blocks). */
  write(loop: L, fd: number, data: string | Uint8Array): number;
  /** Reads what is buffered, up to `max` bytes (empty when nothing is buffered or at end of file). */
  read(loop: L, fd: number, max?: number): Uint8Array;
  /** Closes a descriptor. */
  close(loop: L, fd: number): void;
  /** A descriptor that cannot be polled (a regular file), which `addHandle` must refuse with UnpollableDescriptorError. */
  unpollable(loop: L): number;
  /** A number that is not an open descriptor right now. */
  notOpen(loop: L): number;
  /**
   * Runs the loop until `condition()` holds, for at most `timeoutMs` of the loop's time (default
   * 2000). Resolves whether the condition held. Errors the loop raised without an `onError`
   * (thrown from `runOnce`, or an uncaught exception from the loop's own thread) are collected,
   * not thrown: read them with {@link ConformanceFixture.raised}.
   */
  runUntil(loop: L, condition: () => boolean, timeoutMs?: number): Promise<boolean>;
  /** Lets `ms` of the loop's time pass while the loop runs (real time for real loops, virtual time for virtual ones). */
  runFor(loop: L, ms: number): Promise<void>;
  /** The errors the loop raised without an `onError` since it was created, in order. */
  raised(loop: L): unknown[];
  /**
   * Whether the loop's time is virtual: timing scenarios then check exact instants instead of
   * bounds that leave room for a busy machine.
   */
  readonly virtualTime: boolean;
}
