// The guest: a small Node program that stands in for a virtual machine, so the process driver runs
// anywhere. It speaks on its monitor channel (descriptor 3, which the driver hands it) in status
// lines, shuts down cleanly on SIGTERM, and, when told to, ends by itself after a while: with an
// exit code, or killed by a signal as a crashing emulator would be.
//
// Usage: node guest.mjs '{"statusIntervalMs":100,"lifetimeMs":30,"exit":{"signal":"SIGKILL"}}'
// (the JSON is a GuestBehaviour; every field is optional). The driver validated it already.
import { writeSync } from "node:fs";

const MONITOR = 3;
const behaviour = JSON.parse(process.argv[2] ?? "{}");
let beats = 0;

function say(line) {
  try {
    writeSync(MONITOR, `${line}\n`);
  } catch {
    // The driver reads its end until it hangs up; a full or closed channel only costs a status line.
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
