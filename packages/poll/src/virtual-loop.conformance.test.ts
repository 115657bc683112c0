import { describeConformance } from "@evloop/conformance/vitest";
import { virtualFixture } from "./virtual-loop.fixture.ts";

describeConformance(virtualFixture);
