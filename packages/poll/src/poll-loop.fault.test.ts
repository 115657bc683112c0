// Fault injection on real descriptors for the manual loop (docs/reliability.md): each fault gets
// the documented outcome, never a crash, a hang, a busy loop, or a lost event for another watch.
// Faults that need a process of their own run in a child process on the package's build.
import { execFile } from "node:child_process";
import { closeSync, readSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { HandleEvent } from "@evloop/core";
import { pipe, socketpair } from "@evloop/native";
import { afterEach, describe, expect, it } from "vitest";
import { createPollLoop, type PollLoop } from "./poll-loop.ts";

const { READABLE, WRITABLE, ERROR } = HandleEvent;
const packageDir = dirname(dirname(fileURLToPath(import.meta.url)));
const run = promisify(execFile);

/** Runs an ES module in a fresh Node process in this package, through bash so `ulimit` can be set first. */
async function child(source: string, options: { ulimit?: number; timeout?: number } = {}): Promise<unknown> {
  const limit = options.ulimit === undefined ? "" : `ulimit -n ${options.ulimit} && `;
  const { stdout } = await run("bash", ["-c", `${limit}exec "$0" --expose-gc --input-type=module -e "$1"`, process.execPath, source], {
    cwd: packageDir,
    timeout: options.timeout ?? 60_000,
  });
  return JSON.parse(stdout.trim().split("\n").pop() as string);
}

let loop: PollLoop | undefined;
const opened: number[] = [];
const track = <T extends number[]>(fds: T): T => (opened.push(...fds), fds);
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

describe("createPollLoop under faults", () => {
  it("a descriptor closed under its watch while runOnce() blocks with no timeout: the sweep wakes it with ERROR, once, and it does not spin", () => {
    loop = createPollLoop();
    const [r, w] = track(pipe());
    const events: number[] = [];
    loop.addHandle(r, READABLE, (_watch, _fd, got) => void events.push(got));
    closeSync(r);
    closeSync(w);
    const start = performance.now();
    // No timer and no timeout: only the sweep (every 250 ms) can end this wait.
    loop.runOnce();
    expect(performance.now() - start).toBeLessThan(2000);
    expect(events).toEqual([ERROR]);
    // Not reported again: a bounded wait ends with nothing.
    const cpu = process.cpuUsage();
    const ran = loop.runOnce(300);
    const used = process.cpuUsage(cpu);
    expect(ran).toBe(0);
    expect((used.user + used.system) / 1000).toBeLessThan(150);
  });

  it("numbers reused in the middle of a pass: 64 ready pipes, each callback removes its watch, closes and reopens its pipe; no stale callback, every new watch fires once", () => {
    loop = createPollLoop();
    const l = loop;
    const stale: number[] = [];
    const fresh = new Map<number, number>();
    const current = new Set<number>();
    for (let i = 0; i < 64; i++) {
      const [r, w] = track(pipe());
      writeSync(w, "x");
      current.add(
        l.addHandle(r, READABLE, (id, fd) => {
          if (!current.has(id)) return void stale.push(id);
          current.delete(id);
          l.removeHandle(id);
          closeSync(fd);
          closeSync(w);
          const [r2, w2] = track(pipe());
          writeSync(w2, "y");
          fresh.set(
            l.addHandle(r2, READABLE, (id2, fd2) => {
              fresh.set(id2, (fresh.get(id2) ?? 0) + 1);
              readSync(fd2, Buffer.alloc(8));
            }),
            0,
          );
        }),
      );
    }
    for (let i = 0; i < 20; i++) l.runOnce(5);
    expect(stale).toEqual([]);
    expect(fresh.size).toBe(64);
    expect([...fresh.values()].every((n) => n === 1)).toBe(true);
  });

  it("a peer closed mid-write: EPIPE from write, ERROR once from the loop, and the other watch keeps firing", () => {
    loop = createPollLoop();
    const [r, w] = track(pipe());
    const [a, b] = track(socketpair());
    const chunk = Buffer.alloc(16 * 1024, 120);
    const writer: number[] = [];
    let written = 0;
    let epipe = 0;
    loop.addHandle(w, WRITABLE, (_watch, _fd, got) => {
      writer.push(got);
      try {
        written += writeSync(w, chunk);
      } catch (error) {
        if ((error as { code?: string }).code === "EPIPE") epipe++;
      }
      if (written > 256 * 1024 && opened.includes(r)) {
        closeSync(r);
        opened.splice(opened.indexOf(r), 1);
      }
    });
    let others = 0;
    loop.addHandle(a, READABLE, () => {
      readSync(a, Buffer.alloc(8));
      others++;
    });
    for (let i = 0; i < 200 && !writer.some((e) => (e & ERROR) !== 0); i++) {
      if (opened.includes(r)) {
        try {
          readSync(r, Buffer.alloc(4096));
        } catch {
          // EAGAIN: nothing written yet.
        }
      }
      writeSync(b, "y");
      loop.runOnce(5);
    }
    expect(writer.filter((e) => (e & ERROR) !== 0)).toHaveLength(1);
    const atError = others;
    for (let i = 0; i < 5; i++) {
      writeSync(b, "y");
      loop.runOnce(5);
    }
    expect(others).toBe(atError + 5);
    // The ERROR is reported once; the watch is not polled again (no busy loop).
    expect(writer.filter((e) => (e & ERROR) !== 0)).toHaveLength(1);
    expect(epipe + writer.length).toBeGreaterThan(0);
  });

  it("without onError, what a callback and a free callback threw is thrown from runOnce after the pass, and the next runOnce serves the rest", () => {
    loop = createPollLoop();
    const [a, b] = track(socketpair());
    const [c, d] = track(socketpair());
    writeSync(b, "x");
    writeSync(d, "x");
    let other = 0;
    const thrower = loop.addHandle(
      a,
      READABLE,
      () => {
        readSync(a, Buffer.alloc(8));
        throw new Error("callback");
      },
      () => {
        throw new Error("free");
      },
    );
    loop.addHandle(c, READABLE, () => {
      readSync(c, Buffer.alloc(8));
      other++;
    });
    expect(() => loop?.runOnce(100)).toThrow("callback");
    expect(other).toBe(1);
    loop.removeHandle(thrower);
    expect(() => loop?.runOnce(0)).toThrow("free");
    writeSync(d, "x");
    expect(loop.runOnce(100)).toBe(1);
    expect(other).toBe(2);
  });

  it("descriptor exhaustion (EMFILE): creating a loop throws a typed EMFILE, a loop made before keeps serving, pipe() throws EMFILE too", async () => {
    const result = await child(
      `
      import { createPollLoop } from "@evloop/poll";
      import { pipe } from "@evloop/native";
      import { closeSync, readSync, writeSync } from "node:fs";
      const loop = createPollLoop();
      const held = [];
      let pipeError;
      for (;;) {
        try { held.push(...pipe()); } catch (e) { pipeError = { code: e.code, isError: e instanceof Error }; break; }
      }
      let loopError;
      try { createPollLoop().close(); } catch (e) { loopError = { code: e.code, isError: e instanceof Error }; }
      const [r, w] = [held[held.length - 2], held[held.length - 1]];
      let fired = 0;
      loop.addHandle(r, 1, () => { readSync(r, Buffer.alloc(8)); fired++; });
      writeSync(w, "x");
      loop.runOnce(100);
      for (const fd of held) closeSync(fd);
      const again = createPollLoop();
      again.close();
      loop.close();
      console.log(JSON.stringify({ pipeError, loopError, fired, held: held.length }));
    `,
      { ulimit: 256 },
    );
    expect(result).toMatchObject({ pipeError: { code: "EMFILE", isError: true }, loopError: { code: "EMFILE", isError: true }, fired: 1 });
  });

  it("signals arriving during a blocking wait: a storm of 100 SIGUSR2 neither ends the wait early nor loses the descriptor event or the timer", async () => {
    const result = await child(`
      import { Worker } from "node:worker_threads";
      import { createPollLoop } from "@evloop/poll";
      import { pipe } from "@evloop/native";
      import { readSync } from "node:fs";
      let signals = 0;
      process.on("SIGUSR2", () => signals++);
      const loop = createPollLoop();
      const [r, w] = pipe();
      const reads = [];
      loop.addHandle(r, 1, () => reads.push(readSync(r, Buffer.alloc(64))));
      const worker = new Worker(
        "Promise.all([import('node:fs'), import('node:worker_threads')]).then(([fs, wt]) => {" +
        " let n = 0; const t = setInterval(() => { process.kill(process.pid, 'SIGUSR2'); if (++n === 100) { clearInterval(t); setTimeout(() => fs.writeSync(wt.workerData, 'x'), 100); } }, 1); });",
        { eval: true, workerData: w });
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
      console.log(JSON.stringify({ first, reads, woke: waited < 5000, fires, timerOnTime: timerAt >= 95 && timerAt < 2000, signals }));
    `);
    expect(result).toMatchObject({ first: 1, reads: [1], woke: true, fires: 1, timerOnTime: true });
    expect((result as { signals: number }).signals).toBeGreaterThan(0);
  });
});
