// What the package's tests share: whether libvirt is here, the three loops and how each turns.
import { spawnSync } from "node:child_process";
import type { EventLoopImpl } from "@evloop/core";
import type { Registrations } from "@evloop/core/kernel";
import { createLibuvLoop } from "@evloop/libuv";
import { createPollLoop } from "@evloop/poll";
import { createRxjsLoop } from "@evloop/rxjs";
import { libvirtEventImplStats, type LibvirtEventImplStats } from "../index.ts";

/**
 * Whether libvirt's development files are installed. Without them the addon was not built and
 * the tests skip; with them a missing or broken addon fails the tests instead of hiding.
 */
export const libvirtInstalled = spawnSync("pkg-config", ["--exists", "libvirt"], { stdio: "ignore" }).status === 0;

/** The line a test file prints when it skips. */
export const SKIP_LINE = "libvirt-dev not installed: @evloop/libvirt tests skipped";

/** A loop to drive libvirt with, and how a test lets it turn once. */
export interface TestLoop {
  readonly name: LoopName;
  readonly loop: EventLoopImpl & { registrations(): Registrations; close(): void };
  /** Lets the loop dispatch what is ready, and Node turn once. */
  turn(): Promise<void>;
}

const immediate = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The loops libvirt is tested with. */
export const LOOPS = {
  libuv: (): TestLoop => ({ name: "libuv", loop: createLibuvLoop(), turn: immediate }),
  /** Blocks while it waits, so a test runs it without blocking (`runOnce(0)`) between awaits. */
  poll: (): TestLoop => {
    const loop = createPollLoop();
    return {
      name: "poll",
      loop,
      turn: async () => {
        loop.runOnce(0);
        await immediate();
      },
    };
  },
  rxjs: (): TestLoop => ({ name: "rxjs", loop: createRxjsLoop(), turn: immediate }),
} as const;

/** A loop's name. */
export type LoopName = keyof typeof LOOPS;
/** Every loop's name. */
export const LOOP_NAMES = Object.keys(LOOPS) as LoopName[];

/** Turns the loop until `condition` holds; throws after `ms`. */
export async function until(condition: () => boolean, turn: () => Promise<void>, ms = 5000): Promise<void> {
  const end = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > end) throw new Error(`timed out after ${ms} ms`);
    await turn();
  }
}

/** What changed between two snapshots of the counters. */
export function delta(before: LibvirtEventImplStats, after = libvirtEventImplStats()) {
  return {
    added: after.handlesAdded + after.timersAdded - (before.handlesAdded + before.timersAdded),
    freed: after.freed - before.freed,
    freeCallbacksRun: after.freeCallbacksRun - before.freeCallbacksRun,
    droppedDispatches: after.droppedDispatches - before.droppedDispatches,
    unexpectedFrees: after.unexpectedFrees - before.unexpectedFrees,
  };
}

/** Whether libvirt holds nothing and no free callback is pending. */
export function idle(stats = libvirtEventImplStats()): boolean {
  return stats.handles.length === 0 && stats.timers.length === 0 && stats.pendingFrees === 0 && stats.queuedCalls === 0;
}
