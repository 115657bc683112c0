import { describe, expect, it } from "vitest";
import { runScenario, scenarios } from "../src/index.ts";
import { createSimFixture, type SimBug } from "./sim-loop.ts";

/**
 * The suite can fail: each deliberately broken loop must fail the scenarios written for the rule
 * it breaks. (It may fail others too; those are listed, not required.)
 */
const MUTATIONS: Record<SimBug, readonly string[]> = {
  "remove-late": ["removal.handle-removes-other-same-fd", "removal.handle-removes-other-fd"],
  "free-in-remove": ["free.handle-after-remove", "free.handle-not-in-own-callback", "free.timer-after-remove", "free.timer-not-in-own-callback"],
  "free-never": [
    "free.handle-after-remove",
    "free.handle-not-in-own-callback",
    "free.handle-callback-returns-minus-one",
    "free.timer-after-remove",
    "free.timer-not-in-own-callback",
    "free.runs-when-idle",
    "free.once-through-dispose",
    "errors.free-throws",
  ],
  "reuse-ids": ["ids.handles-never-reused", "ids.timers-never-reused"],
  "dispatch-added": ["dispatch.handle-added-during-pass"],
  "timer-added-in-pass": ["dispatch.timer-added-during-pass"],
  "busy-error": ["handles.not-open-fd", "handles.closed-under-watch"],
  "no-restart": ["timers.update-restarts-countdown"],
  "throw-aborts-pass": ["errors.on-error-others-still-run", "errors.on-error-each-error", "errors.raised-after-pass", "errors.raised-aggregate"],
  "edge-triggered": ["handles.readable-level-triggered"],
  "drop-fd-on-shrink": ["handles.remove-one-of-two"],
  "raise-immediately": ["errors.on-error-others-still-run", "errors.raised-after-pass", "errors.raised-aggregate"],
  "unpollable-accepted": ["handles.unpollable-refused"],
};

async function failing(bug: SimBug): Promise<Map<string, string>> {
  const fixture = createSimFixture({ virtualTime: true, bug });
  const failed = new Map<string, string>();
  for (const scenario of scenarios) {
    try {
      await runScenario(fixture, scenario);
    } catch (error) {
      failed.set(scenario.id, error instanceof Error ? error.message.split("\n")[0] ?? "" : String(error));
    }
  }
  return failed;
}

describe("the suite catches broken loops", () => {
  for (const [bug, expected] of Object.entries(MUTATIONS) as [SimBug, readonly string[]][]) {
    it(`bug "${bug}" fails ${expected.join(", ")}`, async () => {
      for (const id of expected) expect(scenarios.some((s) => s.id === id), `unknown scenario ${id}`).toBe(true);
      const failed = await failing(bug);
      const missed = expected.filter((id) => !failed.has(id));
      expect(missed, `passed although the loop is broken; failures were:\n${[...failed].map(([id, msg]) => `  ${id}: ${msg}`).join("\n")}`).toEqual([]);
    });
  }
});
