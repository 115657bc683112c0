// Test support (not built): the TestScheduler fixture the conformance suite and the model tests run createRxjsLoop with.
import assert from "node:assert/strict";
import type { ConformanceFixture } from "@evloop/conformance";
import { VirtualFdError, VirtualFds } from "@evloop/poll";
import { config } from "rxjs";
import { TestScheduler } from "rxjs/testing";
import { afterAll, beforeAll } from "vitest";
import { createRxjsLoop, type RxjsLoop } from "./rxjs-loop.ts";
import { virtualReadiness } from "./virtual-readiness.ts";

/** What the fixture keeps for each loop: its own virtual time and descriptors. */
interface Rig {
  readonly scheduler: TestScheduler;
  readonly fds: VirtualFds;
  readonly raised: unknown[];
  readonly collects: boolean;
}

const rigs = new WeakMap<RxjsLoop, Rig>();
const live = new Set<Rig>();
const rig = (loop: RxjsLoop): Rig => rigs.get(loop) as Rig;

// Without onError the loop raises through RxJS's config.onUnhandledError, which is module-global:
// what is raised goes to every live loop created without onError. No scenario has two of them
// raising at once.
beforeAll(() => {
  config.onUnhandledError = (error) => {
    for (const r of live) if (r.collects) r.raised.push(error);
  };
});
afterAll(() => {
  config.onUnhandledError = null;
});

/** Runs the loop's scheduler up to `target`, ending there even when nothing is due then. */
function advanceTo(loop: RxjsLoop, target: number): void {
  const { scheduler } = rig(loop);
  scheduler.schedule(() => {}, target - scheduler.now());
  scheduler.maxFrames = target;
  scheduler.flush();
}

/** A TestScheduler stepped by the fixture (no `run()`): one frame is one virtual millisecond. */
export const testSchedulerFixture: ConformanceFixture<RxjsLoop> = {
  name: "createRxjsLoop (TestScheduler, virtual descriptors)",
  virtualTime: true,
  createLoop(options) {
    const scheduler = new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));
    const fds = new VirtualFds();
    const loop = createRxjsLoop({ ...options, scheduler, readiness: virtualReadiness(fds) });
    const r: Rig = { scheduler, fds, raised: [], collects: options.onError === undefined };
    rigs.set(loop, r);
    live.add(r);
    return loop;
  },
  dispose(loop) {
    loop.close();
    live.delete(rig(loop));
  },
  pipe: (loop) => rig(loop).fds.pipe(),
  socketpair: (loop) => rig(loop).fds.socketpair(),
  write: (loop, fd, data) => rig(loop).fds.write(fd, data),
  read(loop, fd, max) {
    try {
      return rig(loop).fds.read(fd, max);
    } catch (error) {
      if (error instanceof VirtualFdError && error.code === "EAGAIN") return new Uint8Array(0);
      throw error;
    }
  },
  close: (loop, fd) => rig(loop).fds.close(fd),
  unpollable: (loop) => rig(loop).fds.file(),
  notOpen: () => 4_000_000,
  async runUntil(loop, condition, timeoutMs = 2000) {
    const { scheduler } = rig(loop);
    const deadline = scheduler.now() + timeoutMs;
    while (!condition()) {
      if (scheduler.now() >= deadline) return false;
      advanceTo(loop, scheduler.now() + 1);
    }
    return true;
  },
  async runFor(loop, ms) {
    advanceTo(loop, rig(loop).scheduler.now() + ms);
  },
  raised: (loop) => rig(loop).raised,
};
