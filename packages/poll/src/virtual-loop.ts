import { OutOfRangeError, type EventLoopImpl, type LoopOptions } from "@evloop/core";
import { contractOf, createKernel, refuseNestedPass, type Registrations } from "@evloop/core/kernel";
import { createVirtualClock } from "./clock.ts";
import { VirtualFds, type VirtualFdsOptions } from "./virtual-fds.ts";
import { VirtualPoller } from "./virtual-poller.ts";

/** Options of {@link createVirtualLoop}. */
export interface VirtualLoopOptions extends LoopOptions, VirtualFdsOptions {
  /** The clock's starting time in milliseconds (default 0). */
  readonly startTime?: number;
  /**
   * How many passes one instant may take while callbacks keep changing descriptors (a
   * ping-pong between two watches never settles); default 1000.
   */
  readonly maxPassesPerInstant?: number;
}

/** What {@link VirtualLoop.runUntilIdle} did. */
export interface IdleResult {
  /** The passes it ran. */
  readonly passes: number;
  /** The callbacks those passes ran. */
  readonly callbacks: number;
  /** `false` when it stopped at the bound with work still due (a `0` timer is never idle). */
  readonly idle: boolean;
}

/**
 * A deterministic loop in pure TypeScript: virtual descriptors, a virtual clock, and a fixed
 * order (due time, then registration order). It is the contract's reference implementation and
 * the way to test driver code without real time or real I/O.
 */
export interface VirtualLoop extends EventLoopImpl {
  /** The loop's descriptors: `pipe()`, `socketpair()`, `write`, `read`, `close`. */
  readonly fds: VirtualFds;
  /** The virtual clock, in milliseconds. */
  now(): number;
  /**
   * Moves the clock forward by `ms`, stopping at every instant something falls due and running
   * the loop there, in order. Whatever is ready or due at the current instant runs first.
   * While a `0` timer exists the loop iterates once per virtual millisecond.
   * @returns how many callbacks ran.
   */
  advance(ms: number): number;
  /** Like {@link VirtualLoop.advance}, up to an absolute time. */
  advanceTo(time: number): number;
  /** Runs one pass at the current instant: due timers, then ready descriptors. @returns how many callbacks ran. */
  runOnce(): number;
  /** Runs passes at the current instant until one runs nothing, at most `maxPasses` (default 10000). */
  runUntilIdle(options?: { maxPasses?: number }): IdleResult;
  /** What the loop holds right now. */
  registrations(): Registrations;
  /** Removes every watch and timer (their free callbacks run) and refuses new ones. */
  close(): void;
}

/** Creates a {@link VirtualLoop}. */
export function createVirtualLoop(options: VirtualLoopOptions = {}): VirtualLoop {
  const clock = createVirtualClock(options.startTime, "options.startTime");
  const perInstant = options.maxPassesPerInstant ?? 1000;
  if (!Number.isInteger(perInstant) || perInstant < 1) throw new OutOfRangeError("options.maxPassesPerInstant", perInstant, "an integer >= 1");
  const fds = new VirtualFds(options);
  const poller = new VirtualPoller(fds);
  /** Counts changes to the watches: one made during a pass may find its descriptor ready at once. */
  let handleChanges = 0;
  const kernel = createKernel(
    {
      watchFd: (fd, mask) => poller.watch(fd, mask),
      // Time only moves when the test moves it, and every pass flushes: nothing to arm or schedule.
      armTimer() {},
      requestFlush() {},
    },
    {
      now: clock.now,
      onError: options.onError,
      onChange: (what) => {
        if (what === "handle") handleChanges++;
      },
    },
  );


  function runOnce(): number {
    refuseNestedPass(kernel, "runOnce");
    let ran = 0;
    kernel.pass(() => {
      // Readiness is sampled before the timers run, as poll(2) returns it before dispatch.
      const n = poller.poll();
      ran += kernel.dispatchTimers(clock.now());
      ran += kernel.dispatchHandles(poller.fds, poller.events, n);
    });
    return ran;
  }

  /**
   * Runs the current instant: passes while callbacks change descriptors or watches (either may
   * make a watch ready now), so when a watch fires does not depend on how the test splits time.
   */
  function settle(): number {
    let ran = 0;
    for (let i = 0; i < perInstant; i++) {
      const before = fds.version + handleChanges;
      ran += runOnce();
      if (fds.version + handleChanges === before) break;
    }
    return ran;
  }

  function advanceTo(target: number): number {
    refuseNestedPass(kernel, "advanceTo");
    const now = clock.now();
    if (typeof target !== "number" || !(target >= now) || !Number.isFinite(target))
      throw new OutOfRangeError("time", target, `a finite time >= the current time ${now}`);
    let ran = settle();
    for (let at = clock.now(); at < target; at = clock.now()) {
      const next = kernel.nextDeadline();
      // A deadline at or before now belongs to a 0 timer: it is due on every iteration, and the
      // virtual loop iterates once per millisecond while one exists.
      clock.advance((next <= at ? Math.min(at + 1, target) : Math.min(next, target)) - at);
      ran += settle();
    }
    return ran;
  }

  return {
    ...contractOf(kernel),
    fds,
    now: clock.now,
    advance(ms) {
      if (typeof ms !== "number" || !(ms >= 0) || !Number.isFinite(ms)) throw new OutOfRangeError("ms", ms, "a finite number >= 0");
      return advanceTo(clock.now() + ms);
    },
    advanceTo,
    runOnce,
    runUntilIdle(opts = {}) {
      refuseNestedPass(kernel, "runUntilIdle");
      const max = opts.maxPasses ?? 10000;
      if (!Number.isInteger(max) || max < 1) throw new OutOfRangeError("options.maxPasses", max, "an integer >= 1");
      let callbacks = 0;
      for (let passes = 1; passes <= max; passes++) {
        const ran = runOnce();
        callbacks += ran;
        if (ran === 0 && !kernel.pending) return { passes, callbacks, idle: true };
      }
      return { passes: max, callbacks, idle: false };
    },
    registrations: kernel.registrations,
    close: kernel.close,
  };
}
