// Rules the poller and the waiter share, tested on both: which descriptor numbers watch() accepts
// (and what a wild one costs), and what watching does to a descriptor's O_NONBLOCK flag.
import { spawnSync } from "node:child_process";
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { packageRoot } from "./binding.ts";
import { pipe, socketpair } from "./descriptors.ts";
import { createFdWaiter } from "./fd-waiter.ts";
import { createUvPoller } from "./uv-poller.ts";

const READABLE = 1;
const WRITABLE = 2;
const ERROR = 4;
const HANGUP = 8;
const INT32_MAX = 2 ** 31 - 1;

type Reports = Array<[fd: number, events: number]>;

/** The part of both watchers these tests use, with reports collected the same way for both. */
interface Watcher {
  watch(fd: number, mask: number): void;
  /** The reports delivered within about `ms` milliseconds, sorted by descriptor. */
  next(ms: number): Promise<Reports>;
  close(): void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const sorted = (reports: Reports) => reports.sort((x, y) => x[0] - y[0]);

function uvPoller(): Watcher {
  let got: Reports = [];
  const poller = createUvPoller(
    (fds, events, count) => {
      for (let i = 0; i < count; i++) got.push([fds[i] as number, events[i] as number]);
    },
    () => {},
  );
  return {
    watch: poller.watch,
    next: async (ms) => {
      await sleep(ms);
      const reports = got;
      got = [];
      return sorted(reports);
    },
    close: poller.close,
  };
}

function fdWaiter(): Watcher {
  const waiter = createFdWaiter();
  return {
    watch: waiter.watch,
    next: async (ms) => {
      const reports: Reports = [];
      const n = waiter.wait(ms);
      for (let i = 0; i < n; i++) reports.push([waiter.fds[i] as number, waiter.events[i] as number]);
      return sorted(reports);
    },
    close: waiter.close,
  };
}

const kinds = [
  { name: "createUvPoller", open: uvPoller, native: "UvPoller" },
  { name: "createFdWaiter", open: fdWaiter, native: "FdWaiter" },
];

/** What each test leaves to undo, undone after it in order: watchers, descriptors, folders. */
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const undo of cleanups.splice(0)) {
    try {
      undo();
    } catch {
      // already done by the test itself (a descriptor it closed)
    }
  }
});
/** A watcher of the given kind, closed after the test. */
function watcherOf(open: () => Watcher): Watcher {
  const w = open();
  cleanups.unshift(() => w.close()); // first, before its descriptors are closed
  return w;
}
/** Descriptors closed after the test. */
function track(...fds: number[]): void {
  for (const fd of fds) cleanups.push(() => closeSync(fd));
}

/** Runs a CommonJS script in a fresh Node process with `native` bound to the raw addon. */
function runScript(source: string) {
  const prelude = `const native = require("node-gyp-build")(${JSON.stringify(packageRoot)});\n`;
  return spawnSync(process.execPath, ["-e", prelude + source], { cwd: packageRoot, encoding: "utf8", timeout: 20_000 });
}

