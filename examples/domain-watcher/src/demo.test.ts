// End to end: the demo's scenario on every loop, against real child processes (and simulated ones
// on the virtual loop), must produce the same events in the same order with the same details.
import { readFileSync, readdirSync } from "node:fs";
import { getEventImpl, registeredDrivers } from "@evloop/core";
import { DomainError, type DomainDefinition } from "@evloop/driver-process";
import { describe, expect, it } from "vitest";
import { formatEvent, runDemo, type DemoEvent } from "./demo.ts";
import { LOOP_NAMES, type LoopName } from "./loops.ts";

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

/** The processes this one started that have not been reaped yet. */
function children(): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === process.pid;
      } catch {
        return false; // it ended while we looked
      }
    })
    .map(Number);
}

/** Runs a demo that must fail; returns its error, what it printed, and what it left behind. */
async function failingDemo(loop: LoopName, domains: DomainDefinition[]) {
  const before = children();
  const lines: string[] = [];
  const error = await runDemo({ loop, print: (line) => lines.push(line), domains }).then(
    () => undefined,
    (e: unknown) => e,
  );
  const leftChildren = children().filter((pid) => !before.includes(pid));
  return { error, lines, leftChildren };
}

/** Checks that a failed demo released everything: no driver, no loop, and a next demo runs as usual. */
async function expectReleased(leftChildren: number[]) {
  expect(leftChildren).toEqual([]);
  expect(registeredDrivers()).toEqual([]);
  expect(getEventImpl()).toBeUndefined();
  expect(await runDemo({ loop: "virtual" })).toHaveLength(EXPECTED.length);
}

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

  it.each(LOOP_NAMES)("on the %s loop, a failing scenario stops alpha, releases everything and rejects with its own error", async (loop) => {
    // charlie is defined already, so the scenario's define(CHARLIE) is refused while alpha runs.
    const { error, lines, leftChildren } = await failingDemo(loop, [{ name: "charlie" }]);
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ reason: "duplicate-name", domain: "charlie" });
    // The daemon's shutdown stopped alpha (and reported it) before anything was released.
    expect(lines.slice(2).map((line) => line.trim().split(/ +/).slice(2, 5).join(" "))).toEqual(["alpha STARTED BOOTED", "bravo DEFINED ADDED", "alpha STOPPED SHUTDOWN"]);
    await expectReleased(leftChildren);
  });

  it.each<LoopName>(["libuv", "virtual"])("on the %s loop, rejects with the failure of a domain the daemon could not start", async (loop) => {
    const { error, leftChildren } = await failingDemo(loop, [{ name: "delta", autostart: true, command: ["evloop-no-such-program"] }]);
    expect(error).toMatchObject({ reason: "spawn-failed", domain: "delta" });
    await expectReleased(leftChildren);
  });

  it("replays identically on the virtual loop, times included", async () => {
    const first = await runDemo({ loop: "virtual" });
    expect(await runDemo({ loop: "virtual" })).toEqual(first);
    expect(first.map((e) => e.at)).toEqual([0, 0, 0, 0, 50, 50, 50, 150, 150, 150, 150]);
  });
});
