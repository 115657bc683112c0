import { spawnSync } from "node:child_process";
import { closeSync, openSync, readSync, writeSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import { packageRoot } from "./binding.ts";
import { pipe, socketpair } from "./descriptors.ts";
import { createUvPoller, type UvPoller, type UvPollerOptions } from "./uv-poller.ts";

const READABLE = 1;
const WRITABLE = 2;
const ERROR = 4;
const HANGUP = 8;

type Batch = Array<[fd: number, events: number]>;

/** A poller that records every batch (copied: the arrays are reused) and every timer call. */
function recorder(options?: UvPollerOptions) {
  const batches: Batch[] = [];
  let timers = 0;
  const poller = createUvPoller(
    (fds, events, count) => {
      const batch: Batch = [];
      for (let i = 0; i < count; i++) batch.push([fds[i] as number, events[i] as number]);
      batches.push(batch);
    },
    () => {
      timers++;
    },
    options,
  );
  opened.push(poller);
  return {
    poller,
    batches,
    get timers() {
      return timers;
    },
    /** Every report for fd so far, in order. */
    reportsFor: (fd: number) => batches.flat().filter(([f]) => f === fd).map(([, e]) => e),
  };
}

const opened: UvPoller[] = [];
const fds: number[] = [];
/** Descriptors made for a test and closed after it (an already closed one is skipped). */
function track<T extends number[]>(pair: T): T {
  fds.push(...pair);
  return pair;
}
afterEach(() => {
  for (const p of opened.splice(0)) p.close();
  for (const fd of fds.splice(0)) {
    try {
      closeSync(fd);
    } catch {
      // closed by the test itself
    }
  }
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await sleep(5);
  }
}

/** Runs a CommonJS script in a fresh Node process with `native` bound to the raw addon. */
function runScript(source: string, timeout = 20_000) {
  const prelude = `const native = require("node-gyp-build")(${JSON.stringify(packageRoot)}); const fs = require("node:fs");\n`;
  return spawnSync(process.execPath, ["-e", prelude + source], { cwd: packageRoot, encoding: "utf8", timeout });
}

describe("createUvPoller", () => {
  it("reports READABLE once the peer writes, and WRITABLE for a socket with buffer space", async () => {
    const { poller, reportsFor } = recorder();
    const [a, b] = track(socketpair());
    poller.watch(a, READABLE);
    poller.watch(b, WRITABLE);
    await until(() => reportsFor(b).length > 0);
    expect(reportsFor(b)[0]).toBe(WRITABLE);
    expect(reportsFor(a)).toEqual([]);

    writeSync(b, "x");
    await until(() => reportsFor(a).length > 0);
    expect(reportsFor(a)[0]).toBe(READABLE);
  });

  it("delivers every descriptor ready in one loop iteration in one onReady call, each once", async () => {
    const { poller, batches } = recorder();
    const pairs = Array.from({ length: 50 }, () => track(socketpair()));
    for (const [a] of pairs) poller.watch(a, READABLE);
    for (const [, b] of pairs) writeSync(b, "x");
    await until(() => batches.length > 0);
    await sleep(20); // give any stray second batch the chance to show up
    const first = batches[0] as Batch;
    expect(first.map(([fd]) => fd).sort((x, y) => x - y)).toEqual(pairs.map(([a]) => a).sort((x, y) => x - y));
    expect(first.every(([, e]) => e === READABLE)).toBe(true);
    // Level-triggered: the bytes were not read, so later batches repeat them, but never twice in one.
    for (const batch of batches) expect(new Set(batch.map(([fd]) => fd)).size).toBe(batch.length);
  });

  it("merges over a thousand ready descriptors into one report each per batch", async () => {
    const { poller, batches } = recorder();
    const pairs = Array.from({ length: 1100 }, () => track(socketpair()));
    for (const [a] of pairs) poller.watch(a, READABLE);
    for (const [, b] of pairs) writeSync(b, "x");
    await until(() => batches.flat().length >= pairs.length);
    for (const batch of batches) expect(new Set(batch.map(([fd]) => fd)).size).toBe(batch.length);
    expect(new Set(batches.flat().map(([fd]) => fd)).size).toBe(pairs.length);
  });

  it("flushes a batch before that iteration's setImmediate callbacks", async () => {
    const order: string[] = [];
    const poller = createUvPoller(
      () => order.push("ready"),
      () => {},
    );
    opened.push(poller);
    const [a, b] = track(socketpair());
    writeSync(b, "x");
    poller.watch(a, READABLE);
    await new Promise<void>((resolve) =>
      setImmediate(() => {
        order.push("immediate");
        resolve();
      }),
    );
    expect(order.slice(0, 2)).toEqual(["ready", "immediate"]);
  });

  it("follows mask changes on one descriptor", async () => {
    const { poller, reportsFor, batches } = recorder();
    const [a, b] = track(socketpair());
    writeSync(b, "x");

    poller.watch(a, WRITABLE);
    await until(() => reportsFor(a).length > 0);
    expect(reportsFor(a).at(-1)).toBe(WRITABLE);

    poller.watch(a, READABLE);
    let seen = batches.length;
    await until(() => batches.length > seen);
    expect(reportsFor(a).at(-1)).toBe(READABLE);

    poller.watch(a, READABLE | WRITABLE);
    seen = batches.length;
    await until(() => batches.length > seen);
    expect(reportsFor(a).at(-1)).toBe(READABLE | WRITABLE);

    readSync(a, Buffer.alloc(1));
    poller.watch(a, HANGUP); // hang-ups only: quiet until the peer goes away
    seen = batches.length;
    await sleep(30);
    expect(batches.length).toBe(seen);
    closeSync(b);
    await until(() => batches.length > seen);
    expect(reportsFor(a).at(-1)).toBe(HANGUP);
  });

  it("stops at once on watch(fd, 0): the descriptor can be closed and its number reused without reports", async () => {
    const { poller, reportsFor } = recorder();
    const [a, b] = socketpair();
    poller.watch(a, READABLE);
    writeSync(b, "x");
    poller.watch(a, 0);
    closeSync(a);
    closeSync(b);

    // The lowest free numbers are handed out again: the new pair takes the old numbers.
    const [c, d] = track(socketpair());
    expect(c).toBe(a);
    writeSync(d, "y");
    await sleep(50);
    expect(reportsFor(a)).toEqual([]);

    poller.watch(c, READABLE); // the same number, a new file: a fresh registration
    await until(() => reportsFor(c).length > 0);
    expect(reportsFor(c)[0]).toBe(READABLE);
  });

  it("drops a report that is still queued when its watch is removed", async () => {
    const { poller, reportsFor, batches } = recorder();
    const notOpen = 3000;
    poller.watch(notOpen, READABLE); // queues an ERROR for the next batch
    poller.watch(notOpen, 0);
    const [a, b] = track(socketpair());
    poller.watch(a, READABLE);
    writeSync(b, "x");
    await until(() => batches.length > 0);
    expect(reportsFor(notOpen)).toEqual([]);
  });

  it.each([
    ["a regular file", () => openSync(new URL(import.meta.url), "r")],
    ["/dev/null", () => openSync("/dev/null", "r")],
  ])("refuses %s with an EPERM error and registers nothing", async (_name, open) => {
    const { poller, batches } = recorder();
    const fd = track([open()])[0] as number;
    let thrown: unknown;
    try {
      poller.watch(fd, READABLE);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect(thrown).toMatchObject({ code: "EPERM", errno: expect.any(Number), syscall: "uv_poll_init" });
    await sleep(30);
    expect(batches).toEqual([]);
    poller.watch(fd, 0); // nothing to remove
  });

  it("reports a descriptor that is not open as ERROR once, without throwing or spinning", async () => {
    const { poller, batches } = recorder();
    const notOpen = 3001;
    expect(() => poller.watch(notOpen, READABLE)).not.toThrow();
    await until(() => batches.length > 0);
    const cpu = process.cpuUsage();
    await sleep(200);
    const used = process.cpuUsage(cpu);
    expect(batches).toEqual([[[notOpen, ERROR]]]);
    // A busy loop would burn the whole 200 ms.
    expect((used.user + used.system) / 1000).toBeLessThan(100);
  });

  it("reports ERROR once for a descriptor closed while watched, within the sweep interval", async () => {
    const { poller, reportsFor } = recorder({ sweepIntervalMs: 50 });
    const [a, b] = socketpair();
    track([b]);
    poller.watch(a, READABLE);
    await sleep(10);
    closeSync(a); // without watch(a, 0)
    await until(() => reportsFor(a).length > 0, 2000);
    await sleep(150);
    expect(reportsFor(a)).toEqual([ERROR]);
  });

  it("reports ERROR, not the new file's events, when a watched number is closed and reused; watching again follows the new file", async () => {
    const { poller, reportsFor } = recorder({ sweepIntervalMs: 50 });
    const [a, b] = socketpair();
    track([b]);
    poller.watch(a, READABLE);
    await sleep(10);
    closeSync(a);
    const [c, d] = track(socketpair());
    expect(c).toBe(a);
    writeSync(d, "new");
    await until(() => reportsFor(a).length > 0, 2000);
    expect(reportsFor(a)).toEqual([ERROR]);

    poller.watch(c, READABLE);
    await until(() => reportsFor(c).length > 1);
    expect(reportsFor(c)[1]).toBe(READABLE);
  });

  it("reports HANGUP with READABLE when a socketpair peer closes", async () => {
    const { poller, reportsFor } = recorder();
    const [a, b] = track(socketpair());
    poller.watch(a, READABLE);
    closeSync(b);
    await until(() => reportsFor(a).length > 0);
    expect(reportsFor(a)[0]).toBe(READABLE | HANGUP);
  });

  it("reports HANGUP with READABLE on a pipe's read end when the writer closes", async () => {
    const { poller, reportsFor } = recorder();
    const [r, w] = track(pipe());
    poller.watch(r, READABLE);
    closeSync(w);
    await until(() => reportsFor(r).length > 0);
    expect(reportsFor(r)[0]).toBe(READABLE | HANGUP);
  });

  it("reports ERROR once on a pipe's write end whose reader closed, and again only after a new watch", async () => {
    const { poller, reportsFor } = recorder();
    const [r, w] = track(pipe());
    poller.watch(w, WRITABLE);
    await until(() => reportsFor(w).length > 0);
    closeSync(r);
    await until(() => reportsFor(w).includes(ERROR));
    await sleep(50);
    expect(reportsFor(w).filter((e) => e === ERROR)).toHaveLength(1);

    poller.watch(w, WRITABLE); // starts the stopped descriptor again
    await until(() => reportsFor(w).filter((e) => e === ERROR).length === 2);
  });

  it("fires the timer once after the given time, re-arms it, and disarms it with -1", async () => {
    const rec = recorder();
    rec.poller.setTimer(10);
    await until(() => rec.timers === 1);
    await sleep(30);
    expect(rec.timers).toBe(1);

    rec.poller.setTimer(1000);
    rec.poller.setTimer(5); // replaces the first setting
    await until(() => rec.timers === 2);

    rec.poller.setTimer(20);
    rec.poller.setTimer(-1);
    await sleep(60);
    expect(rec.timers).toBe(2);
  });

  it("calls nothing after close(), even for what was already ready", async () => {
    const rec = recorder();
    const [a, b] = track(socketpair());
    rec.poller.watch(a, READABLE);
    writeSync(b, "x");
    rec.poller.setTimer(0);
    rec.poller.close();
    await sleep(50);
    expect(rec.batches).toEqual([]);
    expect(rec.timers).toBe(0);
    rec.poller.close(); // again: nothing
    expect(() => rec.poller.watch(a, READABLE)).toThrow(expect.objectContaining({ code: "ERR_EVLOOP_CLOSED" }));
    expect(() => rec.poller.setTimer(1)).toThrow(expect.objectContaining({ code: "ERR_EVLOOP_CLOSED" }));
  });

  it("rejects descriptor numbers, masks and times out of range", () => {
    const { poller } = recorder();
    expect(() => poller.watch(-1, READABLE)).toThrow(RangeError);
    expect(() => poller.watch(1.5, READABLE)).toThrow(RangeError);
    expect(() => poller.watch(0, 16)).toThrow(RangeError);
    expect(() => poller.watch("3" as unknown as number, READABLE)).toThrow(TypeError);
    expect(() => poller.setTimer(-2)).toThrow(RangeError);
    expect(() => createUvPoller(undefined as unknown as () => void, () => {})).toThrow(TypeError);
  });

  it("keeps methods usable when taken off the object", async () => {
    const { poller, reportsFor } = recorder();
    const { watch } = poller;
    const [a, b] = track(socketpair());
    watch(a, READABLE);
    writeSync(b, "x");
    await until(() => reportsFor(a).length > 0);
  });
});

describe("createUvPoller in other threads", () => {
  it("runs in a worker thread on the worker's own loop while the main thread polls too", async () => {
    const { poller, reportsFor } = recorder();
    const [mainEnd, mainPeer] = track(socketpair());
    const [workerEnd, workerPeer] = track(socketpair());
    poller.watch(mainEnd, READABLE);

    // The worker watches its descriptor and writes to the main thread's; each side must see the other.
    const worker = new Worker(
      `
      const { parentPort, workerData } = require("node:worker_threads");
      const fs = require("node:fs");
      const native = require("node-gyp-build")(workerData.root);
      const poller = new native.UvPoller((fds, events, count) => {
        parentPort.postMessage({ fd: fds[0], events: events[0], count });
        poller.close();
      }, () => {});
      poller.watch(workerData.workerEnd, 1);
      fs.writeSync(workerData.mainPeer, "from worker");
      `,
      { eval: true, workerData: { root: packageRoot, workerEnd, mainPeer } },
    );
    const fromWorker = new Promise<{ fd: number; events: number; count: number }>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    });
    const exited = new Promise((resolve) => worker.once("exit", resolve));
    await until(() => reportsFor(mainEnd).length > 0);
    writeSync(workerPeer, "from main");
    expect(await fromWorker).toEqual({ fd: workerEnd, events: READABLE, count: 1 });
    expect(reportsFor(mainEnd)[0]).toBe(READABLE);
    expect(await exited).toBe(0);
  });

  it("lets a worker end, or be terminated, with a poller it never closed", async () => {
    const [a, b] = track(socketpair());
    const script = (finish: string) => `
      const { workerData } = require("node:worker_threads");
      const native = require("node-gyp-build")(workerData.root);
      const poller = new native.UvPoller(() => {}, () => {});
      poller.watch(workerData.a, 1);
      poller.watch(workerData.b, 2);
      poller.setTimer(60000);
      ${finish}
    `;
    const ended = new Worker(script("poller.unref();"), { eval: true, workerData: { root: packageRoot, a, b } });
    expect(await new Promise((resolve) => ended.once("exit", resolve))).toBe(0);

    const terminated = new Worker(script("require('node:worker_threads').parentPort.postMessage('up');"), {
      eval: true,
      workerData: { root: packageRoot, a, b },
    });
    await new Promise((resolve) => terminated.once("message", resolve));
    expect(await terminated.terminate()).toBe(1);
  });
});

