import type { Scenario } from "../scenario.ts";
import { badInputScenarios } from "./bad-input.ts";
import { dispatchScenarios } from "./dispatch.ts";
import { errorScenarios } from "./errors.ts";
import { freeScenarios } from "./free-callbacks.ts";
import { handleScenarios } from "./handles.ts";
import { idScenarios } from "./ids.ts";
import { loadScenarios } from "./load.ts";
import { removalScenarios } from "./removal.ts";
import { timerScenarios } from "./timers.ts";

/** Every scenario, grouped by topic in this order. */
export const allScenarios: readonly Scenario[] = Object.freeze([
  ...handleScenarios,
  ...removalScenarios,
  ...dispatchScenarios,
  ...timerScenarios,
  ...freeScenarios,
  ...idScenarios,
  ...errorScenarios,
  ...badInputScenarios,
  ...loadScenarios,
]);