describe.each(kinds)("$name: descriptor numbers", ({ open, native }) => {
  it("accepts any number up to 2^31-1: one not open is reported as ERROR once, with no throw and no table that grows to the number", () => {
    // A fresh process, so its RSS says what the watches cost: a table grown to the number took
    // 130-250 MB for 16,000,000.
    const collect =
      native === "UvPoller"
        ? `const reports = [];
           const w = new native.UvPoller((fds, events, count) => {
             for (let i = 0; i < count; i++) reports.push([fds[i], events[i]]);
           }, () => {});
           const done = (report) => setTimeout(() => { w.close(); report(reports); }, 100);`
        : `const w = new native.FdWaiter();
           const done = (report) => {
             const reports = [];
             for (let n = w.wait(1000), i = 0; i < n; i++) reports.push([w.fds[i], w.events[i]]);
             const again = w.wait(50); // nothing more: each was reported once
             w.close();
             report(reports, again);
           };`;
    const result = runScript(`
      const before = process.memoryUsage().rss;
      ${collect}
      w.watch(${INT32_MAX}, 1);
      w.watch(16000000, 1);
      w.watch(16000000, 3); // watched again while still owed its ERROR: still one report
      w.watch(12345678, 1);
      w.watch(12345678, 0); // unwatched before the report: none
      w.watch(${INT32_MAX - 1}, 0); // never watched: nothing to do
      done((reports, again = 0) => {
        const grownMiB = (process.memoryUsage().rss - before) / 1048576;
        console.log(JSON.stringify({ reports, again, grownMiB }));
      });
    `);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const { reports, again, grownMiB } = JSON.parse(result.stdout);
    expect(sorted(reports)).toEqual([
      [16_000_000, ERROR],
      [INT32_MAX, ERROR],
    ]);
    expect(again).toBe(0);
    expect(grownMiB).toBeLessThan(10);
  });

  it("treats watch(fd, 0) for a number never watched as a no-op", async () => {
    const w = watcherOf(open);
    expect(() => w.watch(INT32_MAX, 0)).not.toThrow();
    expect(() => w.watch(20_000_000, 0)).not.toThrow();
    expect(await w.next(30)).toEqual([]);
  });

  it("owes exactly one ERROR to each number still watched when the reports are taken, through random watches and unwatches", async () => {
    const w = watcherOf(open);
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    // Few distinct numbers, many operations: collisions, re-adds and removals from full runs.
    const numbers = Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? 1_000_000 + i : INT32_MAX - i * 7919));
    for (let round = 0; round < 20; round++) {
      const model = new Set<number>();
      for (let op = 0; op < 2000; op++) {
        const fd = numbers[random(numbers.length)] as number;
        if (random(3) === 0) {
          w.watch(fd, 0);
          model.delete(fd);
        } else {
          w.watch(fd, READABLE);
          model.add(fd);
        }
      }
      expect(await w.next(10)).toEqual(sorted([...model].map((fd): [number, number] => [fd, ERROR])));
    }
    expect(await w.next(10)).toEqual([]);
  });

  it("refuses numbers beyond 2^31-1 with a RangeError", () => {
    const w = watcherOf(open);
    expect(() => w.watch(2 ** 31, READABLE)).toThrow(RangeError);
    expect(() => w.watch(2 ** 53, READABLE)).toThrow(RangeError);
  });
});

/** Whether O_NONBLOCK is set on the open file description behind `fd` (Linux: /proc/self/fdinfo). */
function isNonBlocking(fd: number): boolean {
  const line = readFileSync(`/proc/self/fdinfo/${fd}`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("flags:"));
  return (parseInt((line ?? "flags: 0").slice(6).trim(), 8) & constants.O_NONBLOCK) !== 0;
}

