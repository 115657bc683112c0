import { randomUUID } from "node:crypto";
import { DriverError, formatUuid, parseUuid } from "@evloop/core";

/**
 * Signals that end a process when it does not handle them, and that a guest may be told to die
 * of. Stop and continue signals are left out (they do not end it), and so are the signals Node
 * itself takes over in the guest (SIGPIPE is ignored, SIGUSR1 starts the inspector).
 */
export const TERMINATING_SIGNALS = [
  "SIGKILL",
  "SIGTERM",
  "SIGINT",
  "SIGHUP",
  "SIGQUIT",
  "SIGABRT",
  "SIGSEGV",
  "SIGBUS",
  "SIGILL",
  "SIGFPE",
  "SIGUSR2",
  "SIGALRM",
] as const satisfies readonly NodeJS.Signals[];

/** One of {@link TERMINATING_SIGNALS}. */
export type TerminatingSignal = (typeof TERMINATING_SIGNALS)[number];

/**
 * What the built-in guest (the small Node program shipped in the package's `guest/` folder, which
 * stands in for a virtual machine) does. Every field is optional: by default it boots, writes a
 * status line every 100 ms and runs until the driver stops it. Whatever its behaviour, it exits
 * with code 141 at the first status line it cannot write because the daemon's end of its monitor
 * channel is closed (the daemon is gone), so it never outlives the daemon by more than an interval.
 */
export interface GuestBehaviour {
  /** Milliseconds between the status lines it writes to its monitor channel (default 100). */
  readonly statusIntervalMs?: number;
  /** When given, the guest ends by itself this many milliseconds after it booted, as `exit` says. */
  readonly lifetimeMs?: number;
  /**
   * How a guest with a `lifetimeMs` ends: `{ code }` exits with that code, `{ signal }` is killed
   * by that signal (a crash). Default `{ code: 0 }`, a clean shutdown from inside the guest.
   */
  readonly exit?:
    | {
        /** The exit code, from 0 to 255. */
        readonly code: number;
      }
    | {
        /** The signal the guest is killed by. */
        readonly signal: TerminatingSignal;
      };
}

/** The canonical form of a uuid in any form {@link parseUuid} reads, or `undefined` for anything else. */
export function canonicalUuid(text: unknown): string | undefined {
  try {
    return formatUuid(parseUuid(text as string));
  } catch {
    return undefined;
  }
}

/**
 * A domain as the driver keeps it: a name, a uuid, whether the daemon starts it, and what runs.
 * Without `command` the domain runs the built-in guest (see {@link GuestBehaviour}); with it, the
 * program `command[0]` with arguments `command.slice(1)` (found on `PATH` like a shell would), for
 * example QEMU. Either way the child gets its monitor channel as descriptor 3 and may write status
 * lines to it; the driver learns the domain went away when that channel hangs up, or when the
 * child exits, whichever it sees first. The domain is the child the driver spawned: a program that
 * forks and exits (`qemu -daemonize`) ends its domain when it exits, so run it in the foreground.
 */
export interface DomainDefinition {
  /** A unique name: letters, digits and `._+-`, at most 64 characters. */
  readonly name: string;
  /** A unique uuid in any form {@link parseUuid} reads; a random one when omitted. */
  readonly uuid?: string;
  /** Whether the daemon starts the domain when the driver starts up (default `false`). */
  readonly autostart?: boolean;
  /** The program and its arguments, instead of the built-in guest. */
  readonly command?: readonly string[];
  /** Variables added to the child's environment (the daemon's environment is inherited). */
  readonly env?: Readonly<Record<string, string>>;
  /** What the built-in guest does; only without `command`. */
  readonly guest?: GuestBehaviour;
  /**
   * When the domain counts as started (STARTED BOOTED): `"status"`, at the first status line its
   * child writes to the monitor channel, or `"spawn"`, as soon as the program runs. The default is
   * `"status"` for the built-in guest, which writes `booted` once it handles SIGTERM, and
   * `"spawn"` with a `command`, which may never write a line.
   */
  readonly ready?: "status" | "spawn";
}

/** A definition after validation: the uuid is canonical, and every default is filled in. */
export interface ValidDefinition extends DomainDefinition {
  readonly uuid: string;
  readonly autostart: boolean;
  readonly ready: "status" | "spawn";
}

