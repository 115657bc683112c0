/**
 * The load and fault-injection checks of docs/reliability.md, for loops on real descriptors in
 * Node, with vitest: the loops of this repository use them, and so can a third-party adapter.
 *
 * The load tests run the loop in a child process whose soft descriptor limit is raised to the hard
 * one ({@link runNodeChild}); the child imports the adapter by its package name, so `cwd` must be a
 * folder from which that package and `@evloop/native` resolve, with their builds.
 *
 * ```ts
 * import { describeLoad, itFaultScenarios, useFaultFixture } from "@evloop/conformance/node-reliability";
 * import { pipe } from "@evloop/native";
 * describeLoad({ module: "my-loop", factory: "createMyLoop", drive: "node", cwd: packageDir });
 * describe("createMyLoop under faults", () => {
 *   const faults = useFaultFixture();
 *   itFaultScenarios({ fixture: faults, createLoop: () => createMyLoop(), pipe, drive: "node" });
 * });
 * ```
 * @module @evloop/conformance/node-reliability
 */
import { closeSync, readSync, writeSync } from "node:fs";
import { HandleEvent, type EventLoopImpl } from "@evloop/core";
import { afterEach, describe, expect, it } from "vitest";
import { runNodeChild, type DrivenLoop } from "./node-fixture.ts";

const { READABLE } = HandleEvent;

/** Options of {@link describeLoad}. */
export interface LoadOptions {
  /** The name in the test titles (`<name> under load`); by default `factory`. */
  readonly name?: string;
  /** The package (or module specifier) the child imports the factory from, as `"@evloop/libuv"`. */
  readonly module: string;
  /** The name of the exported factory, called with no argument, as `"createLibuvLoop"`. */
  readonly factory: string;
  /**
   * Who runs the loop in the child. `"node"`: Node's own event loop (the child awaits timers and
   * `setImmediate`), and at the end the child must exit by itself with the loop not closed.
   * `"runOnce"`: the child calls `loop.runOnce(timeout)`, and at the end `runOnce()` with
   * nothing registered must return 0 at once.
   */
  readonly drive: "node" | "runOnce";
  /** The folder the child runs in (the `cwd` of {@link runNodeChild}). */
  readonly cwd: string;
}

/**
 * Code shared by the load children: `settle()` lets the loop turn and runs the garbage collector
 * twice, `memory()` is the heap and RSS then.
 */
export const CHILD_MEMORY_HELPERS = `
  const settle = async () => { await new Promise((r) => setImmediate(r)); await new Promise((r) => setTimeout(r, 10)); global.gc(); global.gc(); };
  const memory = () => { const m = process.memoryUsage(); return { heap: m.heapUsed, rss: m.rss }; };
`;

/** Runs a load child with the soft descriptor limit raised to the hard one; prints and returns its result. */
async function loadChild(source: string, cwd: string): Promise<Record<string, unknown>> {
  const result = (await runNodeChild(source, { cwd, ulimit: "hard", timeoutMs: 120_000 })) as Record<string, unknown>;
  console.log(`${expect.getState().currentTestName}: ${JSON.stringify(result)}`);
  return result;
}

