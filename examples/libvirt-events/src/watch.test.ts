// Runs the example, as a function and as the program, against libvirt's test driver. Skipped,
// with one line saying why, where libvirt's development files are not installed.
import { execFile, spawnSync } from "node:child_process";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { DomainEventDetail, DomainEventType } from "@evloop/core";
import { libvirtEventImplStats } from "@evloop/libvirt";
import { describe, expect, it } from "vitest";
import { formatEvent, watchDomainEvents } from "./watch.ts";

const libvirtInstalled = spawnSync("pkg-config", ["--exists", "libvirt"], { stdio: "ignore" }).status === 0;
if (!libvirtInstalled) console.log("libvirt-dev not installed: @evloop/example-libvirt-events tests skipped");
const exampleDir = dirname(dirname(fileURLToPath(import.meta.url)));

describe.skipIf(!libvirtInstalled)("the libvirt-events example", () => {
  it("prints STOPPED/DESTROYED then STARTED/BOOTED for each cycle, and leaves libvirt holding nothing", async () => {
    const lines: string[] = [];
    const events = await watchDomainEvents({ cycles: 3, pauseMs: 5, print: (line) => lines.push(line) });
    const cycle = [
      [DomainEventType.STOPPED, DomainEventDetail.STOPPED.DESTROYED],
      [DomainEventType.STARTED, DomainEventDetail.STARTED.BOOTED],
    ];
    expect(events.map((e) => [e.type, e.detail])).toEqual([...cycle, ...cycle, ...cycle]);
    expect(lines[0]).toMatch(/^watching test \([0-9a-f-]{36}\) on test:\/\/\/default$/);
    expect(lines.slice(1)).toEqual(events.map(formatEvent));
    expect(lines[1]).toBe("test      STOPPED   DESTROYED");
    const stats = libvirtEventImplStats();
    expect(stats).toMatchObject({ handles: [], timers: [], pendingFrees: 0, unexpectedFrees: 0 });
    expect(stats.freed).toBe(stats.handlesAdded + stats.timersAdded);
  });

  it("runs as a program", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["dist/main.js", "--cycles", "1"], { cwd: exampleDir, timeout: 30_000 });
    expect(stdout.trim().split("\n")).toEqual([
      expect.stringMatching(/^libvirt \d+\.\d+\.\d+, Node v\d+/),
      expect.stringMatching(/^watching test /),
      "test      STOPPED   DESTROYED",
      "test      STARTED   BOOTED",
      "2 events; the connection and the loop are closed.",
    ]);
  });
});
