/**
 * The typed errors of the contract. Every one carries a stable `code`; the argument errors also
 * name the argument and the value that was refused. When one of them is thrown by a loop call,
 * nothing was registered and nothing that was registered before is lost.
 */

/** Codes of the errors evloop throws, stable across versions. */
export type EvloopErrorCode =
  | "ERR_EVLOOP_INVALID_ARG"
  | "ERR_EVLOOP_OUT_OF_RANGE"
  | "ERR_EVLOOP_NO_LOOP"
  | "ERR_EVLOOP_LOOP_REGISTERED"
  | "ERR_EVLOOP_UNPOLLABLE"
  | "ERR_EVLOOP_NOT_SUPPORTED"
  | "ERR_EVLOOP_CLOSED"
  | "ERR_EVLOOP_DRIVER";

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "function") return `function ${value.name || "(anonymous)"}`;
  if (typeof value === "bigint") return `${value}n`;
  if (value === null || typeof value !== "object") return String(value);
  try {
    return JSON.stringify(value) ?? Object.prototype.toString.call(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** An argument of the wrong type: an fd that is not an integer, a callback that is not a function. */
export class InvalidArgumentError extends TypeError {
  /** Always `"ERR_EVLOOP_INVALID_ARG"`; test it rather than the class or the message. */
  readonly code = "ERR_EVLOOP_INVALID_ARG" as const;
  /** The name of the refused argument, as the API documents it (`"fd"`, `"cb"`, …). */
  readonly argument: string;
  /** The value that was refused. */
  readonly value: unknown;
  constructor(argument: string, value: unknown, expected: string) {
    super(`The "${argument}" argument must be ${expected}. Received ${describe(value)}`);
    this.name = "InvalidArgumentError";
    this.argument = argument;
    this.value = value;
  }
}

/** An argument of the right type outside its range: a negative fd, unknown event bits, an interval below -1. */
export class OutOfRangeError extends RangeError {
  /** Always `"ERR_EVLOOP_OUT_OF_RANGE"`; test it rather than the class or the message. */
  readonly code = "ERR_EVLOOP_OUT_OF_RANGE" as const;
  /** The name of the refused argument. */
  readonly argument: string;
  /** The value that was refused. */
  readonly value: unknown;
  constructor(argument: string, value: unknown, expected: string) {
    super(`The value of "${argument}" is out of range. It must be ${expected}. Received ${describe(value)}`);
    this.name = "OutOfRangeError";
    this.argument = argument;
    this.value = value;
  }
}

/**
 * A descriptor the loop cannot watch: a regular file or `/dev/null` (libuv and epoll refuse them
 * with EPERM, where poll(2) would call them ready forever). `errno` names the system's reason.
 */
export class UnpollableDescriptorError extends TypeError {
  /** Always `"ERR_EVLOOP_UNPOLLABLE"`; test it rather than the class or the message. */
  readonly code = "ERR_EVLOOP_UNPOLLABLE" as const;
  /** Always `"fd"`: the refused argument is the descriptor. */
  readonly argument = "fd" as const;
  /** The refused descriptor. */
  readonly value: number;
  /** The system's error name, for example `"EPERM"`. */
  readonly errno: string;
  constructor(fd: number, errno: string) {
    const why = errno === "EPERM" ? ": a regular file or /dev/null is always ready" : "";
    super(`The "fd" argument cannot be watched for readiness (${errno}${why}). Received ${fd}`);
    this.name = "UnpollableDescriptorError";
    this.value = fd;
    this.errno = errno;
  }
}

/** The driver-facing functions were called with no loop registered and none passed explicitly. */
export class NoEventLoopError extends Error {
  /** Always `"ERR_EVLOOP_NO_LOOP"`; test it rather than the class or the message. */
  readonly code = "ERR_EVLOOP_NO_LOOP" as const;
  constructor(operation: string) {
    super(`${operation}: no event loop registered. Call registerEventImpl(loop) first, or pass a loop explicitly.`);
    this.name = "NoEventLoopError";
  }
}

/** A second loop was registered while one is in place (libvirt-python raises too). */
export class LoopAlreadyRegisteredError extends Error {
  /** Always `"ERR_EVLOOP_LOOP_REGISTERED"`; test it rather than the class or the message. */
  readonly code = "ERR_EVLOOP_LOOP_REGISTERED" as const;
  constructor() {
    super("An event loop is already registered; call unregisterEventImpl() before registering another.");
    this.name = "LoopAlreadyRegisteredError";
  }
}

/** The loop does not offer this operation (a seed-style loop given only add and remove has no timers). */
export class NotSupportedError extends Error {
  /** Always `"ERR_EVLOOP_NOT_SUPPORTED"`; test it rather than the class or the message. */
  readonly code = "ERR_EVLOOP_NOT_SUPPORTED" as const;
  constructor(operation: string, reason: string) {
    super(`${operation} is not supported: ${reason}`);
    this.name = "NotSupportedError";
  }
}

/** The loop was closed; it accepts no new watches or timers. */
export class LoopClosedError extends Error {
  /** Always `"ERR_EVLOOP_CLOSED"`; test it rather than the class or the message. */
  readonly code = "ERR_EVLOOP_CLOSED" as const;
  constructor(operation: string) {
    super(`${operation}: the event loop is closed`);
    this.name = "LoopClosedError";
  }
}

/** A driver failed to start, stop or open; `driver` names it and `cause` holds what it threw. */
export class DriverError extends Error {
  /** Always `"ERR_EVLOOP_DRIVER"`, also in subclasses; test it rather than the class or the message. */
  readonly code = "ERR_EVLOOP_DRIVER" as const;
  /** The name of the driver concerned. */
  readonly driver: string;
  constructor(driver: string, message: string, options?: { cause?: unknown }) {
    super(`driver "${driver}": ${message}`, options);
    this.name = "DriverError";
    this.driver = driver;
  }
}