/** The child of the descriptor load test: every descriptor the hard limit allows, watched, made ready once. */
function descriptorsSource(o: LoadOptions): string {
  const manual = o.drive === "runOnce";
  return `
      import { ${o.factory} } from "${o.module}";
      import { socketpair } from "@evloop/native";
      import { closeSync, readSync, writeSync } from "node:fs";
      import { execSync } from "node:child_process";
      ${CHILD_MEMORY_HELPERS}
      const limit = Number(execSync("bash -c 'ulimit -n'").toString().trim());
      await settle();
      const before = memory();
      const loop = ${o.factory}();
      const ends = [];
      let stop;
      for (;;) {
        try { ends.push(...socketpair()); } catch (e) { stop = e.code; break; }
      }
      // Leave a few numbers free for Node itself (a worker, a timer's eventfd): not watched.
      for (let i = 0; i < 16; i++) closeSync(ends.pop());
      const max = Math.max(...ends);
      const fired = new Uint16Array(max + 1);
      let frees = 0;
      const buffer = Buffer.alloc(8);
      const t0 = performance.now();
      const watches = ends.map((fd) => loop.addHandle(fd, 1, (_w, f) => { fired[f]++; readSync(f, buffer); }, () => frees++));
      const addMs = performance.now() - t0;
      // Make every watched descriptor ready at once: one byte into each end of each pair.
      const t1 = performance.now();
      for (const fd of ends) writeSync(fd, "x");
      const all = () => ends.every((fd) => fired[fd] >= 1);
      while (!all() && performance.now() - t1 < 30000) ${manual ? "loop.runOnce(5);" : "await new Promise((r) => setTimeout(r, 5));"}
      const dispatchMs = performance.now() - t1;
      // Idle now: nothing ready, nothing fires again, and the loop does not spin.
      const cpu = process.cpuUsage();
      const t2 = performance.now();
      ${manual ? "const idleRan = loop.runOnce(300);" : "await new Promise((r) => setTimeout(r, 300));"}
      const used = process.cpuUsage(cpu);
      const idleCpu = (used.user + used.system) / 1000 / (performance.now() - t2);
      const once = ends.every((fd) => fired[fd] === 1);
      for (const w of watches) loop.removeHandle(w);
      ${manual ? "loop.runOnce(0);" : ""}
      await settle();
      const left = loop.registrations();
      for (const fd of ends) closeSync(fd);
      loop.close();
      await settle();
      const after = memory();
      console.log(JSON.stringify({ limit, stop, watched: ends.length, once, frees, addMs: Math.round(addMs), dispatchMs: Math.round(dispatchMs), idleCpu: +idleCpu.toFixed(3),${manual ? " idleRan," : ""}
        left: left.handles.length, heapGrowth: after.heap - before.heap, rssGrowth: after.rss - before.rss }));
    `;
}

/** The child of the timer load test: 1,000,000 operations over up to 10,000 live timers. */
function timersSource(o: LoadOptions): string {
  const manual = o.drive === "runOnce";
  // After removing timers: a pass of the loop runs their free callbacks.
  const pass = manual ? "loop.runOnce(0);" : "";
  const end = manual
    ? `// Idle: with nothing registered, runOnce() returns at once instead of blocking.
      const t3 = performance.now();
      const idleRan = loop.runOnce();
      const idleMs = performance.now() - t3;
      console.log(JSON.stringify({ ops: OPS, ms: Math.round(ms), nsPerOp: Math.round((ms * 1e6) / OPS), fires, frees, removed,
        left: left.timers.length, idleRan, idle: idleMs < 100, heapGrowth: after.heap - before.heap, rssGrowth: after.rss - before.rss }));
      loop.close();`
    : `console.log(JSON.stringify({ ops: OPS, ms: Math.round(ms), nsPerOp: Math.round((ms * 1e6) / OPS), fires, frees, removed,
        left: left.timers.length, heapGrowth: after.heap - before.heap, rssGrowth: after.rss - before.rss }));
      // No loop.close(), no process.exit: the test fails by timeout if an armed timer keeps the process alive.`;
  return `
      import { ${o.factory} } from "${o.module}";
      ${CHILD_MEMORY_HELPERS}
      const loop = ${o.factory}();
      let seed = 42;
      const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
      let fires = 0;
      let frees = 0;
      let removed = 0;
      const cb = () => { fires++; };
      const free = () => { frees++; };
      const live = [];
      const OPS = 1_000_000;
      const round = async (ops) => {
        for (let i = 0; i < ops; i++) {
          const p = random();
          if (live.length < 10000 && (p < 0.4 || live.length === 0)) {
            // Mostly long timers; one in a hundred short enough to fire while the test runs.
            live.push(loop.addTimeout(random() < 0.01 ? 1 + Math.floor(random() * 5) : 60000 + Math.floor(random() * 60000), cb, free));
          } else if (p < 0.7) {
            loop.updateTimeout(live[Math.floor(random() * live.length)], random() < 0.01 ? 2 : 30000 + Math.floor(random() * 30000));
          } else {
            const j = Math.floor(random() * live.length);
            removed += loop.removeTimeout(live[j]) === 0 ? 1 : 0;
            live[j] = live[live.length - 1];
            live.pop();
          }
          // Let the loop run (short timers fire, free callbacks run) every 10,000 operations.
          if (i % 10000 === 9999) ${manual ? "loop.runOnce(0);" : "await new Promise((r) => setImmediate(r));"}
        }
      };
      // A warm-up round lets the heap and the id table reach their working size.
      await round(100000);
      for (const t of live.splice(0)) removed += loop.removeTimeout(t) === 0 ? 1 : 0;
      ${pass}
      await settle();
      const before = memory();
      const t0 = performance.now();
      await round(OPS);
      const ms = performance.now() - t0;
      for (const t of live.splice(0)) removed += loop.removeTimeout(t) === 0 ? 1 : 0;
      ${pass}
      await settle();
      const after = memory();
      const left = loop.registrations();
      ${end}
    `;
}

