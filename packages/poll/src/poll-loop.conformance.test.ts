import { describeConformance } from "@evloop/conformance/vitest";
import { nodeFixture } from "@evloop/conformance/node";
import { pipe, socketpair } from "@evloop/native";
import { createPollLoop } from "./poll-loop.ts";

describeConformance(nodeFixture({ name: "createPollLoop", createLoop: (options) => createPollLoop(options), pipe, socketpair, drive: "runOnce" }));
