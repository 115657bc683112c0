// The driver on real child processes and Node's own loop: what the virtual tests check with
// simulated children, checked here against the operating system.
import { readdirSync, readFileSync } from "node:fs";
import { describeDomainEvent, openDriver } from "@evloop/core";
import { startDaemon, type Daemon } from "@evloop/core/daemon";
import { createLibuvLoop, type LibuvLoop } from "@evloop/libuv";
import { afterEach, describe, expect, it } from "vitest";
import { createProcessDriver, type ProcessConnection, type ProcessDriverOptions } from "./process-driver.ts";
import { spawnProcess } from "./spawn-process.ts";

let loop: LibuvLoop | undefined;
let daemon: Daemon | undefined;
afterEach(async () => {
  await daemon?.shutdown();
  loop?.close();
  daemon = undefined;
  loop = undefined;
});

const openFds = () => readdirSync("/proc/self/fd").length;

async function setUp(options: ProcessDriverOptions = {}) {
  loop = createLibuvLoop();
  const driver = createProcessDriver({ shutdownTimeoutMs: 2000, ...options });
  daemon = await startDaemon({ drivers: [driver], loop });
  const conn: ProcessConnection = await openDriver(driver);
  const seen: string[] = [];
  conn.notifications.subscribe((e) => {
    const [type, detail] = describeDomainEvent(e.type, e.detail);
    seen.push(`${e.name} ${type} ${detail}${e.exit ? ` ${e.exit.code ?? e.exit.signal}` : ""}`);
  });
  /** Resolves with the next event of `name` whose type is one of `types`. */
  const next = (name: string, ...types: string[]) =>
    new Promise<string>((resolve) => {
      const sub = conn.notifications.subscribe((e) => {
        const described = describeDomainEvent(e.type, e.detail);
        if (e.name !== name || !types.includes(described[0])) return;
        sub.unsubscribe();
        resolve(described.join(" "));
      });
    });
  return { conn, seen, next };
}

/** The state letter of a process in /proc (R, S, T for stopped, Z, …). */
const procState = (pid: number): string => readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "")[0] as string;

