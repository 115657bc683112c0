/**
 * A conformance fixture on real descriptors, for loops that run in Node: pipes and socketpairs
 * made by the caller (for example with `@evloop/native`), written and read with `node:fs`.
 *
 * ```ts
 * import { describeConformance } from "@evloop/conformance/vitest";
 * import { nodeFixture } from "@evloop/conformance/node";
 * import { pipe, socketpair } from "@evloop/native";
 * describeConformance(nodeFixture({ name: "my loop", createLoop: (o) => createMyLoop(o), pipe, socketpair, drive: "node" }));
 * ```
 * @module @evloop/conformance/node
 */
import { execFile } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { ErrorHandler, EventLoopImpl } from "@evloop/core";
import type { ConformanceFixture } from "./fixture.ts";

/** A loop the application drives by calling `runOnce(timeoutMs)`. */
export interface DrivenLoop extends EventLoopImpl {
  /**
   * Dispatches what is ready, waiting at most `timeoutMs` milliseconds for something to be (`0`
   * does not block), and returns how many callbacks ran. Errors raised without `onError` are thrown from here.
   */
  runOnce(timeoutMs?: number): number;
}

/** Options of {@link nodeFixture}. */
export interface NodeFixtureOptions<L extends EventLoopImpl> {
  /** The adapter's name, used in test titles. */
  readonly name: string;
  /** Makes a fresh loop for one scenario, passing `onError` on as the loop's own option (it may be absent). */
  createLoop(options: { onError?: ErrorHandler }): L;
  /** Releases a loop; by default its `close()` method when it has one. */
  dispose?(loop: L): void | Promise<void>;
  /** Makes a non-blocking pipe: `[readEnd, writeEnd]`. */
  pipe(): [number, number];
  /** Makes a non-blocking pair of connected stream sockets. */
  socketpair(): [number, number];
  /**
   * Who runs the loop. `"node"`: Node's own event loop runs it (libuv-based loops); the fixture
   * only yields to it, and errors raised without `onError` arrive as uncaught exceptions.
   * `"runOnce"`: the fixture calls `loop.runOnce(timeout)`, and errors raised without `onError`
   * are what `runOnce` throws.
   */
  readonly drive: "node" | "runOnce";
}

/** An fd number far above any this process opens, and below every native limit. */
const NOT_OPEN = 4_000_000;

const errno = (error: unknown): unknown => (error as { code?: unknown }).code;

/** Creates a {@link ConformanceFixture} on real descriptors. */
export function nodeFixture<L extends EventLoopImpl>(options: NodeFixtureOptions<L>): ConformanceFixture<L> {
  const raised = new Map<L, unknown[]>();
  const opened = new Map<L, Set<number>>();
  const files = new Map<L, string>();

  const track = (loop: L, fds: [number, number]): [number, number] => {
    for (const fd of fds) opened.get(loop)?.add(fd);
    return fds;
  };
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

  /** Lets the loop run for up to `ms`: Node's loop for a while, or one `runOnce`. */
  async function step(loop: L, ms: number): Promise<void> {
    if (options.drive === "node") {
      // While Node's loop runs this loop's callbacks, uncaught exceptions are its raised errors
      // (and must not reach the test runner's own handler).
      const saved = process.listeners("uncaughtException");
      process.removeAllListeners("uncaughtException");
      const capture = (error: unknown) => raised.get(loop)?.push(error);
      process.on("uncaughtException", capture);
      try {
        await sleep(Math.max(0, Math.min(ms, 2)));
      } finally {
        process.removeListener("uncaughtException", capture);
        for (const l of saved) process.on("uncaughtException", l);
      }
      return;
    }
    try {
      (loop as unknown as DrivenLoop).runOnce(Math.max(0, Math.min(ms, 5)));
    } catch (error) {
      raised.get(loop)?.push(error);
    }
    // Let promise-based scenario code and Node's own callbacks run between passes.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  return {
    name: options.name,
    virtualTime: false,
    createLoop(loopOptions) {
      const loop = options.createLoop(loopOptions);
      raised.set(loop, []);
      opened.set(loop, new Set());
      return loop;
    },
    async dispose(loop) {
      if (options.dispose) await options.dispose(loop);
      else (loop as { close?: () => void }).close?.();
      for (const fd of opened.get(loop) ?? []) {
        try {
          closeSync(fd);
        } catch {
          // Closed by the scenario already.
        }
      }
      const dir = files.get(loop);
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
      opened.delete(loop);
      files.delete(loop);
    },
    pipe: (loop) => track(loop, options.pipe()),
    socketpair: (loop) => track(loop, options.socketpair()),
    write(_loop, fd, data) {
      const bytes = typeof data === "string" ? Buffer.from(data) : data;
      try {
        return writeSync(fd, bytes);
      } catch (error) {
        if (errno(error) === "EAGAIN") return 0;
        throw error;
      }
    },
    read(_loop, fd, max = 65536) {
      const buffer = Buffer.alloc(Math.min(max, 1 << 20));
      try {
        return buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, null));
      } catch (error) {
        if (errno(error) === "EAGAIN") return new Uint8Array(0);
        throw error;
      }
    },
    close(loop, fd) {
      closeSync(fd);
      opened.get(loop)?.delete(fd);
    },
    unpollable(loop) {
      const dir = files.get(loop) ?? mkdtempSync(join(tmpdir(), "evloop-conformance-"));
      files.set(loop, dir);
      const fd = openSync(join(dir, `file-${opened.get(loop)?.size ?? 0}`), "w+");
      opened.get(loop)?.add(fd);
      return fd;
    },
    notOpen: () => NOT_OPEN,
    async runUntil(loop, condition, timeoutMs = 2000) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        if (condition()) return true;
        const left = deadline - performance.now();
        if (left <= 0) return false;
        await step(loop, left);
      }
    },
    async runFor(loop, ms) {
      const deadline = performance.now() + ms;
      for (let left = ms; left > 0; left = deadline - performance.now()) await step(loop, left);
    },
    raised: (loop) => raised.get(loop) ?? [],
  };
}

/** Options of {@link runNodeChild}. */
export interface RunNodeChildOptions {
  /**
   * The folder the child runs in: its bare imports (`@evloop/...`, the adapter's own package)
   * resolve from there, as from a module in that folder, on the packages' builds.
   */
  readonly cwd: string;
  /**
   * The child's soft descriptor limit: a number (`ulimit -n N`), `"hard"` to raise it to the hard
   * limit (`ulimit -n "$(ulimit -Hn)"`), or absent to keep the parent's.
   */
  readonly ulimit?: number | "hard";
  /** Milliseconds before the child is killed and the call rejects (default 60,000). */
  readonly timeoutMs?: number;
}

const run = promisify(execFile);

/**
 * Runs `source` as an ES module in a fresh Node process (with `--expose-gc`), started through
 * bash so that the descriptor limit can be set first, and returns the last line it printed,
 * parsed as JSON. The child reports by `console.log(JSON.stringify(result))` as its last output;
 * a non-zero exit or a timeout rejects.
 */
export async function runNodeChild(source: string, options: RunNodeChildOptions): Promise<unknown> {
  const limit = options.ulimit === undefined ? "" : options.ulimit === "hard" ? `ulimit -n "$(ulimit -Hn)" && ` : `ulimit -n ${options.ulimit} && `;
  const { stdout } = await run("bash", ["-c", `${limit}exec "$0" --expose-gc --input-type=module -e "$1"`, process.execPath, source], {
    cwd: options.cwd,
    timeout: options.timeoutMs ?? 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout.trim().split("\n").pop() as string);
}
