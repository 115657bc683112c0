import { OutOfRangeError } from "@evloop/core";

/** A source of time in milliseconds that only moves forward. */
export interface Clock {
  /** The current time in milliseconds from an arbitrary origin; never less than an earlier reading. */
  now(): number;
}

/** A clock that moves only when told: for running real descriptors on virtual time. */
export interface VirtualClock extends Clock {
  /** Moves the clock forward by `ms`. */
  advance(ms: number): void;
}

/** The real monotonic clock (`performance.now()`). */
export const monotonicClock: Clock = { now: () => performance.now() };

/**
 * Creates a {@link VirtualClock} starting at `start` milliseconds (default 0). `argument` names
 * `start` in the error a bad value gets (for a caller that takes it as an option of its own).
 */
export function createVirtualClock(start = 0, argument = "start"): VirtualClock {
  if (typeof start !== "number" || !Number.isFinite(start)) throw new OutOfRangeError(argument, start, "a finite number");
  let time = start;
  return {
    now: () => time,
    advance(ms) {
      if (typeof ms !== "number" || !(ms >= 0) || !Number.isFinite(ms)) throw new OutOfRangeError("ms", ms, "a finite number >= 0");
      time += ms;
    },
  };
}
