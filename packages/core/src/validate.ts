import { InvalidArgumentError, OutOfRangeError } from "./errors.ts";
import { ALL_HANDLE_EVENTS } from "./handle-event.ts";

/**
 * Argument checks of the contract, for adapters and wrappers to run before they register
 * anything. Each throws the typed error the contract names, with the argument's name and value.
 */

const MAX_FD = 0x7fffffff;

/** Checks a file descriptor: an integer from 0 to 2^31-1. */
export function assertFd(fd: unknown, argument = "fd"): asserts fd is number {
  if (typeof fd !== "number" || !Number.isInteger(fd)) throw new InvalidArgumentError(argument, fd, "an integer file descriptor");
  if (fd < 0 || fd > MAX_FD) throw new OutOfRangeError(argument, fd, `>= 0 and <= ${MAX_FD}`);
}

/** Checks an event mask: an integer made only of {@link HandleEvent} bits. */
export function assertEvents(events: unknown, argument = "events"): asserts events is number {
  if (typeof events !== "number" || !Number.isInteger(events)) throw new InvalidArgumentError(argument, events, "an integer mask of HandleEvent bits");
  if (events < 0 || (events & ~ALL_HANDLE_EVENTS) !== 0) throw new OutOfRangeError(argument, events, "a combination of HandleEvent bits (0 to 15)");
}

/** Checks a timer interval: an integer >= -1 (milliseconds). */
export function assertInterval(intervalMs: unknown, argument = "intervalMs"): asserts intervalMs is number {
  if (typeof intervalMs !== "number" || !Number.isInteger(intervalMs)) throw new InvalidArgumentError(argument, intervalMs, "an integer number of milliseconds");
  if (intervalMs < -1 || intervalMs > 0x7fffffff) throw new OutOfRangeError(argument, intervalMs, `>= -1 and <= ${0x7fffffff}`);
}

/** Checks a required callback. */
export function assertCallback(cb: unknown, argument = "cb"): asserts cb is (...args: never[]) => unknown {
  if (typeof cb !== "function") throw new InvalidArgumentError(argument, cb, "a function");
}

/** Checks an optional callback: `undefined` or a function. */
export function assertOptionalCallback(cb: unknown, argument: string): asserts cb is ((...args: never[]) => unknown) | undefined {
  if (cb !== undefined && typeof cb !== "function") throw new InvalidArgumentError(argument, cb, "a function or undefined");
}

/** Checks a watch or timer id handed back to update or remove: any number is accepted (unknown ids are no-ops), other types are refused. */
export function assertId(id: unknown, argument: string): asserts id is number {
  if (typeof id !== "number") throw new InvalidArgumentError(argument, id, "a number");
}
