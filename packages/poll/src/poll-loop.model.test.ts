import { describeModel } from "@evloop/conformance/vitest";
import { nodeFixture } from "@evloop/conformance/node";
import { pipe, socketpair } from "@evloop/native";
import { createPollLoop } from "./poll-loop.ts";

// Real descriptors and real time: descriptor events and removal exactly, timers within bounds.
describeModel(nodeFixture({ name: "createPollLoop", createLoop: (options) => createPollLoop(options), pipe, socketpair, drive: "runOnce" }), { seed: 42, numRuns: 150 });
