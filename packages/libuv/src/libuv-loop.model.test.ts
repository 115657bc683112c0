import { describeModel } from "@evloop/conformance/vitest";
import { nodeFixture } from "@evloop/conformance/node";
import { pipe, socketpair } from "@evloop/native";
import { createLibuvLoop } from "./libuv-loop.ts";

// Real descriptors and real time: descriptor events and removal exactly, timers within bounds.
describeModel(nodeFixture({ name: "@evloop/libuv", createLoop: (options) => createLibuvLoop(options), pipe, socketpair, drive: "node" }), { seed: 42, numRuns: 150 });
