import { spawn, spawnSync } from "node:child_process";
import { closeSync, openSync, readSync, writeSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import { packageRoot } from "./binding.ts";
import { pipe, socketpair } from "./descriptors.ts";
import { createFdWaiter, type FdWaiter, type FdWaiterOptions } from "./fd-waiter.ts";

const READABLE = 1;
const WRITABLE = 2;
const ERROR = 4;
const HANGUP = 8;

const opened: FdWaiter[] = [];
const fds: number[] = [];
function waiter(options?: FdWaiterOptions): FdWaiter {
  const w = createFdWaiter(options);
  opened.push(w);
  return w;
}
/** Descriptors made for a test and closed after it (an already closed one is skipped). */
function track<T extends number[]>(pair: T): T {
  fds.push(...pair);
  return pair;
}
afterEach(() => {
  for (const w of opened.splice(0)) w.close();
  for (const fd of fds.splice(0)) {
    try {
      closeSync(fd);
    } catch {
      // closed by the test itself
    }
  }
});

/** Waits once and returns the reports as [fd, events] pairs, sorted by descriptor. */
function waitReports(w: FdWaiter, timeoutMs: number): Array<[number, number]> {
  const n = w.wait(timeoutMs);
  const reports: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) reports.push([w.fds[i] as number, w.events[i] as number]);
  return reports.sort((x, y) => x[0] - y[0]);
}

function timed<T>(fn: () => T): [T, number] {
  const start = performance.now();
  const result = fn();
  return [result, performance.now() - start];
}

/** Runs a CommonJS script in a fresh Node process with `native` bound to the raw addon. */
function runScript(source: string, timeout = 20_000) {
  const prelude = `const native = require("node-gyp-build")(${JSON.stringify(packageRoot)}); const fs = require("node:fs");\n`;
  return spawnSync(process.execPath, ["-e", prelude + source], { cwd: packageRoot, encoding: "utf8", timeout });
}