/**
 * Defines `describe("<name> under load")` with the two load tests of docs/reliability.md, each in
 * a child process ({@link runNodeChild}, soft descriptor limit raised to the hard one,
 * `--expose-gc`) that prints its figures, which the test prints again:
 *
 * - as many watched descriptors as the hard limit allows (socket pair ends until EMFILE, at least
 *   10,000): each fires exactly once when made ready, every free callback runs, the loop is idle
 *   afterwards (CPU share under 0.5) and the heap grows by less than 4 MB;
 * - 1,000,000 timer operations over up to 10,000 live timers: short ones fire, every removal's
 *   free callback runs once, heap growth under 2 MB and RSS under 32 MB, and the loop is idle at
 *   the end (see {@link LoadOptions.drive}).
 *
 * Call it at the top level of a test file.
 */
export function describeLoad(options: LoadOptions): void {
  const manual = options.drive === "runOnce";
  describe(`${options.name ?? options.factory} under load`, () => {
    it("watches as many descriptors as the hard limit allows (at least 10,000): each fires exactly once when ready, then the loop is idle and memory returns", async () => {
      const r = await loadChild(descriptorsSource(options), options.cwd);
      expect(r.stop).toBe("EMFILE");
      expect(r.watched as number).toBeGreaterThanOrEqual(10_000);
      expect(r.watched as number).toBeGreaterThan((r.limit as number) - 200);
      expect(r.once).toBe(true);
      expect(r.frees).toBe(r.watched);
      expect(r.left).toBe(0);
      expect(r.idleCpu as number).toBeLessThan(0.5);
      if (manual) expect(r.idleRan).toBe(0);
      expect(r.heapGrowth as number).toBeLessThan(4 * 1024 * 1024);
    });

    it("1,000,000 timer operations (add, update, remove over 10,000 live timers, short ones firing): memory returns and the loop is idle at the end", async () => {
      const r = await loadChild(timersSource(options), options.cwd);
      expect(r.left).toBe(0);
      if (manual) expect(r).toMatchObject({ idleRan: 0, idle: true });
      expect(r.fires as number).toBeGreaterThan(0);
      // Every removal's free callback ran, once.
      expect(r.frees).toBe(r.removed);
      expect(r.heapGrowth as number).toBeLessThan(2 * 1024 * 1024);
      expect(r.rssGrowth as number).toBeLessThan(32 * 1024 * 1024);
    });
  });
}

/** A loop {@link useFaultFixture} can release after a test. */
export interface ClosableLoop {
  /** Releases the loop and what it holds (its watches and timers are dropped). */
  close(): void;
}

/** What {@link useFaultFixture} returns: the loop and the descriptors of one fault test, released after it. */
export interface FaultFixture {
  /** The descriptors tracked and still open: closed after the test. A test that closes one itself may take it out. */
  readonly opened: number[];
  /** Tracks descriptors (as returned by `pipe()` or `socketpair()`) to be closed after the test; returns them. */
  track<T extends number[]>(fds: T): T;
  /** Makes `loop` the test's loop, closed after the test; returns it. */
  use<L extends ClosableLoop>(loop: L): L;
}

