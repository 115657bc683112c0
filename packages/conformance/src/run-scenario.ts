import assert from "node:assert/strict";
import { inspect } from "node:util";
import type { EventLoopImpl } from "@evloop/core";
import type { ConformanceFixture } from "./fixture.ts";
import type { Scenario } from "./scenario.ts";

interface Tracked<L> {
  readonly loop: L;
  disposed: boolean;
  /** Whether the scenario read `raised(loop)`: then the errors there are its business. */
  inspected: boolean;
}

/**
 * Runs one scenario against a fixture, framework-agnostically: resolves when the loop follows the
 * rule, rejects (with the contract sentence appended to the message) when it does not.
 *
 * Every loop the scenario makes is disposed afterwards, in reverse order, even when the scenario
 * fails. A loop that raised errors the scenario never looked at (with `fixture.raised`) fails
 * the scenario: such an error is a callback that broke, or a loop that raised what it should not.
 */
export async function runScenario<L extends EventLoopImpl>(fixture: ConformanceFixture<L>, scenario: Scenario): Promise<void> {
  const tracked: Tracked<L>[] = [];
  const find = (loop: L): Tracked<L> | undefined => tracked.find((t) => t.loop === loop);
  // The scenario sees the fixture through this wrapper, which records the loops it makes. Every
  // member calls the fixture's own method, so a fixture written as a class keeps its `this`.
  const wrapper: ConformanceFixture<L> = {
    name: fixture.name,
    virtualTime: fixture.virtualTime,
    createLoop(options) {
      const loop = fixture.createLoop(options);
      tracked.push({ loop, disposed: false, inspected: false });
      return loop;
    },
    async dispose(loop) {
      const t = find(loop);
      if (t !== undefined) t.disposed = true;
      await fixture.dispose(loop);
    },
    pipe: (loop) => fixture.pipe(loop),
    socketpair: (loop) => fixture.socketpair(loop),
    write: (loop, fd, data) => fixture.write(loop, fd, data),
    read: (loop, fd, max) => fixture.read(loop, fd, max),
    close: (loop, fd) => fixture.close(loop, fd),
    unpollable: (loop) => fixture.unpollable(loop),
    notOpen: (loop) => fixture.notOpen(loop),
    runUntil: (loop, condition, timeoutMs) => fixture.runUntil(loop, condition, timeoutMs),
    runFor: (loop, ms) => fixture.runFor(loop, ms),
    raised(loop) {
      const t = find(loop);
      if (t !== undefined) t.inspected = true;
      return fixture.raised(loop);
    },
  };

  let failure: unknown;
  let failed = false;
  try {
    await scenario.run(wrapper);
    for (const t of tracked) {
      if (t.inspected) continue;
      const raised = fixture.raised(t.loop);
      assert.deepEqual(raised, [], `the loop raised errors the scenario did not expect (a callback of the scenario threw, or the loop raised on its own): ${inspect(raised, { depth: 3 })}`);
    }
  } catch (error) {
    failed = true;
    failure = withRule(error, scenario);
  } finally {
    for (const t of [...tracked].reverse()) {
      if (t.disposed) continue;
      t.disposed = true;
      try {
        await fixture.dispose(t.loop);
      } catch (error) {
        // The scenario's own failure says more than a dispose that failed after it.
        if (!failed) {
          failed = true;
          failure = error;
        }
      }
    }
  }
  if (failed) throw failure;
}

/** Appends the contract sentence to a failure message, so a report says which rule broke. */
function withRule(error: unknown, scenario: Scenario): unknown {
  if (!(error instanceof Error)) return error;
  const line = `\n[${scenario.id}] contract: ${scenario.rule}`;
  if (!error.message.endsWith(line)) {
    error.message += line;
    // Node prints `stack`, which was built from the old message.
    if (typeof error.stack === "string") error.stack = error.stack.replace(/^[^\n]*/, (first) => `${first}${line}`);
  }
  return error;
}
