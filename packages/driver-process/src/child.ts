import type { ValidDefinition } from "./definition.ts";

/** How a child ended, as Node's process record has it: exactly one of the two is non-null. */
export interface ProcessExit {
  /** The exit code, when the process exited. */
  readonly code: number | null;
  /** The signal that killed it, when one did. */
  readonly signal: NodeJS.Signals | null;
}

/**
 * Calls `read` on a non-blocking descriptor and answers as {@link DomainProcess.read} does: what
 * it read, or `null` when it failed with EAGAIN (nothing is buffered now).
 */
export function readAvailable(read: () => Uint8Array): Uint8Array | null {
  try {
    return read();
  } catch (error) {
    if ((error as { code?: unknown }).code === "EAGAIN") return null;
    throw error;
  }
}

/** How a child ended, in words: `exit code 3`, or `killed by SIGKILL`. */
export function describeExit(exit: ProcessExit): string {
  return exit.signal === null ? `exit code ${exit.code}` : `killed by ${exit.signal}`;
}

/**
 * A domain's running child, as the driver sees it: the parent's end of the monitor channel, and
 * the process record. A {@link Spawn} function makes one; the driver never touches the child by
 * any other way, so the same driver code runs real processes ({@link spawnProcess}) and simulated
 * ones ({@link simulatedSpawn}).
 */
export interface DomainProcess {
  /** The process id, when there is a real process. */
  readonly pid?: number;
  /**
   * The parent's end of the monitor channel: a non-blocking descriptor of the loop the driver
   * runs on. The driver watches it with `addHandle` only; it hangs up when the child (and
   * whatever inherited the child's end) is gone.
   */
  readonly monitor: number;
  /**
   * Reads what the channel has buffered: the bytes, an empty array at end of stream (the child's
   * end is closed), or `null` when nothing is buffered now.
   */
  read(): Uint8Array | null;
  /**
   * Closes the parent's end of the monitor channel. The driver calls it once, when it lets the
   * channel go: at its hang-up, at the child's exit if that comes first, or when it gives up on a
   * child that does not end.
   */
  close(): void;
  /** Sends `signal` to the child; returns `false` when it has already exited. */
  kill(signal: NodeJS.Signals): boolean;
  /** Settles once the child has exited, with the code or signal from its process record. */
  readonly exited: Promise<ProcessExit>;
}

/**
 * How the driver starts a domain's child: it resolves once the child runs, or rejects (with the
 * system's error, such as ENOENT for a missing program) when it cannot be started, in which case
 * nothing is left open.
 */
export type Spawn = (definition: ValidDefinition) => Promise<DomainProcess>;
