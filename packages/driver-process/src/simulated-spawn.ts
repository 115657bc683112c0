import type { EventLoopImpl } from "@evloop/core";
import { readAvailable, type DomainProcess, type ProcessExit, type Spawn } from "./child.ts";

/**
 * What a simulation needs from its loop: the contract's timers, and in-memory descriptors. The
 * virtual loop of `@evloop/poll` is one (`createVirtualLoop()`): its `fds` are the descriptors,
 * and its clock is the children's clock.
 */
export interface SimulationHost extends Pick<EventLoopImpl, "addTimeout" | "removeTimeout"> {
  /** In-memory descriptors that the host's loop watches. */
  readonly fds: {
    /** Makes a pipe: the child writes status lines to `writeFd`, the driver reads `readFd`. */
    pipe(): [readFd: number, writeFd: number];
    /** Writes to a pipe's writing end; returns how many bytes fitted. Throws `{ code: "EPIPE" }` once the reading end is closed. */
    write(fd: number, data: string): number;
    /** Reads what is buffered: an empty array at end of stream; throws `{ code: "EAGAIN" }` when nothing is buffered. */
    read(fd: number): Uint8Array;
    /** Closes a descriptor. */
    close(fd: number): void;
  };
}

/**
 * A {@link Spawn} whose children are simulated on `host`'s descriptors and clock, so a scenario
 * runs instantly and identically on every run. A simulated child behaves as the built-in guest
 * does (see {@link GuestBehaviour}): it writes `booted` and then a status line every interval to
 * a pipe, ends by itself after its lifetime when it has one, and answers signals as a process
 * does: SIGSTOP freezes it (its timers wait, signals other than SIGKILL stay pending) until
 * SIGCONT, SIGTERM makes it shut down cleanly, any other signal kills it; it exits with code 141
 * when the driver's end of its pipe is closed. A definition with a
 * `command` is refused: only the guest is simulated.
 */
export function simulatedSpawn(host: SimulationHost): Spawn {
  return async (definition) => {
    if (definition.command !== undefined)
      throw Object.assign(new Error(`spawn ${definition.command[0]}: a simulated child can only be the built-in guest`), { code: "ENOTSUP" });
    const guest = definition.guest ?? {};
    const [monitor, writeEnd] = host.fds.pipe();
    let settle!: (exit: ProcessExit) => void;
    const exited = new Promise<ProcessExit>((resolve) => (settle = resolve));
    let ended = false;
    let stopped = false;
    /** What happens when the child is continued: a signal that arrived while it was stopped, or its lifetime running out. */
    let pending: (() => void) | undefined;
    let beats = 0;
    const timers: number[] = [];

    const say = (line: string): void => {
      try {
        host.fds.write(writeEnd, `${line}\n`);
      } catch (error) {
        // As the guest: the driver's end is closed, nobody watches it any more.
        if ((error as { code?: unknown }).code === "EPIPE") end({ code: 141, signal: null });
        else throw error;
      }
    };
    const end = (exit: ProcessExit): void => {
      if (ended) return;
      ended = true;
      for (const timer of timers) host.removeTimeout(timer);
      // The kernel closes a dead process's descriptors: the driver's end hangs up.
      host.fds.close(writeEnd);
      settle(exit);
    };
    const lifetimeOver = (): void => {
      const exit = guest.exit ?? { code: 0 };
      if ("signal" in exit) {
        say(`killed by ${exit.signal}`);
        end({ code: null, signal: exit.signal });
      } else end({ code: exit.code, signal: null });
    };
    const terminate = (): void => {
      say("shutting down");
      end({ code: 0, signal: null });
    };

    say("booted");
    timers.push(
      host.addTimeout(guest.statusIntervalMs ?? 100, () => {
        // A stopped process's interval timer does not catch up: its beats are simply missed.
        if (!stopped) say(`running ${++beats}`);
      }),
    );
    if (guest.lifetimeMs !== undefined) {
      const lifetime = host.addTimeout(guest.lifetimeMs, () => {
        host.removeTimeout(lifetime);
        if (stopped) pending ??= lifetimeOver;
        else lifetimeOver();
      });
      timers.push(lifetime);
    }

    return {
      monitor,
      read: () => readAvailable(() => host.fds.read(monitor)),
      close: () => host.fds.close(monitor),
      kill(signal) {
        if (ended) return false;
        if (signal === "SIGKILL") end({ code: null, signal });
        else if (signal === "SIGSTOP") stopped = true;
        else if (signal === "SIGCONT") {
          stopped = false;
          const next = pending;
          pending = undefined;
          next?.();
        } else if (stopped) pending = signal === "SIGTERM" ? terminate : () => end({ code: null, signal });
        else if (signal === "SIGTERM") terminate();
        else end({ code: null, signal });
        return true;
      },
      exited,
    } satisfies DomainProcess;
  };
}
