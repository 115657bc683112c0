// The loops the demo runs on, one entry each. The driver and the scenario are the same on every
// one; what differs is who turns the loop, what its clock is, and, for the virtual loop, that the
// domains' children are simulated on its descriptors and clock.
import type { EventLoopImpl } from "@evloop/core";
import { simulatedSpawn, type Spawn } from "@evloop/driver-process";
import { createLibuvLoop } from "@evloop/libuv";
import { createPollLoop, createVirtualLoop } from "@evloop/poll";
import { createRxjsLoop } from "@evloop/rxjs";

/** A loop, ready for the demo. */
export interface DemoLoop {
  readonly loop: EventLoopImpl;
  /** How the driver starts children: real processes unless the loop simulates them. */
  readonly spawn?: Spawn;
  /** What the domains are, for the demo's heading. */
  readonly children: "real child processes" | "simulated children";
  /** The loop's clock, in milliseconds. */
  now(): number;
  /** Keeps the loop turning until `work` settles, for loops that Node does not turn by itself. */
  runUntil<T>(work: Promise<T>): Promise<T>;
  /** Releases the loop. */
  close(): void;
}

const yieldToNode = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A loop on real time, with real child processes: its clock counts from now. `runUntil` turns a
 * loop that Node does not turn by itself; by default it only waits.
 */
function realTime(loop: EventLoopImpl & { close(): void }, runUntil: DemoLoop["runUntil"] = (work) => work): DemoLoop {
  const start = performance.now();
  return { loop, children: "real child processes", now: () => performance.now() - start, runUntil, close: () => loop.close() };
}

/** Calls `turn` until `work` settles, yielding to Node (and to the promises of `work`) before each. */
async function turnUntil<T>(work: Promise<T>, turn: () => void): Promise<T> {
  let settled = false;
  const done = () => (settled = true);
  work.then(done, done);
  for (;;) {
    await yieldToNode();
    if (settled) return work;
    turn();
  }
}

/**
 * The demo's loops, by the name `--loop` takes. Adding a loop is adding an entry.
 */
export const LOOPS = {
  /** Node's own loop: it turns by itself, and the driver's descriptors and timers ride on it. */
  libuv: (): DemoLoop => realTime(createLibuvLoop()),
  /**
   * A loop the application drives with `runOnce`. It blocks while it waits, so the demo waits a
   * few milliseconds at a time and yields to Node in between: Node must turn too, because it
   * spawns the children and reaps them.
   */
  poll(): DemoLoop {
    const loop = createPollLoop();
    return realTime(loop, (work) => turnUntil(work, () => loop.runOnce(2)));
  },
  /**
   * Timers on an RxJS scheduler (`asyncScheduler`), descriptors on Node's loop: Node turns it, as
   * it turns the libuv loop.
   */
  rxjs: (): DemoLoop => realTime(createRxjsLoop()),
  /**
   * Virtual descriptors and a virtual clock, with simulated children: the same scenario, the same
   * events, in no time and identically on every run. Each instant is run until it settles (what
   * promises do after a callback happens at that callback's instant), then the clock moves on by
   * one millisecond.
   */
  virtual(): DemoLoop {
    const loop = createVirtualLoop();
    return {
      loop,
      spawn: simulatedSpawn(loop),
      children: "simulated children",
      now: () => loop.now(),
      runUntil: (work) => {
        let quiet = false;
        return turnUntil(work, () => {
          if (quiet) {
            loop.advance(1);
            quiet = false;
          } else quiet = loop.advance(0) === 0;
        });
      },
      close: () => loop.close(),
    };
  },
} satisfies Record<string, () => DemoLoop>;

/** A name `--loop` takes. */
export type LoopName = keyof typeof LOOPS;

/** The names `--loop` takes, in the order the help lists them. */
export const LOOP_NAMES = Object.keys(LOOPS) as LoopName[];
