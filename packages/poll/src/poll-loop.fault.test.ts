// Fault injection on real descriptors for the manual loop (docs/reliability.md): each fault gets
// the documented outcome, never a crash, a hang, a busy loop, or a lost event for another watch.
// Faults that need a process of their own run in a child process on the package's build.
import { closeSync, readSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { HandleEvent } from "@evloop/core";
import { pipe, socketpair } from "@evloop/native";
import { runNodeChild } from "@evloop/conformance/node";
import { itFaultScenarios, useFaultFixture } from "@evloop/conformance/node-reliability";
import { describe, expect, it } from "vitest";
import { createPollLoop } from "./poll-loop.ts";

const { READABLE, WRITABLE, ERROR } = HandleEvent;
const packageDir = dirname(dirname(fileURLToPath(import.meta.url)));

/** Runs an ES module in a fresh Node process in this package (on its build), with the descriptor limit `ulimit` if given. */
const child = (source: string, options: { ulimit?: number } = {}): Promise<unknown> => runNodeChild(source, { cwd: packageDir, ...options });

const faults = useFaultFixture();
const { track, opened } = faults;

describe("createPollLoop under faults", () => {
  // Shared with the other loops on real descriptors: numbers reused in the middle of a pass, signals during a wait.
  itFaultScenarios({ fixture: faults, createLoop: () => createPollLoop(), pipe, drive: "runOnce", module: "@evloop/poll", factory: "createPollLoop", cwd: packageDir });

  it("a descriptor closed under its watch while runOnce() blocks with no timeout: the sweep wakes it with ERROR, once, and it does not spin", () => {
    const loop = faults.use(createPollLoop());
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

  it("a peer closed mid-write: EPIPE from write, ERROR once from the loop, and the other watch keeps firing", () => {
    const loop = faults.use(createPollLoop());
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
    const loop = faults.use(createPollLoop());
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
    expect(() => loop.runOnce(100)).toThrow("callback");
    expect(other).toBe(1);
    loop.removeHandle(thrower);
    expect(() => loop.runOnce(0)).toThrow("free");
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
});
