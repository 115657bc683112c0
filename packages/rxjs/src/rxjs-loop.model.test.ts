import { describeModel } from "@evloop/conformance/vitest";
import { nodeFixture } from "@evloop/conformance/node";
import { pipe, socketpair } from "@evloop/native";
import { createRxjsLoop, type RxjsLoop } from "./rxjs-loop.ts";
import { testSchedulerFixture } from "./rxjs-loop.virtual.fixture.ts";

// Exact: TestScheduler time and virtual descriptors, every timer checked at its instant.
describeModel(testSchedulerFixture, { seed: 42, numRuns: 500, clock: (loop: RxjsLoop) => loop.scheduler.now() });
// Real: asyncScheduler and native descriptors on Node's loop; timers within bounds.
describeModel(
  nodeFixture({ name: "createRxjsLoop (asyncScheduler, native descriptors)", createLoop: (options) => createRxjsLoop(options), pipe, socketpair, drive: "node" }),
  { seed: 42, numRuns: 150 },
);
