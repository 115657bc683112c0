// The guest: a small Node program that stands in for a virtual machine, so the process driver runs
// anywhere. It speaks on its monitor channel (descriptor 3, which the driver hands it) in status
// lines, shuts down cleanly on SIGTERM, and, when told to, ends by itself after a while: with an
// exit code, or killed by a signal as a crashing emulator would be. It ends by itself too, with
// exit code 141, when its monitor channel is closed at the other end: nobody watches it any more.
//
// Usage: node guest.mjs '{"statusIntervalMs":100,"lifetimeMs":30,"exit":{"signal":"SIGKILL"}}'
// (the JSON is a GuestBehaviour; every field is optional). The driver validated it already.
import { writeSync } from "node:fs";

const MONITOR = 3;
/** The exit code of a guest whose daemon went away (as a shell's 128 + SIGPIPE). */
const EXIT_ORPHANED = 141;
const behaviour = JSON.parse(process.argv[2] ?? "{}");
let beats = 0;

function say(line) {
  try {
    writeSync(MONITOR, `${line}\n`);
  } catch (error) {
    // The driver's end is closed: the daemon is gone (it crashed, or gave up on this guest), and a
    // virtual machine nobody watches must not run on as an orphan.
    if (error.code === "EPIPE" || error.code === "ECONNRESET") process.exit(EXIT_ORPHANED);
    // A full channel (the daemon is slow to read) only costs a status line.
  }
}

process.on("SIGTERM", () => {
  say("shutting down");
  process.exit(0);
});

// Only now: the driver counts the guest as started at its first line, and may ask it to shut down.
say("booted");
const heartbeat = setInterval(() => say(`running ${++beats}`), behaviour.statusIntervalMs ?? 100);

if (behaviour.lifetimeMs !== undefined) {
  setTimeout(() => {
    clearInterval(heartbeat);
    const exit = behaviour.exit ?? { code: 0 };
    if (exit.signal === undefined) process.exit(exit.code);
    say(`killed by ${exit.signal}`);
    // Our own SIGTERM handler would turn the signal into a clean exit.
    process.removeAllListeners("SIGTERM");
    process.kill(process.pid, exit.signal);
  }, behaviour.lifetimeMs);
}
