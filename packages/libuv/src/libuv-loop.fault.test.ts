// Fault injection on real descriptors (docs/reliability.md): each fault gets the documented
// outcome, a typed error or an ERROR/HANGUP event, never a crash, a hang, a busy loop, or a lost
// event for another watch. The faults that need a process of their own (a lowered descriptor
// limit, uncaught exceptions, signals) run in a child process on the package's build.
import { closeSync, readSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { HandleEvent } from "@evloop/core";
import { pipe, socketpair } from "@evloop/native";
import { runNodeChild } from "@evloop/conformance/node";
import { itFaultScenarios, sleep, until, useFaultFixture } from "@evloop/conformance/node-reliability";
import { describe, expect, it } from "vitest";
import { createLibuvLoop } from "./libuv-loop.ts";

const { READABLE, WRITABLE, ERROR, HANGUP } = HandleEvent;
const packageDir = dirname(dirname(fileURLToPath(import.meta.url)));

/** Runs an ES module in a fresh Node process in this package (on its build), with the descriptor limit `ulimit` if given. */
const child = (source: string, options: { ulimit?: number } = {}): Promise<unknown> => runNodeChild(source, { cwd: packageDir, ...options });

/** CPU time used while `ms` of wall time pass, as a fraction of it: about 0 idle, about 1 for a busy loop. */
async function cpuShare(ms: number): Promise<number> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await sleep(ms);
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / 1000 / (performance.now() - start);
}

const faults = useFaultFixture();
const { track, opened } = faults;

