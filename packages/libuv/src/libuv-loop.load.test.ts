// Load on real descriptors (docs/reliability.md): as many watched descriptors as the hard limit
// allows, and 1,000,000 timer operations, each in a child process whose soft descriptor limit is
// raised to the hard one, with memory measured before and after, and the loop idle at the end
// (the child exits on its own: nothing the loop held keeps it alive).
import { execFile } from "node:child_process";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const packageDir = dirname(dirname(fileURLToPath(import.meta.url)));
const run = promisify(execFile);

/** Runs an ES module in a child with the soft descriptor limit raised to the hard limit; returns its last line, parsed. */
async function child(source: string, timeout = 120_000): Promise<Record<string, unknown>> {
  const { stdout } = await run("bash", ["-c", `ulimit -n "$(ulimit -Hn)" && exec "$0" --expose-gc --input-type=module -e "$1"`, process.execPath, source], {
    cwd: packageDir,
    timeout,
    maxBuffer: 16 * 1024 * 1024,
  });
  const result = JSON.parse(stdout.trim().split("\n").pop() as string) as Record<string, unknown>;
  console.log(`${expect.getState().currentTestName}: ${JSON.stringify(result)}`);
  return result;
}

/** Shared by both children: gc twice after a turn of the loop, and the memory then. */
const MEMORY = `
  const settle = async () => { await new Promise((r) => setImmediate(r)); await new Promise((r) => setTimeout(r, 10)); global.gc(); global.gc(); };
  const memory = () => { const m = process.memoryUsage(); return { heap: m.heapUsed, rss: m.rss }; };
`;

describe("createLibuvLoop under load", () => {
  it("watches as many descriptors as the hard limit allows (at least 10,000): each fires exactly once when ready, then the loop is idle and memory returns", async () => {
    const r = await child(`
      import { createLibuvLoop } from "@evloop/libuv";
      import { socketpair } from "@evloop/native";
      import { closeSync, readSync, writeSync } from "node:fs";
      import { execSync } from "node:child_process";
      ${MEMORY}
      const limit = Number(execSync("bash -c 'ulimit -n'").toString().trim());
      await settle();
      const before = memory();
      const loop = createLibuvLoop();
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
      while (!all() && performance.now() - t1 < 30000) await new Promise((r) => setTimeout(r, 5));
      const dispatchMs = performance.now() - t1;
      // Idle now: nothing ready, nothing fires again, and the loop does not spin.
      const cpu = process.cpuUsage();
      const t2 = performance.now();
      await new Promise((r) => setTimeout(r, 300));
      const used = process.cpuUsage(cpu);
      const idleCpu = (used.user + used.system) / 1000 / (performance.now() - t2);
      const once = ends.every((fd) => fired[fd] === 1);
      for (const w of watches) loop.removeHandle(w);
      await settle();
      const left = loop.registrations();
      for (const fd of ends) closeSync(fd);
      loop.close();
      await settle();
      const after = memory();
      console.log(JSON.stringify({ limit, stop, watched: ends.length, once, frees, addMs: Math.round(addMs), dispatchMs: Math.round(dispatchMs), idleCpu: +idleCpu.toFixed(3),
        left: left.handles.length, heapGrowth: after.heap - before.heap, rssGrowth: after.rss - before.rss }));
    `);
    expect(r.stop).toBe("EMFILE");
    expect(r.watched as number).toBeGreaterThanOrEqual(10_000);
    expect(r.watched as number).toBeGreaterThan((r.limit as number) - 200);
    expect(r.once).toBe(true);
    expect(r.frees).toBe(r.watched);
    expect(r.left).toBe(0);
    expect(r.idleCpu as number).toBeLessThan(0.5);
    expect(r.heapGrowth as number).toBeLessThan(4 * 1024 * 1024);
  });

  it("1,000,000 timer operations (add, update, remove over 10,000 live timers, short ones firing): memory returns and the loop is idle at the end", async () => {
    const r = await child(`
      import { createLibuvLoop } from "@evloop/libuv";
      ${MEMORY}
      const loop = createLibuvLoop();
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
          if (i % 10000 === 9999) await new Promise((r) => setImmediate(r));
        }
      };
      // A warm-up round lets the heap and the id table reach their working size.
      await round(100000);
      for (const t of live.splice(0)) removed += loop.removeTimeout(t) === 0 ? 1 : 0;
      await settle();
      const before = memory();
      const t0 = performance.now();
      await round(OPS);
      const ms = performance.now() - t0;
      for (const t of live.splice(0)) removed += loop.removeTimeout(t) === 0 ? 1 : 0;
      await settle();
      const after = memory();
      const left = loop.registrations();
      console.log(JSON.stringify({ ops: OPS, ms: Math.round(ms), nsPerOp: Math.round((ms * 1e6) / OPS), fires, frees, removed,
        left: left.timers.length, heapGrowth: after.heap - before.heap, rssGrowth: after.rss - before.rss }));
      // No loop.close(), no process.exit: the test fails by timeout if an armed timer keeps the process alive.
    `);
    expect(r.left).toBe(0);
    expect(r.fires as number).toBeGreaterThan(0);
    // Every removal's free callback ran, once.
    expect(r.frees).toBe(r.removed);
    expect(r.heapGrowth as number).toBeLessThan(2 * 1024 * 1024);
    expect(r.rssGrowth as number).toBeLessThan(32 * 1024 * 1024);
  });
});
