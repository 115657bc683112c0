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

  /** A poller whose onTimer records the `now` it gets and returns what `next` says. */
  function timed(next: (now: number, call: number) => number | undefined) {
    const calls: { now: number; read: number }[] = [];
    const poller = createUvPoller(
      () => {},
      (now) => {
        calls.push({ now, read: hrMs() });
        return next(now, calls.length);
      },
    );
    opened.push(poller);
    return { poller, calls };
  }
  const hrMs = () => Number(process.hrtime.bigint()) / 1e6;

  it("hands onTimer the time it fired on process.hrtime's clock, never before a fractional delay is over, even while the loop spins", async () => {
    const { poller, calls } = timed(() => undefined);
    // Immediates keep the loop from blocking, so libuv's whole-millisecond clock reaches the
    // timer's millisecond up to one millisecond before the delay asked for is over.
    let spinning = true;
    const spin = () => void (spinning && setImmediate(spin));
    spin();
    try {
      for (const delay of [0.2, 0.5, 0.9, 1.3, 2.7, 0.05, 1.95, 0.6]) {
        const armed = hrMs();
        poller.setTimer(delay);
        const before = calls.length;
        await until(() => calls.length > before);
        const call = calls.at(-1) as { now: number; read: number };
        expect(call.now - armed).toBeGreaterThanOrEqual(delay);
        expect(call.now).toBeLessThanOrEqual(call.read);
      }
    } finally {
      spinning = false;
    }
  });

  it("re-arms from onTimer's return value, counted from the `now` it got; undefined leaves it disarmed", async () => {
    const rec = timed((_now, call) => (call < 4 ? 3.5 : undefined));
    rec.poller.setTimer(1);
    await until(() => rec.calls.length === 4);
    await sleep(30);
    const times = rec.calls.map((c) => c.now);
    expect(times).toHaveLength(4);
    for (let i = 1; i < 4; i++) expect((times[i] as number) - (times[i - 1] as number)).toBeGreaterThanOrEqual(3.5);
  });

  it("a return value of 0 re-arms for a later loop iteration, so the timer cannot starve I/O", async () => {
    const order: string[] = [];
    const rec = timed((_now, call) => {
      order.push(`timer ${call}`);
      if (call === 1) setImmediate(() => order.push("immediate"));
      return call < 3 ? 0 : -1;
    });
    rec.poller.setTimer(0);
    await until(() => rec.calls.length === 3);
    await sleep(20);
    expect(order).toEqual(["timer 1", "immediate", "timer 2", "timer 3"]);
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
    for (const ms of [-0.5, NaN, Infinity, 2 ** 31]) expect(() => poller.setTimer(ms)).toThrow(RangeError);
    expect(() => poller.setTimer("1" as unknown as number)).toThrow(TypeError);
    poller.setTimer(0.25); // fractions are fine
    poller.setTimer(-1);
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

describe("createUvPoller with batch: false", () => {
  it("calls onReady once per ready descriptor with count 1, running nextTick callbacks between calls", async () => {
    const order: string[] = [];
    const calls: Array<[fd: number, events: number, count: number]> = [];
    const poller = createUvPoller(
      (fds, events, count) => {
        calls.push([fds[0] as number, events[0] as number, count]);
        order.push("call");
        process.nextTick(() => order.push("tick"));
      },
      () => {},
      { batch: false },
    );
    opened.push(poller);
    const k = 20;
    const pairs = Array.from({ length: k }, () => track(socketpair()));
    for (const [a] of pairs) poller.watch(a, READABLE);
    for (const [, b] of pairs) writeSync(b, "x");
    await until(() => calls.length >= k);
    const first = calls.slice(0, k);
    expect(first.every(([, events, count]) => events === READABLE && count === 1)).toBe(true);
    // All were ready in the same iteration: the first k calls are the k descriptors, each once.
    expect(first.map(([fd]) => fd).sort((x, y) => x - y)).toEqual(pairs.map(([a]) => a).sort((x, y) => x - y));
    expect(order.slice(0, 2 * k)).toEqual(Array.from({ length: k }, () => ["call", "tick"]).flat());
  });

  it("still reports a descriptor that is not open as ERROR once", async () => {
    const { poller, batches } = recorder({ batch: false });
    const notOpen = 3002;
    poller.watch(notOpen, READABLE);
    await until(() => batches.length > 0);
    await sleep(50);
    expect(batches).toEqual([[[notOpen, ERROR]]]);
  });

  it("stops a descriptor at once on watch(fd, 0) from inside a callback, even one already ready in that iteration", async () => {
    const calls: number[] = [];
    const pairs = Array.from({ length: 10 }, () => track(socketpair()));
    const poller = createUvPoller(
      (fds) => {
        calls.push(fds[0] as number);
        for (const [a] of pairs) poller.watch(a, 0);
      },
      () => {},
      { batch: false },
    );
    opened.push(poller);
    for (const [a] of pairs) poller.watch(a, READABLE);
    for (const [, b] of pairs) writeSync(b, "x"); // never read: level-triggered, ready until unwatched
    await until(() => calls.length > 0);
    await sleep(50);
    expect(calls).toHaveLength(1);
  });

  it("rejects a batch option that is not a boolean", () => {
    expect(() => createUvPoller(() => {}, () => {}, { batch: 0 as unknown as boolean })).toThrow(TypeError);
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

  it("with batch: false, routes an exception thrown by onReady to uncaughtException before the next call, and later events still arrive", () => {
    const result = runScript(`
      const [a, b] = native.socketpair();
      const [c, d] = native.socketpair();
      const log = [];
      process.on("uncaughtException", (error) => log.push("caught " + error.message));
      const poller = new native.UvPoller((fds, events, count) => {
        const fd = fds[0];
        log.push("call " + (fd === a ? "a" : "c") + " " + count);
        fs.readSync(fd, Buffer.alloc(16));
        const calls = log.filter((entry) => entry.startsWith("call")).length;
        if (calls === 1) throw new Error("boom");
        if (calls === 2) return void setTimeout(() => fs.writeSync(b, "2"), 10);
        poller.close();
        console.log(JSON.stringify(log));
      }, () => {}, undefined, false);
      poller.watch(a, 1);
      poller.watch(c, 1);
      fs.writeSync(b, "1");
      fs.writeSync(d, "1");
    `);
    expect(result.stderr).toBe("");
    const log = JSON.parse(result.stdout) as string[];
    // a and c were ready in the same iteration, in either order; the exception is routed at once.
    expect(log).toHaveLength(4);
    expect([log[0], log[2]].sort()).toEqual(["call a 1", "call c 1"]);
    expect(log[1]).toBe("caught boom");
    expect(log[3]).toBe("call a 1");
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
      // Two rounds first, for the allocators to reach their working size.
      rounds(2, () => {
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
    `, 90_000);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    // After the warm-up, memory is reused: four more rounds leaking even 100 bytes a cycle would add 38 MiB.
    expect(JSON.parse(result.stdout).grownMiB).toBeLessThan(16);
  });
});

/**
 * libuv carries out the epoll registration asked for by uv_poll_start only in its next poll phase,
 * and aborts the process when that epoll_ctl fails, as it does for a descriptor closed in between.
 * Each scenario runs in a process of its own, so an abort fails one test instead of the run.
 */
describe("createUvPoller with descriptors closed before libuv registers them", () => {
  type Outcome = { reports: Array<[fd: number, events: number]>; order: string[]; cpuMs: number; wallMs: number } & Record<
    string,
    unknown
  >;

  /**
   * Runs `body` with a poller whose reports are collected in `reports` (the closed-descriptor sweep
   * is off, so every ERROR comes from the pre-poll check). `onBatch(batch)` sees each onReady call;
   * `finish(extra)` lets 300 ms pass, then prints the outcome with the CPU time used meanwhile.
   */
  function runPoller(batch: boolean, body: string): Outcome {
    const result = runScript(`
      const reports = [];
      const order = [];
      let onBatch = () => {};
      const poller = new native.UvPoller((fds, events, count) => {
        const batch = [];
        for (let i = 0; i < count; i++) batch.push([fds[i], events[i]]);
        reports.push(...batch);
        order.push("ready");
        onBatch(batch);
      }, () => {}, 0, ${batch});
      let finished = false;
      function finish(extra) {
        if (finished) return;
        finished = true;
        const cpu = process.cpuUsage();
        const start = performance.now();
        setTimeout(() => {
          const used = process.cpuUsage(cpu);
          const wallMs = performance.now() - start;
          poller.close();
          console.log(JSON.stringify({ reports, order, cpuMs: (used.user + used.system) / 1000, wallMs, ...extra }));
        }, 300);
      }
      const hasError = (batch) => batch.some(([, events]) => events & 4);
      ${body}
    `);
    expect(result.signal).toBeNull(); // SIGABRT before the fix
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const outcome = JSON.parse(result.stdout) as Outcome;
    // A busy loop would burn (nearly) the whole wall time.
    expect(outcome.cpuMs).toBeLessThan(outcome.wallMs / 2);
    return outcome;
  }

  it.each([true, false])(
    "reports a descriptor closed right after watch() as ERROR once, in the same loop iteration, without aborting (batch: %s)",
    (batch) => {
      const outcome = runPoller(
        batch,
        `
        const [r, w] = native.pipe();
        poller.watch(r, 1 | 4 | 8);
        fs.closeSync(r);
        setImmediate(() => order.push("immediate"));
        onBatch = (b) => { if (hasError(b)) finish({ r }); };
      `,
      );
      expect(outcome.reports).toEqual([[outcome.r, ERROR]]);
      // Delivered by the check handle of the iteration whose poll phase it was kept out of.
      expect(outcome.order).toEqual(["ready", "immediate"]);
    },
  );

  it.each([true, false])(
    "reports ERROR once when the mask is changed after a poll phase and the descriptor closed right after (batch: %s)",
    (batch) => {
      // With batch: false the change and the close happen inside the poll phase itself.
      const outcome = runPoller(
        batch,
        `
        const [a, b] = native.socketpair();
        poller.watch(a, 1);
        fs.writeSync(b, "x");
        onBatch = (batch) => {
          if (batch.some(([fd, events]) => fd === a && events === 1)) {
            fs.readSync(a, Buffer.alloc(8));
            poller.watch(a, 1 | 2); // uv_poll_start again: the registration is queued anew
            fs.closeSync(a);
          } else if (hasError(batch)) {
            finish({ a });
          }
        };
      `,
      );
      expect(outcome.reports).toEqual([
        [outcome.a, READABLE],
        [outcome.a, ERROR],
      ]);
    },
  );

  it("follows the new file when the number is closed, reused by another pipe and watched again before libuv registered the first", () => {
    const outcome = runPoller(
      true,
      `
      const [r, w] = native.pipe();
      poller.watch(r, 1);
      fs.closeSync(r);
      const [r2, w2] = native.pipe();
      poller.watch(r2, 1 | 8); // a new mask for a new file on the same number
      fs.writeSync(w2, "new");
      onBatch = (batch) => {
        if (batch.some(([fd, events]) => fd === r2 && events & 1)) {
          fs.readSync(r2, Buffer.alloc(8));
          finish({ r, r2 });
        }
      };
    `,
    );
    expect(outcome.r2).toBe(outcome.r);
    // The first watch was replaced before it was ever reported: nothing of it remains.
    expect(outcome.reports).toEqual([[outcome.r2, READABLE]]);
  });

  it("follows the new file when a polled number is closed, reused by another pipe and watched again with another mask", () => {
    const outcome = runPoller(
      true,
      `
      const [r, w] = native.pipe();
      poller.watch(r, 1);
      fs.writeSync(w, "old");
      let r2 = -1;
      onBatch = (batch) => {
        if (r2 < 0) {
          fs.readSync(r, Buffer.alloc(8));
          fs.closeSync(r);
          fs.closeSync(w);
          const pair = native.pipe();
          r2 = pair[0];
          poller.watch(r2, 1 | 8);
          fs.writeSync(pair[1], "new");
        } else if (batch.some(([fd, events]) => fd === r2 && events & 1)) {
          fs.readSync(r2, Buffer.alloc(8));
          finish({ r, r2 });
        }
      };
    `,
    );
    expect(outcome.r2).toBe(outcome.r);
    expect(outcome.reports).toEqual([
      [outcome.r, READABLE],
      [outcome.r2, READABLE],
    ]);
  });

  it("reports ERROR, not the new file's events, for a number reused by another file before libuv registered it", () => {
    const outcome = runPoller(
      true,
      `
      const [r, w] = native.pipe();
      poller.watch(r, 1);
      fs.closeSync(r);
      const [r2, w2] = native.pipe(); // the same number, never watched
      fs.writeSync(w2, "new");
      onBatch = (b) => { if (hasError(b)) finish({ r, r2 }); };
    `,
    );
    expect(outcome.r2).toBe(outcome.r);
    expect(outcome.reports).toEqual([[outcome.r, ERROR]]);
  });

  it.each([true, false])(
    "survives 1,000 watch+close in a tight loop, reporting each descriptor once while an open one is unaffected (batch: %s)",
    (batch) => {
      const outcome = runPoller(
        batch,
        `
        const pipes = Array.from({ length: 1000 }, () => native.pipe());
        const [a, b] = native.socketpair();
        poller.watch(a, 1);
        for (const [r] of pipes) { poller.watch(r, 1); fs.closeSync(r); }
        fs.writeSync(b, "x");
        let errors = 0, readable = false;
        onBatch = (batch) => {
          for (const [fd, events] of batch) {
            if (events & 4) errors++;
            if (fd === a && events & 1) { readable = true; fs.readSync(a, Buffer.alloc(8)); }
          }
          if (errors >= 1000 && readable) finish({ closed: pipes.map(([r]) => r), a });
        };
      `,
      );
      const closed = outcome.closed as number[];
      const errors = outcome.reports.filter(([fd]) => fd !== outcome.a);
      expect(errors).toHaveLength(1000);
      expect(errors.every(([, events]) => events === ERROR)).toBe(true);
      expect(errors.map(([fd]) => fd).sort((x, y) => x - y)).toEqual([...closed].sort((x, y) => x - y));
      expect(outcome.reports.filter(([fd]) => fd === outcome.a)).toEqual([[outcome.a, READABLE]]);
    },
  );

  it("survives 1,000 pipe+watch+close on one reused number: the watch left in place is reported once", () => {
    const outcome = runPoller(
      true,
      `
      let last = -1;
      const numbers = new Set();
      for (let i = 0; i < 1000; i++) {
        const [r, w] = native.pipe();
        poller.watch(r, 1 + (i & 1)); // each replaces the previous watch of the number, mask alternating
        fs.closeSync(r);
        fs.closeSync(w);
        numbers.add(r);
        last = r;
      }
      onBatch = (b) => { if (hasError(b)) finish({ last, numbers: numbers.size }); };
    `,
    );
    expect(outcome.numbers).toBe(1);
    expect(outcome.reports).toEqual([[outcome.last, ERROR]]);
  });
});
