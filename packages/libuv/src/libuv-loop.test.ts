import { execFile } from "node:child_process";
import { closeSync, readSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { HandleEvent } from "@evloop/core";
import { pipe, socketpair } from "@evloop/native";
import { afterEach, describe, expect, it } from "vitest";
import { createLibuvLoop, type LibuvLoop } from "./libuv-loop.ts";

const { READABLE, WRITABLE, ERROR } = HandleEvent;
const packageDir = dirname(dirname(fileURLToPath(import.meta.url)));
const run = promisify(execFile);

/** Runs a module in a fresh Node process inside this package (so `@evloop/libuv` is its own build). */
function node(source: string, timeout = 60_000) {
  return run(process.execPath, ["--expose-gc", "--input-type=module", "-e", source], { cwd: packageDir, timeout });
}

const until = async (condition: () => boolean, ms = 3000) => {
  const end = performance.now() + ms;
  while (!condition() && performance.now() < end) await new Promise((r) => setTimeout(r, 2));
  return condition();
};

let loop: LibuvLoop | undefined;
afterEach(() => loop?.close());

describe("createLibuvLoop on real descriptors", () => {
  it("serves several watches on one descriptor with one poll handle: each gets its bits, and removing one leaves the other", async () => {
    loop = createLibuvLoop();
    const [a, b] = socketpair();
    const seen: string[] = [];
    // libuv refuses a second poll handle on one fd (EEXIST): both watches working proves they share one.
    const reader = loop.addHandle(a, READABLE, (_w, _fd, ev) => void seen.push(`r${ev}`));
    const writer = loop.addHandle(a, WRITABLE, (_w, _fd, ev) => void seen.push(`w${ev}`));
    writeSync(b, "x");
    expect(await until(() => seen.includes(`r${READABLE}`) && seen.includes(`w${WRITABLE}`))).toBe(true);
    expect(loop.removeHandle(reader)).toBe(0);
    readSync(a, Buffer.alloc(8));
    seen.length = 0;
    expect(await until(() => seen.length > 3)).toBe(true);
    expect(new Set(seen)).toEqual(new Set([`w${WRITABLE}`]));
    loop.removeHandle(writer);
    closeSync(a);
    closeSync(b);
  });

  it("stops polling inside removeHandle: the number closed and reused at once never reaches the old callback", async () => {
    loop = createLibuvLoop();
    const [r, w] = pipe();
    let stale = 0;
    const old = loop.addHandle(r, READABLE, () => void stale++);
    expect(loop.removeHandle(old)).toBe(0);
    closeSync(r);
    const [r2, w2] = pipe();
    expect(r2).toBe(r);
    let fresh = 0;
    loop.addHandle(r2, READABLE, (watch) => {
      fresh++;
      loop?.removeHandle(watch);
    });
    writeSync(w2, "x");
    expect(await until(() => fresh === 1)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(stale).toBe(0);
    for (const fd of [r2, w, w2]) closeSync(fd);
  });

  it("reports ERROR once for a descriptor closed under its watch, without spinning", async () => {
    loop = createLibuvLoop();
    const [r, w] = pipe();
    const events: number[] = [];
    loop.addHandle(r, READABLE, (_watch, _fd, ev) => void events.push(ev));
    closeSync(r);
    expect(await until(() => events.length > 0)).toBe(true);
    expect((events[0] as number) & ERROR).toBe(ERROR);
    const cpu = process.cpuUsage();
    const start = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const used = process.cpuUsage(cpu);
    // A busy loop would burn the whole 300 ms; an idle one a few milliseconds.
    expect((used.user + used.system) / 1000).toBeLessThan((performance.now() - start) / 2);
    expect(events).toHaveLength(1);
    closeSync(w);
  });

  it("gives a number that is not an open descriptor one ERROR", async () => {
    loop = createLibuvLoop();
    const events: number[] = [];
    loop.addHandle(4_000_000, READABLE, (_w, _fd, ev) => void events.push(ev));
    expect(await until(() => events.length > 0)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(events).toEqual([ERROR]);
  });

  it("routes a throwing callback to uncaughtException after the pass, and keeps every other watch firing", async () => {
    const { stdout } = await node(`
      import { createLibuvLoop } from "@evloop/libuv";
      import { socketpair } from "@evloop/native";
      import { writeSync, readSync } from "node:fs";
      const caught = [];
      process.on("uncaughtException", (e) => caught.push(e.message));
      const loop = createLibuvLoop();
      const [a, b] = socketpair();
      const [c, d] = socketpair();
      let others = 0;
      loop.addHandle(a, 1, () => { readSync(a, Buffer.alloc(8)); throw new Error("boom " + caught.length); });
      loop.addHandle(c, 1, () => { readSync(c, Buffer.alloc(8)); others++; });
      for (let round = 0; round < 3; round++) {
        writeSync(b, "x"); writeSync(d, "y");
        await new Promise((r) => setTimeout(r, 20));
      }
      loop.close();
      console.log(JSON.stringify({ caught, others }));
    `);
    expect(JSON.parse(stdout)).toEqual({ caught: ["boom 0", "boom 1", "boom 2"], others: 3 });
  });

  it("keeps its timers firing after a timer callback threw to uncaughtException", async () => {
    const { stdout } = await node(`
      import { createLibuvLoop } from "@evloop/libuv";
      const caught = [];
      process.on("uncaughtException", (e) => caught.push(e.message));
      const loop = createLibuvLoop();
      let steady = 0;
      const thrower = loop.addTimeout(3, () => { throw new Error("tick " + caught.length); });
      loop.addTimeout(5, () => {
        if (++steady < 4) return;
        loop.removeTimeout(thrower);
        loop.close();
        console.log(JSON.stringify({ threw: caught.length >= 3, steady }));
      });
    `);
    expect(JSON.parse(stdout)).toEqual({ threw: true, steady: 4 });
  });

  it("hands the error to onError instead when one is given", async () => {
    const errors: unknown[] = [];
    loop = createLibuvLoop({ onError: (e) => void errors.push(e) });
    loop.addTimeout(1, () => {
      throw new Error("timer");
    });
    expect(await until(() => errors.length >= 2)).toBe(true);
    expect((errors[0] as Error).message).toBe("timer");
  });

  it("adds and removes 100,000 watches and timers (five times over) with memory flat, then lets the process exit", async () => {
    const { stdout } = await node(`
      import { createLibuvLoop } from "@evloop/libuv";
      import { socketpair } from "@evloop/native";
      const loop = createLibuvLoop();
      const [a] = socketpair();
      const cycle = (n) => {
        for (let i = 0; i < n; i++) {
          loop.removeHandle(loop.addHandle(a, 1, () => {}, () => {}));
          loop.removeTimeout(loop.addTimeout(1000 + (i % 100), () => {}, () => {}));
        }
      };
      const settle = async () => { await new Promise((r) => setImmediate(r)); global.gc(); global.gc(); };
      // Two rounds to let the allocators reach their working size, then three measured ones.
      for (let round = 0; round < 2; round++) { cycle(100000); await settle(); }
      const before = process.memoryUsage();
      for (let round = 0; round < 3; round++) { cycle(100000); await settle(); }
      const after = process.memoryUsage();
      loop.close();
      console.log(JSON.stringify({ heap: after.heapUsed - before.heapUsed, rss: after.rss - before.rss }));
      // No process.exit: the test fails by timeout if something keeps the process alive.
    `);
    const growth = JSON.parse(stdout) as { heap: number; rss: number };
    // 300,000 more cycles: leaking even 30 bytes a cycle would add 9 MiB.
    expect(growth.heap).toBeLessThan(1024 * 1024);
    expect(growth.rss).toBeLessThan(8 * 1024 * 1024);
  });

  it("keeps the process alive while watches are registered (ref), and not with ref: false or after close()", async () => {
    const script = (setup: string) => `
      import { createLibuvLoop } from "@evloop/libuv";
      import { pipe } from "@evloop/native";
      const [r] = pipe();
      ${setup}
    `;
    await expect(node(script(`createLibuvLoop({ ref: false }).addHandle(r, 1, () => {}); createLibuvLoop({ ref: false }).addTimeout(60000, () => {});`), 10_000)).resolves.toBeDefined();
    await expect(node(script(`const l = createLibuvLoop(); l.addHandle(r, 1, () => {}); l.close();`), 10_000)).resolves.toBeDefined();
    await expect(node(script(`createLibuvLoop().addHandle(r, 1, () => {});`), 1500)).rejects.toMatchObject({ killed: true });
  });

  it("fires a timer on time after an earlier one was removed, and each periodic timer keeps its period", async () => {
    loop = createLibuvLoop();
    const start = performance.now();
    const fired: { name: string; at: number }[] = [];
    const first = loop.addTimeout(20, () => fired.push({ name: "first", at: performance.now() - start }));
    loop.addTimeout(60, () => fired.push({ name: "second", at: performance.now() - start }));
    loop.addTimeout(7, () => fired.push({ name: "periodic", at: performance.now() - start }));
    loop.removeTimeout(first);
    expect(await until(() => fired.some((f) => f.name === "second"))).toBe(true);
    expect(fired.filter((f) => f.name === "first")).toEqual([]);
    const second = fired.find((f) => f.name === "second") as { at: number };
    expect(second.at).toBeGreaterThanOrEqual(60);
    // Every fire of the 7 ms timer, counted from the start, is due at a multiple of 7 ms: the
    // n-th never comes before 7n ms (the phase is kept, a late fire does not shift the others).
    const periodic = fired.filter((f) => f.name === "periodic").map((f) => f.at);
    expect(periodic.length).toBeGreaterThanOrEqual(5);
    periodic.forEach((at, n) => expect(at).toBeGreaterThanOrEqual(7 * (n + 1)));
  });

  it("lets the process exit once the last timer is removed, also when it was armed far ahead", async () => {
    await expect(
      node(
        `
        import { createLibuvLoop } from "@evloop/libuv";
        const loop = createLibuvLoop();
        const near = loop.addTimeout(60000, () => {});
        const far = loop.addTimeout(120000, () => {});
        setTimeout(() => loop.removeTimeout(near), 5);
        setTimeout(() => loop.removeTimeout(far), 10);
      `,
        5_000,
      ),
    ).resolves.toBeDefined();
  });

  it("runs in a worker thread and the main thread at the same time, each on its own loop", async () => {
    // Each side counts 20 readable events on its own socketpair, fed by its own timer.
    const side = [
      'const { createLibuvLoop } = await import("@evloop/libuv");',
      'const { socketpair } = await import("@evloop/native");',
      'const { readSync, writeSync } = await import("node:fs");',
      "const count = await new Promise((done) => {",
      "  const loop = createLibuvLoop();",
      "  const [a, b] = socketpair();",
      "  let n = 0;",
      "  loop.addHandle(a, 1, () => { readSync(a, Buffer.alloc(8)); if (++n === 20) { loop.close(); done(n); } });",
      '  loop.addTimeout(2, () => writeSync(b, "x"));',
      "});",
    ].join("\n");
    const workerSource = `(async () => {\n${side}\n(await import("node:worker_threads")).parentPort.postMessage(count);\n})();`;
    const { stdout } = await node(
      [
        'import { Worker } from "node:worker_threads";',
        `const worker = new Worker(${JSON.stringify(workerSource)}, { eval: true });`,
        'const fromWorker = new Promise((resolve) => worker.once("message", resolve));',
        side,
        "console.log(JSON.stringify({ worker: await fromWorker, main: count }));",
      ].join("\n"),
    );
    expect(JSON.parse(stdout)).toEqual({ worker: 20, main: 20 });
  });
});
