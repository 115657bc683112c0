// Test support (not built): the fixture the conformance suite and the model tests run the virtual loop with.
import type { ConformanceFixture } from "@evloop/conformance";
import { createVirtualLoop, type VirtualLoop } from "./virtual-loop.ts";
import { VirtualFdError } from "./virtual-fds.ts";

const raised = new WeakMap<VirtualLoop, unknown[]>();

/** Runs `body`, keeping what the loop raised (it throws from advance/runOnce) for `raised()`. */
function collect(loop: VirtualLoop, body: () => void): void {
  try {
    body();
  } catch (error) {
    raised.get(loop)?.push(error);
  }
}

/** The conformance fixture of the virtual loop: its own descriptors, and virtual time stepped 1 ms at a time. */
export const virtualFixture: ConformanceFixture<VirtualLoop> = {
  name: "createVirtualLoop",
  virtualTime: true,
  createLoop(options) {
    const loop = createVirtualLoop(options);
    raised.set(loop, []);
    return loop;
  },
  dispose: (loop) => loop.close(),
  pipe: (loop) => loop.fds.pipe(),
  socketpair: (loop) => loop.fds.socketpair(),
  write: (loop, fd, data) => loop.fds.write(fd, data),
  read(loop, fd, max) {
    try {
      return loop.fds.read(fd, max);
    } catch (error) {
      if (error instanceof VirtualFdError && error.code === "EAGAIN") return new Uint8Array(0);
      throw error;
    }
  },
  close: (loop, fd) => loop.fds.close(fd),
  unpollable: (loop) => loop.fds.file(),
  notOpen: () => 4_000_000,
  async runUntil(loop, condition, timeoutMs = 2000) {
    const deadline = loop.now() + timeoutMs;
    while (!condition()) {
      if (loop.now() >= deadline) return false;
      collect(loop, () => loop.advance(1));
    }
    return true;
  },
  async runFor(loop, ms) {
    const target = loop.now() + ms;
    // A pass that raised stops advance() at that instant; carry on to the target.
    while (loop.now() < target) collect(loop, () => loop.advanceTo(target));
  },
  raised: (loop) => raised.get(loop) ?? [],
};
