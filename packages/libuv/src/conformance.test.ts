import { describeConformance } from "@evloop/conformance/vitest";
import { nodeFixture } from "@evloop/conformance/node";
import { pipe, socketpair } from "@evloop/native";
import { createLibuvLoop } from "./libuv-loop.ts";

describeConformance(nodeFixture({ name: "@evloop/libuv", createLoop: (options) => createLibuvLoop(options), pipe, socketpair, drive: "node" }));
