import { describeModel } from "@evloop/conformance/vitest";
import { virtualFixture } from "./virtual-loop.fixture.ts";
import type { VirtualLoop } from "./virtual-loop.ts";

// Exact: virtual descriptors and clock, so every timer is checked at its instant.
describeModel(virtualFixture, { seed: 42, numRuns: 1000, clock: (loop: VirtualLoop) => loop.now() });