/**
 * Registers an `afterEach` (in the current `describe`, or the file) that closes the test's loop
 * and every descriptor it tracked that is still open, and returns the {@link FaultFixture} the
 * tests use.
 */
export function useFaultFixture(): FaultFixture {
  let loop: ClosableLoop | undefined;
  const opened: number[] = [];
  afterEach(() => {
    loop?.close();
    loop = undefined;
    for (const fd of opened.splice(0)) {
      try {
        closeSync(fd);
      } catch {
        // Closed by the test.
      }
    }
  });
  return {
    opened,
    track: (fds) => (opened.push(...fds), fds),
    use(l) {
      loop = l;
      return l;
    },
  };
}

/** Options of {@link itFaultScenarios}. */
export interface FaultScenarioOptions<L extends EventLoopImpl & ClosableLoop> {
  /** The fixture of the enclosing `describe` ({@link useFaultFixture}). */
  readonly fixture: FaultFixture;
  /** Makes a fresh loop for one test. */
  createLoop(): L;
  /** Makes a non-blocking pipe: `[readEnd, writeEnd]`. */
  pipe(): [number, number];
  /**
   * Who runs the loop: `"node"`, Node's own loop (the test awaits); `"runOnce"`, the test calls
   * the loop's `runOnce(timeout)` (see {@link DrivenLoop}).
   */
  readonly drive: "node" | "runOnce";
  /** The package (or module specifier) a child process imports the factory from, as `"@evloop/libuv"`. */
  readonly module: string;
  /** The name of the exported factory, called with no argument in the child, as `"createLibuvLoop"`. */
  readonly factory: string;
  /** The folder the child runs in (the `cwd` of {@link runNodeChild}). */
  readonly cwd: string;
}

/** The child of the signal test: a worker sends 100 SIGUSR2 while the loop waits for a byte and a timer. */
function signalsSource(o: FaultScenarioOptions<EventLoopImpl & ClosableLoop>): string {
  const manual = o.drive === "runOnce";
  // A worker sends 100 signals, one every millisecond or so, then writes one byte (on the manual
  // loop 100 ms later, so that the signals all arrive during the blocking wait).
  const worker = (every: number, write: string) => `const worker = new Worker(
        "Promise.all([import('node:fs'), import('node:worker_threads')]).then(([fs, wt]) => {" +
        " let n = 0; const t = setInterval(() => { process.kill(process.pid, 'SIGUSR2'); if (++n === 100) { clearInterval(t); ${write} } }, ${every}); });",
        { eval: true, workerData: w });`;
  const rest = manual
    ? `${worker(1, "setTimeout(() => fs.writeSync(wt.workerData, 'x'), 100);")}
      await new Promise((res) => setTimeout(res, 50));
      const start = performance.now();
      // Blocks: the signals arrive during the wait, which must go on until the byte arrives.
      const first = loop.runOnce(10000);
      const waited = performance.now() - start;
      // A timer during a second storm-free wait fires on time, once.
      let fires = 0;
      const t0 = performance.now();
      loop.addTimeout(100, (t) => { fires++; loop.removeTimeout(t); });
      loop.runOnce(5000);
      const timerAt = performance.now() - t0;
      await worker.terminate();
      await new Promise((res) => setImmediate(res));
      loop.close();
      console.log(JSON.stringify({ first, reads, woke: waited < 5000, fires, timerOnTime: timerAt >= 95 && timerAt < 2000, signals }));`
    : `const fires = [];
      const start = performance.now();
      loop.addTimeout(150, (t) => { fires.push(Math.round(performance.now() - start)); loop.removeTimeout(t); });
      ${worker(0.5, "fs.writeSync(wt.workerData, 'x');")}
      for (let i = 0; i < 300 && reads.length === 0; i++) await new Promise((res) => setTimeout(res, 10));
      await new Promise((res) => setTimeout(res, 200));
      await worker.terminate();
      loop.close();
      console.log(JSON.stringify({ signals, reads, fires: fires.length, onTime: fires[0] >= 140 }));`;
  return `
      import { ${o.factory} } from "${o.module}";
      import { pipe } from "@evloop/native";
      import { readSync } from "node:fs";
      import { Worker } from "node:worker_threads";
      let signals = 0;
      process.on("SIGUSR2", () => signals++);
      const loop = ${o.factory}();
      const [r, w] = pipe();
      const reads = [];
      loop.addHandle(r, 1, () => { reads.push(readSync(r, Buffer.alloc(64))); });
      ${rest}
    `;
}