/** Why the driver refused a request, as {@link DomainError.reason} names it. */
export type DomainErrorReason =
  /** The definition is malformed: a missing or empty name or command, a bad uuid or guest field. */
  | "invalid-definition"
  /** Another domain has this name. */
  | "duplicate-name"
  /** Another domain has this uuid. */
  | "duplicate-uuid"
  /** No domain has this name or uuid. */
  | "no-such-domain"
  /** The domain is not in a state that allows the request (starting a running domain, …). */
  | "invalid-state"
  /** The child could not be started: its program is missing or not executable. `cause` says why. */
  | "spawn-failed"
  /** The connection was closed, or the driver is not running in a daemon. */
  | "not-running";

/**
 * A request about a domain that the process driver refused. It is a {@link DriverError} (code
 * `ERR_EVLOOP_DRIVER`) that also names the domain and the reason; nothing changed when it is
 * thrown.
 */
export class DomainError extends DriverError {
  /** The domain's name (or the name or uuid that was asked for). */
  readonly domain: string;
  /** Why the request was refused. */
  readonly reason: DomainErrorReason;
  constructor(driver: string, domain: string, reason: DomainErrorReason, message: string, options?: { cause?: unknown }) {
    super(driver, `domain "${domain}": ${message}`, options);
    this.name = "DomainError";
    this.domain = domain;
    this.reason = reason;
  }
}

const NAME = /^[A-Za-z0-9._+-]{1,64}$/;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
const isCount = (value: unknown): value is number => Number.isInteger(value) && (value as number) >= 0;

/** Checks a guest behaviour; returns what is wrong with it, or `undefined`. */
function guestProblem(guest: unknown): string | undefined {
  if (!isObject(guest)) return "guest must be an object";
  if (guest.statusIntervalMs !== undefined && !(isCount(guest.statusIntervalMs) && guest.statusIntervalMs > 0))
    return "guest.statusIntervalMs must be a positive integer";
  if (guest.lifetimeMs !== undefined && !isCount(guest.lifetimeMs)) return "guest.lifetimeMs must be an integer >= 0";
  const exit = guest.exit;
  if (exit === undefined) return undefined;
  if (guest.lifetimeMs === undefined) return "guest.exit needs guest.lifetimeMs: a guest without a lifetime runs until it is stopped";
  if (!isObject(exit)) return "guest.exit must be { code } or { signal }";
  if ("signal" in exit) {
    if ((TERMINATING_SIGNALS as readonly unknown[]).includes(exit.signal)) return undefined;
    return `guest.exit.signal must be one of ${TERMINATING_SIGNALS.join(", ")}`;
  }
  if (!(isCount(exit.code) && exit.code <= 255)) return "guest.exit.code must be an integer from 0 to 255";
  return undefined;
}

/**
 * Validates a definition and fills in its uuid. Throws a {@link DomainError} with reason
 * `invalid-definition` naming the first problem found.
 */
export function validateDefinition(driver: string, definition: unknown): ValidDefinition {
  const refuse = (name: string, problem: string): never => {
    throw new DomainError(driver, name, "invalid-definition", problem);
  };
  if (!isObject(definition)) return refuse(String(definition), "a definition must be an object with at least a name");
  const { name, uuid, autostart, command, env, guest, ready } = definition;
  if (typeof name !== "string" || !NAME.test(name))
    return refuse(String(name), "name must be 1 to 64 letters, digits or ._+- characters");
  const canonical = uuid === undefined ? randomUUID() : canonicalUuid(uuid);
  if (canonical === undefined) return refuse(name, `uuid ${JSON.stringify(uuid)} is not a uuid such as 4dea22b3-1d52-d8f3-2516-782e98ab3fa0`);
  if (autostart !== undefined && typeof autostart !== "boolean") refuse(name, "autostart must be a boolean");
  if (command !== undefined) {
    if (!Array.isArray(command) || command.length === 0 || command.some((part) => typeof part !== "string"))
      refuse(name, "command must be a non-empty array of strings: the program, then its arguments");
    if ((command as string[])[0] === "") refuse(name, "command[0] must name the program to run");
    if (guest !== undefined) refuse(name, "guest describes the built-in guest and cannot go with a command");
  }
  if (env !== undefined && !(isObject(env) && Object.values(env).every((v) => typeof v === "string")))
    refuse(name, "env must be an object of strings");
  if (ready !== undefined && ready !== "status" && ready !== "spawn") refuse(name, 'ready must be "status" or "spawn"');
  const problem = guest === undefined ? undefined : guestProblem(guest);
  if (problem !== undefined) refuse(name, problem);
  return Object.freeze({
    ...(definition as unknown as DomainDefinition),
    name,
    uuid: canonical,
    autostart: autostart === true,
    ready: (ready as ValidDefinition["ready"] | undefined) ?? (command === undefined ? "status" : "spawn"),
    ...(command === undefined ? {} : { command: Object.freeze([...(command as string[])]) }),
  });
}