describe("createFdWaiter", () => {
  it("uses epoll on Linux", () => {
    expect(waiter().backend).toBe(process.platform === "linux" ? "epoll" : "poll");
  });

  it("returns 0 at once from wait(0) when nothing is ready", () => {
    const w = waiter();
    const [a] = track(socketpair());
    w.watch(a, READABLE);
    const [count, ms] = timed(() => w.wait(0));
    expect(count).toBe(0);
    expect(ms).toBeLessThan(1000); // "does not block": anything near a second would be a hang
  });

  it("reports READABLE and WRITABLE, merged into one report per descriptor", () => {
    const w = waiter();
    const [a, b] = track(socketpair());
    w.watch(a, READABLE | WRITABLE);
    expect(waitReports(w, 1000)).toEqual([[a, WRITABLE]]);
    writeSync(b, "x");
    expect(waitReports(w, 1000)).toEqual([[a, READABLE | WRITABLE]]);
    // Level-triggered: still readable until read.
    expect(waitReports(w, 0)).toEqual([[a, READABLE | WRITABLE]]);
    readSync(a, Buffer.alloc(1));
    w.watch(a, READABLE);
    expect(waitReports(w, 0)).toEqual([]);
  });

  it("times out after the given time with nothing ready", () => {
    const w = waiter();
    const [a] = track(socketpair());
    w.watch(a, READABLE);
    const [count, ms] = timed(() => w.wait(50));
    expect(count).toBe(0);
    expect(ms).toBeGreaterThanOrEqual(49);
  });

  it("wakes a wait at once after interrupt(), even one called before the wait, and coalesces repeats", () => {
    const w = waiter();
    w.interrupt();
    w.interrupt();
    const [count, ms] = timed(() => w.wait(-1));
    expect(count).toBe(0);
    expect(ms).toBeLessThan(5000);
    expect(w.wait(0)).toBe(0); // both interrupts were consumed by one wake-up
  });

  it("wakes a blocked wait when another thread writes one byte to wakeFd", async () => {
    const w = waiter();
    const worker = new Worker(
      `
      const { workerData } = require("node:worker_threads");
      setTimeout(() => require("node:fs").writeSync(workerData.wakeFd, new Uint8Array(1)), 100);
      `,
      { eval: true, workerData: { wakeFd: w.wakeFd } },
    );
    const exited = new Promise((resolve) => worker.once("exit", resolve));
    await new Promise((resolve) => worker.once("online", resolve));
    const [count, ms] = timed(() => w.wait(10_000)); // blocks this thread until the worker writes
    expect(count).toBe(0);
    expect(ms).toBeLessThan(9_000);
    expect(await exited).toBe(0);
  });

  const unpollable: Array<[string, () => number]> = [["a regular file", () => openSync(new URL(import.meta.url), "r")]];
  // poll(2), used off Linux, cannot tell a character device that is always ready from a terminal.
  if (process.platform === "linux") unpollable.push(["/dev/null", () => openSync("/dev/null", "r")]);
  it.each(unpollable)("refuses %s with an EPERM error and registers nothing", (_name, open) => {
    const w = waiter();
    const fd = track([open()])[0] as number;
    let thrown: unknown;
    try {
      w.watch(fd, READABLE);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({
      code: "EPERM",
      errno: expect.any(Number),
      syscall: w.backend === "epoll" ? "epoll_ctl" : "poll",
    });
    expect(w.wait(0)).toBe(0);
  });

  it("reports a descriptor that is not open as ERROR from the next wait, once", () => {
    const w = waiter();
    const notOpen = 3002;
    expect(() => w.watch(notOpen, READABLE)).not.toThrow();
    expect(waitReports(w, -1)).toEqual([[notOpen, ERROR]]);
    expect(waitReports(w, 20)).toEqual([]);
    w.watch(notOpen, 0);
  });

  it("drops a pending report when the watch is removed first", () => {
    const w = waiter();
    w.watch(3003, READABLE);
    w.watch(3003, 0);
    expect(waitReports(w, 0)).toEqual([]);
  });

  it("stops at once on watch(fd, 0): the number can be closed and reused without reports", () => {
    const w = waiter();
    const [a, b] = socketpair();
    w.watch(a, READABLE);
    writeSync(b, "x");
    w.watch(a, 0);
    closeSync(a);
    closeSync(b);
    const [c, d] = track(socketpair());
    expect(c).toBe(a);
    writeSync(d, "y");
    expect(waitReports(w, 20)).toEqual([]);
    w.watch(c, READABLE);
    expect(waitReports(w, 1000)).toEqual([[c, READABLE]]);
  });

  it("reports ERROR once for a descriptor closed while watched, waking a blocked wait within the sweep interval", () => {
    const w = waiter({ sweepIntervalMs: 50 });
    const [a, b] = socketpair();
    track([b]);
    w.watch(a, READABLE);
    closeSync(a); // without watch(a, 0): epoll forgets it silently
    const [reports, ms] = timed(() => waitReports(w, 5000));
    expect(reports).toEqual([[a, ERROR]]);
    expect(ms).toBeLessThan(4000);
    expect(waitReports(w, 100)).toEqual([]);
  });

  it("reports ERROR, not the new file's events, when a watched number is closed and reused", () => {
    const w = waiter({ sweepIntervalMs: 50 });
    const [a, b] = socketpair();
    track([b]);
    w.watch(a, READABLE);
    closeSync(a);
    const [c, d] = track(socketpair());
    expect(c).toBe(a);
    writeSync(d, "new");
    expect(waitReports(w, 5000)).toEqual([[a, ERROR]]);
    w.watch(c, READABLE); // watching again follows the new file
    expect(waitReports(w, 1000)).toEqual([[c, READABLE]]);
  });

  it("reports a mask change for a number closed since watch() as ERROR once, never as an exception", () => {
    const w = waiter({ sweepIntervalMs: 0 }); // no sweep: the ERROR comes from watch() itself
    const [r, wr] = pipe();
    track([wr]);
    w.watch(r, READABLE);
    expect(waitReports(w, 0)).toEqual([]);
    closeSync(r);
    expect(() => w.watch(r, READABLE | WRITABLE)).not.toThrow();
    expect(waitReports(w, 1000)).toEqual([[r, ERROR]]);
    expect(waitReports(w, 50)).toEqual([]);
  });

  it("follows the new file when a watched number is closed, reused by another pipe and watched again with another mask", () => {
    const w = waiter({ sweepIntervalMs: 0 });
    const [r, wr] = pipe();
    w.watch(r, READABLE);
    writeSync(wr, "old");
    expect(waitReports(w, 1000)).toEqual([[r, READABLE]]);
    closeSync(r);
    closeSync(wr);
    const [r2, w2] = track(pipe());
    expect(r2).toBe(r);
    w.watch(r2, READABLE | HANGUP);
    writeSync(w2, "new");
    expect(waitReports(w, 1000)).toEqual([[r2, READABLE]]);
  });

  it("reports each of 1,000 descriptors closed right after watch() as ERROR once", () => {
    const w = waiter({ sweepIntervalMs: 10 });
    const pipes = Array.from({ length: 1000 }, () => pipe());
    track(pipes.map(([, wr]) => wr));
    for (const [r] of pipes) {
      w.watch(r, READABLE);
      closeSync(r);
    }
    const reports: Array<[number, number]> = [];
    const end = Date.now() + 5000;
    while (reports.length < pipes.length && Date.now() < end) reports.push(...waitReports(w, 1000));
    expect(waitReports(w, 50)).toEqual([]);
    expect(reports.every(([, events]) => events === ERROR)).toBe(true);
    expect(reports.map(([fd]) => fd).sort((x, y) => x - y)).toEqual(pipes.map(([r]) => r).sort((x, y) => x - y));
  });

  it("reports ERROR for a watched descriptor closed while another process still holds the file, then stays quiet", async () => {
    const w = waiter({ sweepIntervalMs: 50 });
    const [a, b] = socketpair();
    track([b]);
    // The child inherits the socket, so closing our number does not close the file and epoll keeps
    // the old registration, which can no longer be removed by number. Until the sweep notices, it
    // may still report the old file's readiness under the closed number; after the ERROR, nothing.
    const child = spawn("sleep", ["10"], { stdio: ["ignore", "ignore", "ignore", a] });
    try {
      w.watch(a, READABLE);
      closeSync(a);
      writeSync(b, "x");
      const reports: number[] = [];
      const end = Date.now() + 5000;
      while (!reports.includes(ERROR) && Date.now() < end) {
        for (const [fd, events] of waitReports(w, 1000)) if (fd === a) reports.push(events);
      }
      expect(reports.at(-1)).toBe(ERROR);
      expect(reports.slice(0, -1).every((e) => e === READABLE)).toBe(true);
      expect(waitReports(w, 100)).toEqual([]);
      expect(waitReports(w, 100)).toEqual([]);
    } finally {
      child.kill();
    }
  });

  it("reports READABLE|HANGUP when a socketpair peer closes, and on a pipe whose writer closes", () => {
    const w = waiter();
    const [a, b] = track(socketpair());
    const [r, wr] = track(pipe());
    w.watch(a, READABLE);
    w.watch(r, READABLE);
    closeSync(b);
    closeSync(wr);
    expect(waitReports(w, 1000)).toEqual(
      [
        [a, READABLE | HANGUP],
        [r, READABLE | HANGUP],
      ].sort((x, y) => (x[0] as number) - (y[0] as number)),
    );
  });

  it("reports ERROR once on a pipe's write end whose reader closed, and again only after a new watch", () => {
    const w = waiter();
    const [r, wr] = track(pipe());
    w.watch(wr, WRITABLE);
    expect(waitReports(w, 1000)).toEqual([[wr, WRITABLE]]);
    closeSync(r);
    expect(waitReports(w, 1000)).toEqual([[wr, ERROR]]);
    expect(waitReports(w, 20)).toEqual([]);
    w.watch(wr, WRITABLE);
    expect(waitReports(w, 1000)).toEqual([[wr, ERROR]]);
  });

  it("grows its arrays when more descriptors are ready than they hold", () => {
    const w = waiter();
    const pairs = Array.from({ length: 300 }, () => track(socketpair()));
    for (const [a] of pairs) w.watch(a, READABLE);
    for (const [, b] of pairs) writeSync(b, "x");
    const seen = new Set<number>();
    for (let i = 0; i < 10 && seen.size < pairs.length; i++) {
      const n = w.wait(1000);
      for (let j = 0; j < n; j++) seen.add(w.fds[j] as number);
    }
    expect(seen.size).toBe(pairs.length);
    expect(w.fds.length).toBeGreaterThanOrEqual(256);
  });

  it("rejects bad arguments, its own wake-up descriptor, and any use after close()", () => {
    const w = waiter();
    expect(() => w.watch(-1, READABLE)).toThrow(RangeError);
    expect(() => w.watch(0, 16)).toThrow(RangeError);
    expect(() => w.watch(w.wakeFd, READABLE)).toThrow(RangeError);
    expect(() => w.wait(-2)).toThrow(RangeError);
    expect(() => w.wait(Number.NaN)).toThrow(RangeError);
    w.close();
    w.close();
    expect(w.wakeFd).toBe(-1);
    expect(() => w.wait(0)).toThrow(expect.objectContaining({ code: "ERR_EVLOOP_CLOSED" }));
    expect(() => w.watch(0, READABLE)).toThrow(expect.objectContaining({ code: "ERR_EVLOOP_CLOSED" }));
  });
});

describe("createFdWaiter in a process of its own", () => {
  it("keeps waiting through a signal handled by the process (EINTR is retried)", async () => {
    const script = `
      const native = require("node-gyp-build")(${JSON.stringify(packageRoot)});
      let handled = false;
      process.on("SIGUSR2", () => { handled = true; });
      const w = new native.FdWaiter();
      const [a] = native.socketpair();
      w.watch(a, 1);
      process.stdout.write("waiting\\n");
      const start = Date.now();
      const count = w.wait(1500);
      const ms = Date.now() - start;
      setTimeout(() => console.log(JSON.stringify({ count, ms, handled })), 50);
    `;
    const child = spawn(process.execPath, ["-e", script], { cwd: packageRoot, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      out += chunk;
      if (chunk.includes("waiting")) setTimeout(() => child.kill("SIGUSR2"), 300);
    });
    const code = await new Promise((resolve) => child.once("exit", resolve));
    expect(code).toBe(0);
    const result = JSON.parse(out.split("\n")[1] as string);
    expect(result.count).toBe(0);
    expect(result.ms).toBeGreaterThanOrEqual(1450); // not cut short by the signal
    expect(result.handled).toBe(true); // and the handler still ran afterwards
  });

  it("survives 100,000 watch/unwatch cycles, then closes and lets the process exit by itself", () => {
    const result = runScript(`
      const [a, b] = native.socketpair();
      const w = new native.FdWaiter();
      const cycle = () => { for (let i = 0; i < 100000; i++) { w.watch(a, 1 + (i & 1)); w.watch(a, 0); } };
      cycle();
      const before = process.memoryUsage().rss;
      for (let round = 0; round < 4; round++) cycle();
      const grown = process.memoryUsage().rss - before;
      w.watch(a, 3);
      w.close();
      console.log(JSON.stringify({ grownMiB: Math.round(grown / 1048576) }));
    `);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout).grownMiB).toBeLessThan(16);
  });

  it("releases a waiter that was never closed when its worker thread ends", async () => {
    const worker = new Worker(
      `
      const { workerData } = require("node:worker_threads");
      const native = require("node-gyp-build")(workerData.root);
      const w = new native.FdWaiter();
      const [a, b] = native.socketpair();
      w.watch(a, 1);
      w.wait(10);
      require("node:fs").closeSync(a);
      require("node:fs").closeSync(b);
      `,
      { eval: true, workerData: { root: packageRoot } },
    );
    expect(await new Promise((resolve) => worker.once("exit", resolve))).toBe(0);
  });
});
