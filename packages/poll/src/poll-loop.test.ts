import { execFile } from "node:child_process";
import { closeSync, readSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { HandleEvent, LoopClosedError, NotSupportedError, OutOfRangeError } from "@evloop/core";
import { pipe, socketpair } from "@evloop/native";
import { afterEach, describe, expect, it } from "vitest";
import { createVirtualClock } from "./clock.ts";
import { createPollLoop, type PollLoop } from "./poll-loop.ts";

const { READABLE } = HandleEvent;
const packageDir = dirname(dirname(fileURLToPath(import.meta.url)));
const node = (source: string) =>
  promisify(execFile)(process.execPath, ["--input-type=module", "-e", source], { cwd: packageDir, timeout: 30_000 });

let loop: PollLoop | undefined;
const open: number[] = [];
afterEach(() => {
  loop?.close();
  loop = undefined;
  for (const fd of open.splice(0)) closeSync(fd);
});
const pair = (make: () => [number, number]) => {
  const fds = make();
  open.push(...fds);
  return fds;
};

describe("createPollLoop", () => {
  it("returns 0 at once from runOnce() when nothing is registered, instead of blocking forever", () => {
    loop = createPollLoop();
    const start = performance.now();
    expect(loop.runOnce()).toBe(0);
    expect(performance.now() - start).toBeLessThan(1000);
  });

  it("runOnce(0) does not block; runOnce(ms) waits at most that long when nothing happens", () => {
    loop = createPollLoop();
    const [r] = pair(pipe);
    loop.addHandle(r, READABLE, () => {});
    expect(loop.runOnce(0)).toBe(0);
    const start = performance.now();
    expect(loop.runOnce(30)).toBe(0);
    const waited = performance.now() - start;
    expect(waited).toBeGreaterThanOrEqual(25);
  });

  it("runOnce() dispatches what is ready and returns how many callbacks ran", () => {
    loop = createPollLoop();
    const [a, b] = pair(socketpair);
    const [c, d] = pair(socketpair);
    const got: number[] = [];
    loop.addHandle(a, READABLE, (_w, fd) => void got.push(fd));
    loop.addHandle(c, READABLE, (_w, fd) => void got.push(fd));
    writeSync(b, "x");
    writeSync(d, "y");
    expect(loop.runOnce()).toBe(2);
    expect(got.sort()).toEqual([a, c].sort());
  });

  it("waits no longer than the next timer, then fires it", () => {
    loop = createPollLoop();
    let fired = 0;
    loop.addTimeout(20, () => void fired++);
    const start = performance.now();
    while (fired === 0) loop.runOnce();
    expect(performance.now() - start).toBeGreaterThanOrEqual(15);
  });

  it("run() stops when until() holds, when the signal aborts, and when nothing is left to wait for", () => {
    loop = createPollLoop();
    let ticks = 0;
    const t = loop.addTimeout(1, () => void ticks++);
    loop.run({ until: () => ticks >= 3 });
    expect(ticks).toBe(3);
    const controller = new AbortController();
    const stopper = loop.addTimeout(5, () => controller.abort());
    loop.run({ signal: controller.signal });
    expect(controller.signal.aborted).toBe(true);
    loop.removeTimeout(t);
    loop.removeTimeout(stopper);
    // Nothing is left to wait for: run() returns instead of blocking forever.
    loop.run();
  });

  it("interrupt() from a callback wakes the wait at once", () => {
    loop = createPollLoop();
    const [a, b] = pair(socketpair);
    loop.addHandle(a, READABLE, () => {
      readSync(a, Buffer.alloc(8));
      loop?.interrupt();
    });
    writeSync(b, "x");
    loop.runOnce();
    const start = performance.now();
    // The interrupt is still pending: this wait returns at once instead of after 5 s.
    loop.runOnce(5000);
    expect(performance.now() - start).toBeLessThan(1000);
  });

  it("interrupt() from a timer ends the wait of the pass after it at once", () => {
    loop = createPollLoop();
    const [r] = pair(pipe);
    loop.addHandle(r, READABLE, () => {});
    const t = loop.addTimeout(5, () => {
      loop?.removeTimeout(t);
      loop?.interrupt();
    });
    while (loop.registrations().timers.length > 0) loop.runOnce();
    const start = performance.now();
    loop.runOnce(5000);
    expect(performance.now() - start).toBeLessThan(1000);
  });

  it("wakes a blocked runOnce from another thread through wakeFd, and a signal handler does not break the wait", async () => {
    const { stdout } = await node(`
      import { Worker } from "node:worker_threads";
      import { createPollLoop } from "@evloop/poll";
      import { pipe } from "@evloop/native";
      const loop = createPollLoop();
      const [r] = pipe();
      loop.addHandle(r, 1, () => {});
      let signals = 0;
      process.on("SIGUSR2", () => signals++);
      // A worker writes to the wake-up descriptor after 200 ms; a signal arrives at 50 ms.
      const worker = new Worker(
        "Promise.all([import('node:fs'), import('node:worker_threads')]).then(([fs, wt]) =>" +
        " setTimeout(() => fs.writeSync(wt.workerData, Buffer.of(1)), 200));",
        { eval: true, workerData: loop.wakeFd });
      // Let the worker start before the main thread blocks.
      await new Promise((r) => setTimeout(r, 50));
      const start = performance.now();
      process.kill(process.pid, "SIGUSR2");
      const ran = loop.runOnce(10000);
      const waited = performance.now() - start;
      await worker.terminate();
      await new Promise((r) => setImmediate(r));
      loop.close();
      console.log(JSON.stringify({ ran, woke: waited < 5000, waitedPastSignal: waited > 100, signals }));
    `);
    expect(JSON.parse(stdout)).toEqual({ ran: 0, woke: true, waitedPastSignal: true, signals: 1 });
  });

  it("runs real descriptors on an injected virtual clock: timers fire when the clock says, never by waiting", () => {
    const clock = createVirtualClock();
    loop = createPollLoop({ clock });
    const [a, b] = pair(socketpair);
    const log: string[] = [];
    loop.addTimeout(1000, () => void log.push(`timer@${clock.now()}`));
    loop.addHandle(a, READABLE, () => {
      readSync(a, Buffer.alloc(8));
      log.push(`read@${clock.now()}`);
    });
    // Nothing is ready and the timer is not due on the virtual clock: runOnce() returns at once.
    expect(loop.runOnce(0)).toBe(0);
    writeSync(b, "x");
    loop.runOnce();
    clock.advance(999);
    loop.runOnce(0);
    clock.advance(1);
    loop.runOnce(0);
    expect(log).toEqual(["read@0", "timer@1000"]);
  });

  it("refuses runOnce() and run() from inside one of its own callbacks", () => {
    loop = createPollLoop();
    const refused: unknown[] = [];
    const t = loop.addTimeout(0, () => {
      loop?.removeTimeout(t);
      for (const nested of [() => loop?.runOnce(0), () => loop?.run()]) {
        try {
          nested();
        } catch (error) {
          refused.push(error);
        }
      }
    });
    loop.runOnce();
    expect(refused.map((e) => e instanceof NotSupportedError)).toEqual([true, true]);
  });

  it("refuses a negative timeout and any use after close()", () => {
    loop = createPollLoop();
    expect(() => loop?.runOnce(-1)).toThrow(OutOfRangeError);
    loop.close();
    expect(() => loop?.runOnce(0)).toThrow(LoopClosedError);
    expect(() => loop?.addTimeout(1, () => {})).toThrow(LoopClosedError);
  });
});
