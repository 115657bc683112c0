import { describeConformance } from "@evloop/conformance/vitest";
import { testSchedulerFixture } from "./rxjs-loop.virtual.fixture.ts";

describeConformance(testSchedulerFixture);