describe("createUvPoller in a process of its own", () => {
  it("routes an exception thrown by onReady to uncaughtException, and later batches still arrive", () => {
    const result = runScript(`
      const [a, b] = native.socketpair();
      const caught = [];
      let batches = 0;
      process.on("uncaughtException", (error) => caught.push(error.message));
      const poller = new native.UvPoller(() => {
        batches++;
        fs.readSync(a, Buffer.alloc(16));
        if (batches === 1) {
          setTimeout(() => fs.writeSync(b, "2"), 10);
          throw new Error("boom");
        }
        poller.close();
        console.log(JSON.stringify({ batches, caught }));
      }, () => {});
      poller.watch(a, 1);
      fs.writeSync(b, "1");
    `);
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toEqual({ batches: 2, caught: ["boom"] });
    expect(result.status).toBe(0);
  });

  it("routes an exception thrown by onTimer the same way", () => {
    const result = runScript(`
      const caught = [];
      let fired = 0;
      process.on("uncaughtException", (error) => caught.push(error.message));
      const poller = new native.UvPoller(() => {}, () => {
        fired++;
        if (fired === 1) { poller.setTimer(1); throw new Error("tick"); }
        poller.close();
        console.log(JSON.stringify({ fired, caught }));
      });
      poller.setTimer(1);
    `);
    expect(JSON.parse(result.stdout)).toEqual({ fired: 2, caught: ["tick"] });
    expect(result.status).toBe(0);
  });

  it("ends the process like any uncaught exception when nothing handles it", () => {
    const result = runScript(`
      const [a, b] = native.socketpair();
      const poller = new native.UvPoller(() => { throw new Error("unhandled boom"); }, () => {});
      poller.watch(a, 1);
      fs.writeSync(b, "1");
    `);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("unhandled boom");
  });

  it("keeps the process alive while ref'd, and lets it exit once unref'd", () => {
    const alive = runScript(
      `
      const [a] = native.socketpair();
      const poller = new native.UvPoller(() => {}, () => {});
      poller.watch(a, 1);
    `,
      1500,
    );
    expect(alive.signal).toBe("SIGTERM"); // still running when the timeout killed it

    const exits = runScript(`
      const [a] = native.socketpair();
      const poller = new native.UvPoller(() => {}, () => {});
      poller.watch(a, 1);
      poller.setTimer(60000);
      poller.unref();
      poller.watch(native.socketpair()[0], 1); // watched after unref(): not ref'd either
    `);
    expect(exits.status).toBe(0);
  });

  it("survives 100,000 watch/unwatch cycles, then closes and lets the process exit by itself", () => {
    const result = runScript(`
      const [a, b] = native.socketpair();
      const poller = new native.UvPoller(() => {}, () => {});
      const cycle = () => { for (let i = 0; i < 100000; i++) { poller.watch(a, 1 + (i & 1)); poller.watch(a, 0); } };
      // Closed handles are freed by the loop: let it turn between rounds.
      const rounds = (n, done) => { cycle(); setImmediate(() => (n > 1 ? rounds(n - 1, done) : done())); };
      rounds(1, () => {
        const before = process.memoryUsage().rss;
        rounds(4, () => {
          const grown = process.memoryUsage().rss - before;
          poller.watch(a, 3);
          poller.close();
          fs.closeSync(a);
          fs.closeSync(b);
          console.log(JSON.stringify({ grownMiB: Math.round(grown / 1048576) }));
        });
      });
    `);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    // After the first round, memory is reused: four more rounds leaking even 100 bytes a cycle would add 38 MiB.
    expect(JSON.parse(result.stdout).grownMiB).toBeLessThan(16);
  });
});
