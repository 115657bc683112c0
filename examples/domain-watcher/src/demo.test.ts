// End to end: the demo's scenario on every loop, against real child processes (and simulated ones
// on the virtual loop), must produce the same events in the same order with the same details.
import { describe, expect, it } from "vitest";
import { formatEvent, runDemo, type DemoEvent } from "./demo.ts";
import { LOOP_NAMES } from "./loops.ts";

const KILLED = { code: null, signal: "SIGKILL" };

/** What the demo must report on every loop: domain, event, detail, and how the child ended. */
const EXPECTED: [string, string, string, object?][] = [
  ["alpha", "STARTED", "BOOTED"],
  ["bravo", "DEFINED", "ADDED"],
  ["charlie", "DEFINED", "ADDED"],
  ["bravo", "STARTED", "BOOTED"],
  ["bravo", "CRASHED", "PANICKED", KILLED],
  ["charlie", "STARTED", "BOOTED"],
  ["charlie", "SUSPENDED", "PAUSED"],
  ["charlie", "RESUMED", "UNPAUSED"],
  ["charlie", "STOPPED", "DESTROYED", KILLED],
  ["bravo", "UNDEFINED", "REMOVED"],
  ["alpha", "STOPPED", "SHUTDOWN", { code: 0, signal: null }],
];

const sequence = (events: DemoEvent[]) => events.map(({ domain, event, detail, exit }) => (exit ? [domain, event, detail, exit] : [domain, event, detail]));

describe("the domain watcher demo", () => {
  it("runs on libuv, poll, rxjs and virtual (adding a loop to the table adds it here)", () => {
    expect(LOOP_NAMES).toEqual(expect.arrayContaining(["libuv", "poll", "rxjs", "virtual"]));
  });

  it.each(LOOP_NAMES)("reports the same events in the same order on the %s loop", async (loop) => {
    const lines: string[] = [];
    const events = await runDemo({ loop, print: (line) => lines.push(line) });
    expect(sequence(events)).toEqual(EXPECTED);
    // Printed as they happened, between the heading and the closing line.
    expect(lines.slice(2, -1)).toEqual(events.map(formatEvent));
    expect(lines.at(-1)).toBe("11 events; the daemon stopped every domain and closed the connection.");
    for (let i = 1; i < events.length; i++) expect(events[i]?.at).toBeGreaterThanOrEqual(events[i - 1]?.at as number);
  });

  it("replays identically on the virtual loop, times included", async () => {
    const first = await runDemo({ loop: "virtual" });
    expect(await runDemo({ loop: "virtual" })).toEqual(first);
    expect(first.map((e) => e.at)).toEqual([0, 0, 0, 0, 50, 50, 50, 150, 150, 150, 150]);
  });
});
