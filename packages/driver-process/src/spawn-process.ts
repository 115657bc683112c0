import { spawn } from "node:child_process";
import { closeSync, readSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { socketpair } from "@evloop/native";
import { readAvailable, type DomainProcess, type ProcessExit, type Spawn } from "./child.ts";
import type { ValidDefinition } from "./definition.ts";

/** The descriptor number a child finds its monitor channel on (the first after stdin, stdout, stderr). */
export const MONITOR_FD = 3;

/** The built-in guest program, beside `src/` and `dist/` so it runs from either. */
export const GUEST_SCRIPT: string = fileURLToPath(new URL("../guest/guest.mjs", import.meta.url));

/** What runs for a definition: its command, or Node running the built-in guest with its behaviour. */
export function commandLine(definition: ValidDefinition): [file: string, args: string[]] {
  if (definition.command !== undefined) {
    const [file, ...args] = definition.command;
    return [file as string, args];
  }
  return [process.execPath, [GUEST_SCRIPT, JSON.stringify(definition.guest ?? {})]];
}

/**
 * The real {@link Spawn}: a child process whose monitor channel is one end of a socket pair made
 * with `@evloop/native`, handed to it as descriptor 3. The parent keeps the other end and closes
 * its copy of the child's end at once, so the channel hangs up exactly when the child (and
 * whatever inherited the descriptor from it) is gone; the driver does not wait for what the
 * child leaves behind, it also ends the domain at the child's exit. stdout and stderr are the
 * daemon's.
 *
 * Node reaps the child itself and keeps its exit code or signal in the `ChildProcess` record;
 * `exited` resolves from it.
 */
export const spawnProcess: Spawn = (definition) => {
  const [file, args] = commandLine(definition);
  // Both ends are close-on-exec: only the descriptor passed in `stdio` reaches the child, where
  // libuv dup2()s it onto descriptor 3 (which clears close-on-exec for that copy alone).
  const [parentEnd, childEnd] = socketpair();
  let child;
  try {
    child = spawn(file, args, {
      stdio: ["ignore", "inherit", "inherit", childEnd],
      env: { ...process.env, ...definition.env },
    });
  } catch (error) {
    closeSync(parentEnd);
    throw error;
  } finally {
    // The child has its copy by now (spawn returns after fork and exec, or after they failed).
    closeSync(childEnd);
  }
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once("exit", () => resolve({ code: child.exitCode, signal: child.signalCode }));
  });
  const buffer = Buffer.alloc(16384);
  const domainProcess: DomainProcess = {
    ...(child.pid === undefined ? {} : { pid: child.pid }),
    monitor: parentEnd,
    read: () => readAvailable(() => Uint8Array.prototype.slice.call(buffer, 0, readSync(parentEnd, buffer, 0, buffer.length, null))),
    close: () => closeSync(parentEnd),
    kill: (signal) => child.exitCode === null && child.signalCode === null && child.kill(signal),
    exited,
  };
  return new Promise((resolve, reject) => {
    let spawned = false;
    child.once("spawn", () => {
      spawned = true;
      resolve(domainProcess);
    });
    // Always listened to: an 'error' nobody listens to would be thrown and take the daemon down.
    child.on("error", (error) => {
      // After 'spawn' it is a signal that could not be sent; kill() already says so by returning false.
      if (spawned) return;
      // No 'spawn' came: the program could not be executed, and there is no child to watch.
      closeSync(parentEnd);
      reject(error);
    });
  });
};