describe("the process driver on real children", () => {
  it("reports a guest's crash by signal and by exit code, from the process record, and keeps no descriptor", async () => {
    const before = openFds();
    const { conn, seen, next } = await setUp();
    conn.define({ name: "sig", guest: { lifetimeMs: 20, exit: { signal: "SIGKILL" } } });
    conn.define({ name: "code", guest: { lifetimeMs: 20, exit: { code: 7 } } });
    let ended = next("sig", "CRASHED");
    await conn.start("sig");
    expect(await ended).toBe("CRASHED PANICKED");
    ended = next("code", "CRASHED");
    await conn.start("code");
    expect(await ended).toBe("CRASHED PANICKED");
    expect(seen).toEqual([
      "sig DEFINED ADDED",
      "code DEFINED ADDED",
      "sig STARTED BOOTED",
      "sig CRASHED PANICKED SIGKILL",
      "code STARTED BOOTED",
      "code CRASHED PANICKED 7",
    ]);
    expect(conn.lookup("sig")).toMatchObject({ state: "shutoff", status: "killed by SIGKILL", lastExit: { code: null, signal: "SIGKILL" } });
    expect(loop?.registrations().handles).toEqual([]);
    expect(openFds()).toBe(before);
  });

  it("suspends and resumes the real process, shuts it down cleanly, and destroys one that ignores SIGTERM", async () => {
    const { conn, seen } = await setUp();
    // The guest is ready (and handles SIGTERM) once it wrote its first status line, when start resolves.
    const { pid, status } = await conn.start(conn.define({ name: "g" }).name);
    expect(pid).toBeGreaterThan(0);
    expect(status).toBe("booted");
    conn.suspend("g");
    await expect.poll(() => procState(pid as number)).toBe("T");
    conn.resume("g");
    await expect.poll(() => procState(pid as number)).not.toBe("T");
    expect(await conn.shutdown("g")).toEqual({ code: 0, signal: null });
    expect(conn.lookup("g").status).toBe("shutting down");

    // `exec` leaves the ignoring program as the only holder of the channel, so SIGKILL hangs it up.
    conn.define({ name: "deaf", command: ["sh", "-c", "trap '' TERM; echo listening >&3; exec sleep 30"] });
    await conn.start("deaf");
    await expect.poll(() => conn.lookup("deaf").status).toBe("listening");
    void conn.shutdown("deaf");
    expect(await conn.destroy("deaf")).toEqual({ code: null, signal: "SIGKILL" });
    expect(seen).toEqual([
      "g DEFINED ADDED",
      "g STARTED BOOTED",
      "g SUSPENDED PAUSED",
      "g RESUMED UNPAUSED",
      "g STOPPED SHUTDOWN 0",
      "deaf DEFINED ADDED",
      "deaf STARTED BOOTED",
      "deaf STOPPED DESTROYED SIGKILL",
    ]);
  });

  it("counts the guest as started once it handles SIGTERM, so a shutdown right after start is clean", async () => {
    const { conn, seen } = await setUp();
    conn.define({ name: "quick" });
    await conn.start("quick");
    expect(await conn.shutdown("quick")).toEqual({ code: 0, signal: null });
    expect(seen).toEqual(["quick DEFINED ADDED", "quick STARTED BOOTED", "quick STOPPED SHUTDOWN 0"]);
  });

  it("runs any command with its environment, and reports a clean exit as STOPPED SHUTDOWN", async () => {
    const { conn, seen, next } = await setUp();
    conn.define({ name: "sh", command: ["sh", "-c", 'echo "hello $WHO" >&3'], env: { WHO: "evloop" } });
    const ended = next("sh", "STOPPED");
    await conn.start("sh");
    expect(await ended).toBe("STOPPED SHUTDOWN");
    expect(conn.lookup("sh")).toMatchObject({ status: "hello evloop", lastExit: { code: 0, signal: null } });
    expect(seen).toEqual(["sh DEFINED ADDED", "sh STARTED BOOTED", "sh STOPPED SHUTDOWN 0"]);
  });

  it("refuses to start a missing program with a clear error, no event and no descriptor left", async () => {
    const before = openFds();
    const { conn, seen } = await setUp();
    conn.define({ name: "q", command: ["evloop-no-such-program-here"] });
    const error = await conn.start("q").catch((e: unknown) => e);
    expect(error).toMatchObject({
      reason: "spawn-failed",
      message: expect.stringMatching(/domain "q": cannot start: its program was not found \(spawn evloop-no-such-program-here ENOENT\)/),
      cause: { code: "ENOENT" },
    });
    expect(conn.lookup("q").state).toBe("shutoff");
    expect(seen).toEqual(["q DEFINED ADDED"]);
    expect(openFds()).toBe(before);
  });

  it("fails the start of a child that ends before its first status line, or is destroyed before it, with no event", async () => {
    const { conn, seen } = await setUp();
    conn.define({ name: "mute", command: ["sh", "-c", "exit 3"], ready: "status" });
    await expect(conn.start("mute")).rejects.toMatchObject({
      reason: "spawn-failed",
      message: expect.stringMatching(/domain "mute": cannot start: its child ended before its first status line \(exit code 3\)/),
    });
    expect(conn.lookup("mute")).toMatchObject({ state: "shutoff", lastExit: { code: 3, signal: null } });

    conn.define({ name: "slow", command: ["sleep", "30"], ready: "status" });
    const starting = conn.start("slow");
    await expect.poll(() => conn.lookup("slow").pid).toBeDefined();
    expect(conn.lookup("slow").state).toBe("starting");
    expect(() => conn.suspend("slow")).toThrow(/cannot suspend a domain that is starting/);
    expect(await conn.destroy("slow")).toEqual({ code: null, signal: "SIGKILL" });
    await expect(starting).rejects.toThrow(/ended before its first status line \(killed by SIGKILL\)/);
    expect(seen).toEqual(["mute DEFINED ADDED", "slow DEFINED ADDED"]);
  });

  it("ends a domain when its child exits, though a process it forked keeps the channel open", async () => {
    const { conn, seen, next } = await setUp();
    // As `qemu -daemonize` does: the program forks, the fork inherits descriptor 3, the program exits.
    conn.define({ name: "fork", command: ["sh", "-c", 'sleep 30 & echo "left $!" >&3; exit 0'] });
    const ended = next("fork", "STOPPED", "CRASHED");
    await conn.start("fork");
    let left: number | undefined;
    try {
      expect(await ended).toBe("STOPPED SHUTDOWN");
      const { status } = conn.lookup("fork");
      expect(status).toMatch(/^left \d+$/);
      left = Number(status?.slice("left ".length));
      expect(procState(left)).not.toBe("Z");
      expect(seen).toEqual(["fork DEFINED ADDED", "fork STARTED BOOTED", "fork STOPPED SHUTDOWN 0"]);
      expect(loop?.registrations().handles).toEqual([]);
      // Nothing is left for the daemon's shutdown to wait for.
      await daemon?.shutdown();
      expect(loop?.registrations()).toEqual({ handles: [], timers: [] });
    } finally {
      if (left !== undefined) process.kill(left, "SIGKILL");
    }
  });

  it("has the guest exit once the daemon's end of its channel is closed, so no guest outlives its daemon", async () => {
    const child = await spawnProcess({ name: "orphan", uuid: "4dea22b3-1d52-d8f3-2516-782e98ab3fa0", autostart: false, ready: "status", guest: { statusIntervalMs: 10 } });
    // Should it not exit by itself, it must not outlive the test either.
    const guard = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.close();
    expect(await child.exited).toEqual({ code: 141, signal: null });
    clearTimeout(guard);
  });

  it("autostarts at daemon start-up and stops every domain at shutdown, reporting each end", async () => {
    const { conn, seen, next } = await setUp({ domains: [{ name: "a", autostart: true }] });
    expect(await next("a", "STARTED")).toBe("STARTED BOOTED");
    await conn.start(conn.define({ name: "b" }).name);
    conn.suspend("b");
    let completed = false;
    conn.notifications.subscribe({ complete: () => (completed = true) });
    await daemon?.shutdown();
    expect(seen.slice(0, 4)).toEqual(["a STARTED BOOTED", "b DEFINED ADDED", "b STARTED BOOTED", "b SUSPENDED PAUSED"]);
    // Both are asked at once; which ends first is the system's business.
    expect(seen.slice(4).sort()).toEqual(["a STOPPED SHUTDOWN 0", "b STOPPED SHUTDOWN 0"]);
    expect(completed).toBe(true);
    expect(loop?.registrations()).toEqual({ handles: [], timers: [] });
  });
});