describe("createLibuvLoop under faults", () => {
  // Shared with the other loops on real descriptors: numbers reused in the middle of a pass, signals during a wait.
  itFaultScenarios({ fixture: faults, createLoop: () => createLibuvLoop(), pipe, drive: "node", module: "@evloop/libuv", factory: "createLibuvLoop", cwd: packageDir });

  it("a peer closed mid-write: the writer gets EPIPE from write and ERROR from the loop, once, and another watch loses nothing", async () => {
    const errors: unknown[] = [];
    const loop = faults.use(createLibuvLoop({ onError: (e) => void errors.push(e) }));
    const [r, w] = track(pipe());
    const [a, b] = track(socketpair());
    const chunk = Buffer.alloc(16 * 1024, 120);
    const writer = { events: [] as number[], written: 0, epipe: 0 };
    let reads = 0;
    loop.addHandle(w, WRITABLE, (watch, _fd, events) => {
      writer.events.push(events);
      if ((events & (ERROR | HANGUP)) !== 0) return -1;
      try {
        writer.written += writeSync(w, chunk);
      } catch (error) {
        if ((error as { code?: string }).code === "EPIPE") writer.epipe++;
        else if ((error as { code?: string }).code !== "EAGAIN") throw error;
      }
      // The reader goes away in the middle of the stream, with the pipe full.
      if (writer.written > 256 * 1024 && opened.includes(r)) {
        closeSync(r);
        opened.splice(opened.indexOf(r), 1);
      }
      return undefined;
    });
    // Drains the pipe until it closes it; meanwhile another descriptor keeps being ready.
    const reader = loop.addHandle(r, READABLE, () => {
      reads++;
      readSync(r, Buffer.alloc(64 * 1024));
    });
    let others = 0;
    loop.addHandle(a, READABLE, () => {
      readSync(a, Buffer.alloc(8));
      others++;
    });
    const feed = loop.addTimeout(1, () => void writeSync(b, "y"));
    expect(await until(() => writer.events.some((e) => (e & ERROR) !== 0))).toBe(true);
    loop.removeHandle(reader);
    const atError = others;
    expect(await until(() => others >= atError + 5)).toBe(true);
    // ERROR (a pipe whose reader closed), exactly once: the callback's -1 removed the watch.
    expect(writer.events.filter((e) => (e & ERROR) !== 0)).toHaveLength(1);
    expect(reads).toBeGreaterThan(0);
    loop.removeTimeout(feed);
    expect(errors).toEqual([]);
  });

  it("the watched descriptor closed under the loop and its number reused at once: the old watch gets ERROR once, a new watch on the number fires, nothing spins", async () => {
    const loop = faults.use(createLibuvLoop());
    const [r, w] = track(pipe());
    const old: number[] = [];
    loop.addHandle(r, READABLE, (_watch, _fd, events) => void old.push(events));
    closeSync(r);
    closeSync(w);
    const [r2, w2] = track(pipe());
    expect(r2).toBe(r);
    writeSync(w2, "new");
    const fresh: number[] = [];
    // Same mask as the old watch: the loop must register the number afresh for it.
    const freshWatch = loop.addHandle(r2, READABLE, (_watch, fd, events) => {
      fresh.push(events);
      readSync(fd, Buffer.alloc(8));
    });
    expect(await until(() => fresh.length >= 1)).toBe(true);
    expect(fresh[0]).toBe(READABLE);
    // The old watch was told about the number (ERROR, or the new pipe's events), a bounded number of times.
    await sleep(300);
    expect(old.length).toBeLessThanOrEqual(2);
    expect(await cpuShare(300)).toBeLessThan(0.5);
    writeSync(w2, "again");
    expect(await until(() => fresh.length >= 2)).toBe(true);
    loop.removeHandle(freshWatch);
  });

  it("a callback and a free callback that throw: each error reaches onError once, after the pass, and every other callback and free callback still runs", async () => {
    const errors: string[] = [];
    const loop = faults.use(createLibuvLoop({ onError: (e) => void errors.push((e as Error).message) }));
    const [a, b] = track(socketpair());
    const [c, d] = track(socketpair());
    writeSync(b, "x");
    writeSync(d, "x");
    let other = 0;
    const frees: string[] = [];
    const thrower = loop.addHandle(
      a,
      READABLE,
      () => {
        readSync(a, Buffer.alloc(8));
        throw new Error("callback");
      },
      () => {
        frees.push("thrower");
        throw new Error("free");
      },
    );
    const quiet = loop.addHandle(
      c,
      READABLE,
      () => {
        readSync(c, Buffer.alloc(8));
        other++;
      },
      () => void frees.push("quiet"),
    );
    expect(await until(() => errors.length >= 1 && other >= 1)).toBe(true);
    loop.removeHandle(thrower);
    loop.removeHandle(quiet);
    expect(await until(() => frees.length === 2 && errors.length === 2)).toBe(true);
    expect(errors).toEqual(["callback", "free"]);
    expect(frees.sort()).toEqual(["quiet", "thrower"]);
  });

  it("without onError, a throwing callback or free callback is an uncaught exception after the pass, and the loop keeps serving", async () => {
    const result = await child(`
      import { createLibuvLoop } from "@evloop/libuv";
      import { socketpair } from "@evloop/native";
      import { readSync, writeSync } from "node:fs";
      const caught = [];
      process.on("uncaughtException", (e) => caught.push(e.message));
      const loop = createLibuvLoop();
      const [a, b] = socketpair();
      let fired = 0;
      const w = loop.addHandle(a, 1, () => { readSync(a, Buffer.alloc(8)); fired++; throw new Error("cb " + fired); }, () => { throw new Error("free"); });
      writeSync(b, "x");
      await new Promise((r) => setTimeout(r, 30));
      writeSync(b, "x");
      await new Promise((r) => setTimeout(r, 30));
      loop.removeHandle(w);
      await new Promise((r) => setTimeout(r, 30));
      let after = 0;
      loop.addTimeout(1, (t) => { after++; loop.removeTimeout(t); });
      await new Promise((r) => setTimeout(r, 30));
      loop.close();
      console.log(JSON.stringify({ caught, after }));
    `);
    expect(result).toEqual({ caught: ["cb 1", "cb 2", "free"], after: 1 });
  });

  it("descriptor exhaustion (EMFILE) while adding: pipe() throws a typed EMFILE, the loop keeps every watch it had and takes new ones on open descriptors", async () => {
    const result = await child(
      `
      import { createLibuvLoop } from "@evloop/libuv";
      import { pipe, socketpair } from "@evloop/native";
      import { closeSync, readSync, writeSync } from "node:fs";
      const loop = createLibuvLoop();
      const [a, b] = socketpair();
      let before = 0;
      loop.addHandle(a, 1, () => { readSync(a, Buffer.alloc(8)); before++; });
      const held = [];
      let error;
      for (;;) {
        try { held.push(...pipe()); } catch (e) { error = { code: e.code, syscall: e.syscall ?? null, isError: e instanceof Error }; break; }
      }
      // At the limit: watch a descriptor we hold (no new descriptor is needed to watch one).
      let during = 0;
      const [r, w] = [held[held.length - 2], held[held.length - 1]];
      const watch = loop.addHandle(r, 1, () => { readSync(r, Buffer.alloc(8)); during++; });
      writeSync(w, "x");
      writeSync(b, "x");
      await new Promise((res) => setTimeout(res, 50));
      loop.removeHandle(watch);
      for (const fd of held) closeSync(fd);
      const [r2, w2] = pipe();
      let after = 0;
      loop.addHandle(r2, 1, () => { readSync(r2, Buffer.alloc(8)); after++; });
      writeSync(w2, "x");
      await new Promise((res) => setTimeout(res, 50));
      loop.close();
      console.log(JSON.stringify({ error, held: held.length, before, during, after }));
    `,
      { ulimit: 256 },
    );
    expect(result).toMatchObject({ error: { code: "EMFILE", isError: true }, before: 1, during: 1, after: 1 });
    expect((result as { held: number }).held).toBeGreaterThan(100);
  });

  // A socket error (POLLERR: Linux sets ECONNRESET on a socket whose peer closed with unread data)
  // ends polling of the descriptor, but the native pollers report it with READABLE while data is
  // still buffered in it (uv-poller.c ready_after_error, fd-waiter.c record_events), once: a read
  // then returns that data.
  it("a socket reset by its peer with data still buffered is reported READABLE with the ERROR, and a read returns the data", async () => {
    const loop = faults.use(createLibuvLoop());
    const [a, b] = track(socketpair());
    writeSync(a, "for b");
    writeSync(b, "never read by a");
    const events: number[] = [];
    loop.addHandle(b, READABLE, (_watch, _fd, got) => void events.push(got));
    closeSync(a);
    opened.splice(opened.indexOf(a), 1);
    await until(() => events.some((e) => (e & READABLE) !== 0), 500);
    expect(readSync(b, Buffer.alloc(16))).toBe(5);
    expect(events.some((e) => (e & (READABLE | ERROR)) === (READABLE | ERROR))).toBe(true);
  });
});
