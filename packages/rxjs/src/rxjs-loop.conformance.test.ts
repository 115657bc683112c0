import { describeConformance } from "@evloop/conformance/vitest";
import { nodeFixture } from "@evloop/conformance/node";
import { pipe, socketpair } from "@evloop/native";
import { createRxjsLoop } from "./rxjs-loop.ts";

// The default loop: timers on asyncScheduler, real descriptors through the native poller, all run
// by Node's own loop; what it raises without onError arrives as uncaught exceptions.
describeConformance(
  nodeFixture({ name: "createRxjsLoop (asyncScheduler, native descriptors)", createLoop: (options) => createRxjsLoop(options), pipe, socketpair, drive: "node" }),
);