/** A FIFO's path: opening it gives a pollable descriptor that is blocking unless asked otherwise. */
function fifo(): string {
  const dir = mkdtempSync(join(tmpdir(), "evloop-native-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "fifo");
  const made = spawnSync("mkfifo", [path]);
  if (made.status !== 0) throw new Error(`mkfifo failed: ${made.stderr}`);
  return path;
}

/** Opens a path and tracks the descriptor for closing after the test. */
function tracked(path: string, flags: number): number {
  const fd = openSync(path, flags);
  track(fd);
  return fd;
}

describe.runIf(process.platform === "linux").each(kinds)("$name: O_NONBLOCK", ({ open }) => {
  function watcher(): Watcher {
    const w = watcherOf(open);
    return w;
  }

  it("makes a blocking descriptor non-blocking while watched, and blocking again after watch(fd, 0)", () => {
    const w = watcher();
    const fd = tracked(fifo(), constants.O_RDWR); // O_RDWR: the open does not wait for a writer
    expect(isNonBlocking(fd)).toBe(false);
    w.watch(fd, READABLE);
    expect(isNonBlocking(fd)).toBe(true);
    w.watch(fd, READABLE | WRITABLE); // a mask change keeps the watch (and what it found)
    expect(isNonBlocking(fd)).toBe(true);
    w.watch(fd, 0);
    expect(isNonBlocking(fd)).toBe(false);
    w.watch(fd, READABLE); // and a new watch finds it blocking again
    w.watch(fd, 0);
    expect(isNonBlocking(fd)).toBe(false);
  });

  it("restores a blocking descriptor on close()", () => {
    const w = watcher();
    const fd = tracked(fifo(), constants.O_RDWR);
    w.watch(fd, READABLE);
    w.close();
    expect(isNonBlocking(fd)).toBe(false);
  });

  it("restores a blocking descriptor once an ERROR ends its polling", async () => {
    const w = watcher();
    const path = fifo();
    const reader = tracked(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const writer = tracked(path, constants.O_WRONLY); // blocking; opens at once since a reader exists
    w.watch(writer, WRITABLE);
    expect(isNonBlocking(writer)).toBe(true);
    closeSync(reader); // the write end of a FIFO without readers reports an error
    const reports: Reports = [];
    for (let i = 0; i < 50 && !reports.some(([, events]) => events & ERROR); i++) reports.push(...(await w.next(20)));
    expect(reports.at(-1)).toEqual([writer, ERROR]);
    expect(isNonBlocking(writer)).toBe(false);
  });

  it("leaves a descriptor that was non-blocking already non-blocking", () => {
    const w = watcher();
    const [r, wr] = pipe();
    track(r, wr);
    const fd = tracked(fifo(), constants.O_RDWR | constants.O_NONBLOCK);
    for (const d of [r, fd]) {
      w.watch(d, READABLE);
      w.watch(d, 0);
      expect(isNonBlocking(d)).toBe(true);
      w.watch(d, READABLE);
    }
    w.close();
    expect(isNonBlocking(r)).toBe(true);
    expect(isNonBlocking(fd)).toBe(true);
  });

  it("leaves alone a file it never watched when the watched number was closed and reused", () => {
    const w = watcher();
    const fd = openSync(fifo(), constants.O_RDWR);
    w.watch(fd, READABLE); // turns O_NONBLOCK on for the FIFO
    closeSync(fd);
    const [r, wr] = pipe(); // non-blocking, on the same number
    track(r, wr);
    expect(r).toBe(fd);
    w.watch(r, 0);
    expect(isNonBlocking(r)).toBe(true);
  });
});

// A socket whose peer closed with unread data is reset (ECONNRESET: POLLERR), yet data already
// buffered in it can still be read: the ERROR must carry READABLE, once, or that event is lost.
describe.runIf(process.platform !== "win32").each(kinds)("$name: a socket reset by its peer", ({ open }) => {
  for (const order of ["watched before the reset", "watched after the reset"] as const) {
    it(`reports READABLE with the ERROR, once, for data still buffered (${order})`, async () => {
      const w = watcherOf(open);
      const [a, b] = socketpair();
      track(b);
      writeSync(a, "for b");
      writeSync(b, "never read by a"); // left unread in a: closing a resets b
      if (order === "watched before the reset") {
        w.watch(b, READABLE);
        const before = await w.next(50); // level-triggered: the poller reports it every iteration
        expect(before.length).toBeGreaterThan(0);
        expect(before.every(([fd, events]) => fd === b && events === READABLE)).toBe(true);
      }
      closeSync(a);
      if (order === "watched after the reset") w.watch(b, READABLE);
      const reports: Reports = [];
      for (let i = 0; i < 50 && !reports.some(([, events]) => events & ERROR); i++) reports.push(...(await w.next(20)));
      const last = reports.at(-1) ?? [b, 0];
      expect(last[0]).toBe(b);
      expect(last[1] & (READABLE | ERROR)).toBe(READABLE | ERROR);
      expect(last[1] & ~(READABLE | ERROR | HANGUP)).toBe(0);
      expect(await w.next(50)).toEqual([]); // once: polling ended with the ERROR
      expect(readSync(b, Buffer.alloc(16))).toBe(5);
    });
  }

  it("does not add READABLE when nothing is buffered, nor WRITABLE unless hung up", async () => {
    const w = watcherOf(open);
    const [a, b] = socketpair();
    track(b);
    writeSync(b, "never read by a");
    w.watch(b, READABLE | WRITABLE);
    expect((await w.next(50)).every(([fd, events]) => fd === b && events === WRITABLE)).toBe(true);
    closeSync(a);
    const reports: Reports = [];
    for (let i = 0; i < 50 && !reports.some(([, events]) => events & ERROR); i++) reports.push(...(await w.next(20)));
    const events = reports.at(-1)?.[1] ?? 0;
    expect(events & ERROR).toBe(ERROR);
    // Linux reports the reset socket hung up too, which marks both watched directions ready.
    if ((events & HANGUP) === 0) expect(events).toBe(ERROR);
    expect(await w.next(50)).toEqual([]);
  });
});