/** Resolves after `ms` milliseconds (Node's loop runs meanwhile). */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `condition()` holds, checking every 2 ms or so, for at most `ms` (default 3,000); returns whether it holds. */
export async function until(condition: () => boolean, ms = 3000): Promise<boolean> {
  const end = performance.now() + ms;
  while (!condition() && performance.now() < end) await sleep(2);
  return condition();
}

/**
 * Defines, in the current `describe`, the fault tests every loop on real descriptors shares, the
 * same but for how the loop is driven:
 *
 * - numbers reused in the middle of a pass: 64 ready pipes, each callback removes its watch,
 *   closes its pipe and watches a new one (the system hands out the same numbers); no stale
 *   callback runs, and each new watch fires exactly once;
 * - signals arriving while the loop waits (in a child process, {@link runNodeChild}): a worker
 *   sends 100 SIGUSR2, then writes a byte; the wait does not end early (on `"runOnce"`, one
 *   `runOnce(10000)` returns with the byte's callback), the descriptor event arrives once, and a
 *   timer fires once, not before it is due.
 */
export function itFaultScenarios<L extends EventLoopImpl & ClosableLoop>(options: FaultScenarioOptions<L>): void {
  const { fixture, pipe } = options;
  it("numbers reused in the middle of a pass: 64 ready pipes, each callback removes its watch, closes and reopens its pipe; no stale callback, every new watch fires once", async () => {
    const loop = fixture.use(options.createLoop());
    const stale: number[] = [];
    const fresh = new Map<number, number>();
    const current = new Set<number>();
    for (let i = 0; i < 64; i++) {
      const [r, w] = fixture.track(pipe());
      writeSync(w, "x");
      current.add(
        loop.addHandle(r, READABLE, (id, fd) => {
          if (!current.has(id)) return void stale.push(id);
          current.delete(id);
          loop.removeHandle(id);
          closeSync(fd);
          closeSync(w);
          const [r2, w2] = fixture.track(pipe());
          writeSync(w2, "y");
          fresh.set(
            loop.addHandle(r2, READABLE, (id2, fd2) => {
              fresh.set(id2, (fresh.get(id2) ?? 0) + 1);
              readSync(fd2, Buffer.alloc(8));
            }),
            0,
          );
        }),
      );
    }
    if (options.drive === "runOnce") {
      for (let i = 0; i < 20; i++) (loop as unknown as DrivenLoop).runOnce(5);
      expect(stale).toEqual([]);
      expect(fresh.size).toBe(64);
    } else {
      expect(await until(() => fresh.size === 64 && [...fresh.values()].every((n) => n >= 1))).toBe(true);
      await sleep(50);
      expect(stale).toEqual([]);
    }
    expect([...fresh.values()].every((n) => n === 1)).toBe(true);
  });

  it("signals arriving while the loop waits: a storm of 100 SIGUSR2 neither ends the wait early nor loses or repeats a descriptor event or a timer fire", async () => {
    const result = await runNodeChild(signalsSource(options), { cwd: options.cwd });
    if (options.drive === "runOnce") expect(result).toMatchObject({ first: 1, reads: [1], woke: true, fires: 1, timerOnTime: true });
    else expect(result).toMatchObject({ reads: [1], fires: 1, onTime: true });
    expect((result as { signals: number }).signals).toBeGreaterThan(0);
  });
}
