import { DriverError, InvalidArgumentError, OutOfRangeError, describeDomainEvent, openDriver } from "@evloop/core";
import { startDaemon, type Daemon } from "@evloop/core/daemon";
import { createVirtualLoop, type VirtualLoop } from "@evloop/poll";
import { afterEach, describe, expect, it } from "vitest";
import { describeExit, readAvailable, type DomainProcess, type ProcessExit, type Spawn } from "./child.ts";
import { DomainError, type DomainDefinition } from "./definition.ts";
import { createProcessDriver, type ProcessConnection, type ProcessDriverOptions, type ProcessLifecycleEvent } from "./process-driver.ts";
import { simulatedSpawn } from "./simulated-spawn.ts";

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Lets promises settle and runs the virtual loop at the current instant, again and again until a
 * pass runs nothing: what promises do after a callback thus happens at that callback's instant.
 */
async function runInstant(loop: VirtualLoop): Promise<void> {
  await settle();
  for (let passes = 0; passes < 100; passes++) {
    const ran = loop.advance(0);
    await settle();
    if (ran === 0) break;
  }
}

/** Runs the current instant, then moves the clock `ms` milliseconds one at a time, running each instant. */
async function run(loop: VirtualLoop, ms: number): Promise<void> {
  await runInstant(loop);
  for (let i = 0; i < ms; i++) {
    loop.advance(1);
    await runInstant(loop);
  }
}

/** Keeps the virtual clock moving while `promise` is pending (for calls that wait on the loop). */
async function during<T>(loop: VirtualLoop, promise: Promise<T>, limitMs = 60_000): Promise<T> {
  let done = false;
  const over = () => (done = true);
  promise.then(over, over);
  await run(loop, 0);
  for (let i = 0; !done && i < limitMs; i++) await run(loop, 1);
  return promise;
}

type Seen = [at: number, name: string, type: string, detail: string, exit?: ProcessExit];

/** The daemon a test started with setUp, and its loop, for the test's clean-up. */
let daemon: Daemon | undefined;
let daemonLoop: VirtualLoop | undefined;
afterEach(async () => {
  if (daemon !== undefined && daemonLoop !== undefined) await during(daemonLoop, daemon.shutdown());
  daemon = undefined;
});

/** Starts a daemon running a process driver on a virtual loop, with simulated children unless `spawnOn` makes others. */
async function setUp(options: Omit<ProcessDriverOptions, "spawn"> = {}, spawnOn: (loop: VirtualLoop) => Spawn = simulatedSpawn) {
  const loop = createVirtualLoop();
  const errors: unknown[] = [];
  const driver = createProcessDriver({ spawn: spawnOn(loop), onError: (e) => errors.push(e), ...options });
  daemon = await startDaemon({ drivers: [driver], loop });
  daemonLoop = loop;
  const conn = await openDriver(driver);
  const seen: Seen[] = [];
  let completed = false;
  conn.notifications.subscribe({
    next: (e: ProcessLifecycleEvent) => void seen.push([loop.now(), e.name, ...describeDomainEvent(e.type, e.detail), ...(e.exit ? [e.exit] : [])] as Seen),
    complete: () => (completed = true),
  });
  const shutdown = async () => {
    const d = daemon as Daemon;
    daemon = undefined;
    await during(loop, d.shutdown());
  };
  return { loop, driver, conn, seen, errors, shutdown, completed: () => completed };
}

/** A child the test moves by hand, on the virtual loop's descriptors: it ignores every signal. */
interface HandChild {
  readonly process: DomainProcess;
  /** The signals the driver sent it. */
  readonly signals: NodeJS.Signals[];
  /** Writes a status line to its monitor channel. */
  say(line: string): void;
  /** Closes the last writing end of its monitor channel, as its end (or its last fork's) does. */
  hangUp(): void;
  /** Ends it: its process record has `exit` from now on. */
  exit(exit: ProcessExit): void;
}

function handChild(loop: VirtualLoop): HandChild {
  const [monitor, writeEnd] = loop.fds.pipe();
  let settle!: (exit: ProcessExit) => void;
  let exited = false;
  const signals: NodeJS.Signals[] = [];
  return {
    process: {
      monitor,
      read: () => readAvailable(() => loop.fds.read(monitor)),
      close: () => loop.fds.close(monitor),
      kill: (signal) => !exited && signals.push(signal) > 0,
      exited: new Promise((resolve) => (settle = resolve)),
    },
    signals,
    say: (line) => void loop.fds.write(writeEnd, `${line}\n`),
    hangUp: () => loop.fds.close(writeEnd),
    exit(exit) {
      exited = true;
      settle(exit);
    },
  };
}

/** Sets up a daemon with one domain whose child is a {@link HandChild}, and starts it: `starting` is the start's promise. */
async function startHandDomain(definition: DomainDefinition) {
  let child: HandChild | undefined;
  const setup = await setUp({ domains: [definition] }, (loop) => async () => (child = handChild(loop)).process);
  const starting = setup.conn.start(definition.name);
  await run(setup.loop, 0);
  return { ...setup, starting, child: child as HandChild };
}

const reasonOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toBeInstanceOf(DriverError);
    return (error as DomainError).reason;
  }
  return undefined;
};

describe("definitions", () => {
  it.each<[string, unknown, RegExp]>([
    ["no name", {}, /name must be/],
    ["a name with a slash", { name: "a/b" }, /name must be/],
    ["a bad uuid", { name: "a", uuid: "nope" }, /is not a uuid/],
    ["an empty command", { name: "a", command: [] }, /command must be a non-empty array/],
    ["a command without a program", { name: "a", command: [""] }, /command\[0\] must name the program/],
    ["a command with a guest", { name: "a", command: ["true"], guest: {} }, /cannot go with a command/],
    ["a guest exit without a lifetime", { name: "a", guest: { exit: { code: 1 } } }, /needs guest.lifetimeMs/],
    ["a guest exit signal that does not end a process", { name: "a", guest: { lifetimeMs: 1, exit: { signal: "SIGSTOP" } } }, /must be one of/],
    ["an exit code out of range", { name: "a", guest: { lifetimeMs: 1, exit: { code: 256 } } }, /from 0 to 255/],
    ["a zero status interval", { name: "a", guest: { statusIntervalMs: 0 } }, /positive integer/],
    ["non-string env", { name: "a", env: { A: 1 } }, /env must be/],
    ["a non-boolean autostart", { name: "a", autostart: "yes" }, /autostart must be/],
  ])("refuses %s", async (_what, definition, message) => {
    expect(() => createProcessDriver({ domains: [definition as DomainDefinition] })).toThrow(message);
    const { conn, seen } = await setUp();
    expect(reasonOf(() => conn.define(definition as DomainDefinition))).toBe("invalid-definition");
    expect(seen).toEqual([]);
    expect(conn.list()).toEqual([]);
  });

  it("refuses a duplicate name or uuid, naming the domain that has it", async () => {
    const uuid = "4dea22b3-1d52-d8f3-2516-782e98ab3fa0";
    expect(() => createProcessDriver({ domains: [{ name: "a" }, { name: "a" }] })).toThrow(/already defined/);
    const { conn, seen } = await setUp({ domains: [{ name: "a", uuid }] });
    expect(reasonOf(() => conn.define({ name: "a" }))).toBe("duplicate-name");
    expect(reasonOf(() => conn.define({ name: "b", uuid: uuid.toUpperCase() }))).toBe("duplicate-uuid");
    expect(() => conn.define({ name: "b", uuid })).toThrow(/belongs to domain "a"/);
    expect(seen).toEqual([]);
  });

  it("finds a domain by name or uuid, and refuses an unknown one for every request", async () => {
    const { conn } = await setUp({ domains: [{ name: "a", uuid: "4dea22b3-1d52-d8f3-2516-782e98ab3fa0" }] });
    expect(conn.lookup("4DEA22B3-1D52-D8F3-2516-782E98AB3FA0").name).toBe("a");
    expect(conn.lookup("4dea22b31d52d8f32516782e98ab3fa0").name).toBe("a");
    expect(conn.lookup("a")).toEqual({ name: "a", uuid: "4dea22b3-1d52-d8f3-2516-782e98ab3fa0", state: "shutoff", autostart: false });
    for (const call of [() => conn.lookup("zz"), () => conn.undefine("zz"), () => conn.suspend("zz"), () => conn.resume("zz")])
      expect(reasonOf(call)).toBe("no-such-domain");
    for (const call of [conn.start, conn.shutdown, conn.destroy])
      await expect(call("zz")).rejects.toMatchObject({ reason: "no-such-domain", message: 'driver "process": domain "zz": no domain has this name or uuid' });
  });
});

describe("options", () => {
  it.each<[string, unknown, string, typeof InvalidArgumentError | typeof OutOfRangeError]>([
    ["a non-function onError", { onError: 42 }, "options.onError", InvalidArgumentError],
    ["domains that are not an array", { domains: { name: "a" } }, "options.domains", InvalidArgumentError],
    ["an empty name", { name: "" }, "options.name", InvalidArgumentError],
    ["a spawn that is not a function", { spawn: "qemu" }, "options.spawn", InvalidArgumentError],
    ["a fractional shutdownTimeoutMs", { shutdownTimeoutMs: 1.5 }, "options.shutdownTimeoutMs", InvalidArgumentError],
    ["a negative shutdownTimeoutMs", { shutdownTimeoutMs: -1 }, "options.shutdownTimeoutMs", OutOfRangeError],
    ["options that are not an object", null, "options", InvalidArgumentError],
  ])("refuses %s with a typed error naming it", (_what, options, argument, type) => {
    const error = (() => {
      try {
        createProcessDriver(options as ProcessDriverOptions);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(type);
    expect(error).toMatchObject({ argument, message: expect.stringContaining(`"${argument}"`) });
  });
});

describe("the driver as a daemon-only driver", () => {
  it("refuses to open outside a started daemon", async () => {
    const driver = createProcessDriver({ name: "process-local" });
    await expect(openDriver(driver)).rejects.toThrow(/daemon-only/);
  });

  it("autostarts from the loop after startup, in definition order, so a subscriber that connects right away sees it", async () => {
    const { loop, seen, conn } = await setUp({
      domains: [{ name: "b", autostart: true }, { name: "x" }, { name: "a", autostart: true }],
    });
    expect(seen).toEqual([]);
    expect(conn.lookup("b").state).toBe("shutoff");
    await run(loop, 1);
    expect(seen).toEqual([
      [0, "b", "STARTED", "BOOTED"],
      [0, "a", "STARTED", "BOOTED"],
    ]);
    expect(conn.list().map((d) => [d.name, d.state])).toEqual([
      ["b", "running"],
      ["x", "shutoff"],
      ["a", "running"],
    ]);
  });

  it("reports an autostart domain that cannot start to onError, and starts the others", async () => {
    const { loop, seen, errors } = await setUp({ domains: [{ name: "q", autostart: true, command: ["qemu"] }, { name: "a", autostart: true }] });
    await run(loop, 1);
    expect(seen).toEqual([[0, "a", "STARTED", "BOOTED"]]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ reason: "spawn-failed", domain: "q" });
  });

  it("stops every domain at shutdown, waits for the ends and reports them, then completes the connections", async () => {
    const { loop, conn, seen, shutdown, completed } = await setUp({ domains: [{ name: "a", autostart: true }, { name: "b" }] });
    await run(loop, 1);
    await during(loop, conn.start("b"));
    conn.suspend("b");
    await run(loop, 5);
    await shutdown();
    expect(seen.slice(2)).toEqual([
      [1, "b", "SUSPENDED", "PAUSED"],
      // Both ends were requested in the same instant; the simulated children end at once.
      [6, "a", "STOPPED", "SHUTDOWN", { code: 0, signal: null }],
      [6, "b", "STOPPED", "SHUTDOWN", { code: 0, signal: null }],
    ]);
    expect(completed()).toBe(true);
    expect(conn.closed).toBe(true);
    expect(loop.registrations()).toEqual({ handles: [], timers: [] });
    expect(() => conn.define({ name: "c" })).toThrow(/connection is closed/);
  });

  it("kills a child that ignores SIGTERM after shutdownTimeoutMs (STOPPED DESTROYED), and gives up on one that survives SIGKILL", async () => {
    const loop = createVirtualLoop();
    /** A child that ignores SIGTERM, and with `immortal` SIGKILL too. */
    const stubborn = (immortal: boolean): DomainProcess => {
      const [monitor, writeEnd] = loop.fds.pipe();
      let exit!: (e: ProcessExit) => void;
      return {
        monitor,
        read: () => (loop.fds.isOpen(writeEnd) ? null : loop.fds.read(monitor)),
        close: () => loop.fds.close(monitor),
        kill(signal) {
          if (signal === "SIGKILL" && !immortal) {
            loop.fds.close(writeEnd);
            exit({ code: null, signal });
          }
          return true;
        },
        exited: new Promise((resolve) => (exit = resolve)),
      };
    };
    const driver = createProcessDriver({
      name: "process-stubborn",
      shutdownTimeoutMs: 100,
      spawn: async (d) => stubborn(d.name === "immortal"),
      domains: [
        { name: "stubborn", autostart: true, ready: "spawn" },
        { name: "immortal", autostart: true, ready: "spawn" },
      ],
    });
    const d = await startDaemon({ drivers: [driver], loop });
    const conn = await openDriver(driver);
    const seen: [number, string, string, string][] = [];
    conn.notifications.subscribe((e) => void seen.push([loop.now(), e.name, ...describeDomainEvent(e.type, e.detail)]));
    await run(loop, 1);
    await expect(during(loop, d.shutdown())).rejects.toMatchObject({
      message: 'driver "process-stubborn": shutdown failed',
      cause: { reason: "invalid-state", message: expect.stringMatching(/"immortal": its child did not end within 100 ms of SIGTERM, nor of SIGKILL/) },
    });
    expect(seen.slice(2)).toEqual([[101, "stubborn", "STOPPED", "DESTROYED"]]);
    expect(loop.now()).toBe(201);
    // The one it gave up on holds nothing of the loop's.
    expect(loop.registrations()).toEqual({ handles: [], timers: [] });
  });
});

describe("lifecycle events", () => {
  it("reports the seed's lifecycle, each event once, with its detail, uuid and exit", async () => {
    const uuid = "1b4e28ba-2fa1-11d2-883f-0016d3cca427";
    const { loop, conn, seen } = await setUp();
    const events: ProcessLifecycleEvent[] = [];
    conn.notifications.subscribe((e) => void events.push(e));

    expect(conn.define({ name: "web", uuid })).toMatchObject({ name: "web", uuid, state: "shutoff" });
    await during(loop, conn.start("web"));
    await run(loop, 0);
    expect(conn.lookup("web")).toMatchObject({ state: "running", status: "booted" });
    await run(loop, 250);
    expect(conn.lookup("web").status).toBe("running 2");
    conn.suspend("web");
    expect(conn.lookup("web").state).toBe("paused");
    await run(loop, 300);
    expect(conn.lookup("web").status).toBe("running 2");
    conn.resume("web");
    // Two requests, one end and one event.
    const [first, second] = [conn.destroy("web"), conn.destroy("web")];
    expect(await during(loop, first)).toEqual({ code: null, signal: "SIGKILL" });
    expect(await second).toEqual({ code: null, signal: "SIGKILL" });
    expect(conn.lookup("web")).toMatchObject({ state: "shutoff", lastExit: { code: null, signal: "SIGKILL" } });
    conn.undefine("web");

    expect(seen).toEqual([
      [0, "web", "DEFINED", "ADDED"],
      [0, "web", "STARTED", "BOOTED"],
      [250, "web", "SUSPENDED", "PAUSED"],
      [550, "web", "RESUMED", "UNPAUSED"],
      [550, "web", "STOPPED", "DESTROYED", { code: null, signal: "SIGKILL" }],
      [550, "web", "UNDEFINED", "REMOVED"],
    ]);
    for (const e of events) {
      expect(e.uuidString).toBe(uuid);
      expect(e.uuid).toHaveLength(16);
      expect(Object.isFrozen(e)).toBe(true);
    }
    expect(loop.registrations()).toEqual({ handles: [], timers: [] });
  });

  it.each<[string, DomainDefinition["guest"], string, string, ProcessExit]>([
    ["exits 0 by itself", { lifetimeMs: 20 }, "STOPPED", "SHUTDOWN", { code: 0, signal: null }],
    ["exits non-zero", { lifetimeMs: 20, exit: { code: 3 } }, "CRASHED", "PANICKED", { code: 3, signal: null }],
    ["is killed by a signal", { lifetimeMs: 20, exit: { signal: "SIGKILL" } }, "CRASHED", "PANICKED", { code: null, signal: "SIGKILL" }],
    ["is killed by SIGTERM nobody here sent", { lifetimeMs: 20, exit: { signal: "SIGTERM" } }, "CRASHED", "PANICKED", { code: null, signal: "SIGTERM" }],
  ])("reports a guest that %s", async (_what, guest, type, detail, exit) => {
    const { loop, conn, seen } = await setUp();
    conn.define({ name: "g", ...(guest ? { guest } : {}) });
    await during(loop, conn.start("g"));
    await run(loop, 30);
    expect(seen.slice(2)).toEqual([[20, "g", type, detail, exit]]);
    expect(conn.lookup("g").state).toBe("shutoff");
    // A domain that ended may start again.
    await during(loop, conn.start("g"));
    expect(conn.lookup("g").state).toBe("running");
  });

  it("reports STARTED, then the end, for a child whose first status line and end are read in the same pass", async () => {
    const { loop, conn, seen } = await setUp();
    conn.define({ name: "brief", guest: { lifetimeMs: 0, exit: { code: 1 } } });
    expect(await during(loop, conn.start("brief"))).toMatchObject({ name: "brief" });
    await run(loop, 0);
    expect(seen).toEqual([
      [0, "brief", "DEFINED", "ADDED"],
      [0, "brief", "STARTED", "BOOTED"],
      [0, "brief", "CRASHED", "PANICKED", { code: 1, signal: null }],
    ]);
  });

  it.each<[string, (child: HandChild) => void]>([
    [
      "hangs up, then exits",
      (child) => {
        child.say("bye");
        child.hangUp();
      },
    ],
    ["exits, then hangs up", (child) => child.say("bye")],
    ["exits while a process it forked keeps its channel open", (child) => child.say("bye")],
  ])("reports one end, from the exit record, for a child that %s, with every line it wrote", async (what, before) => {
    const { loop, conn, seen, starting, child } = await startHandDomain({ name: "d", ready: "spawn" });
    await starting;
    before(child);
    await run(loop, 5);
    // Nothing is reported before the record has the exit, even once the channel hung up.
    expect(conn.lookup("d")).toMatchObject({ state: "running", status: "bye" });
    const hungUpFirst = what.startsWith("hangs up");
    expect(loop.registrations().handles).toHaveLength(hungUpFirst ? 0 : 1);
    child.exit({ code: 0, signal: null });
    await run(loop, 5);
    if (what.startsWith("exits, then")) child.hangUp();
    await run(loop, 5);
    expect(seen).toEqual([
      [0, "d", "STARTED", "BOOTED"],
      [5, "d", "STOPPED", "SHUTDOWN", { code: 0, signal: null }],
    ]);
    expect(conn.lookup("d")).toMatchObject({ state: "shutoff", status: "bye", lastExit: { code: 0, signal: null } });
    // The channel was let go either way: no watch is left, and the driver's end is closed.
    expect(loop.registrations().handles).toEqual([]);
    expect(loop.fds.isOpen(child.process.monitor)).toBe(false);
  });

  it("reads a line written just before the exit, when the exit is seen before the channel is", async () => {
    const { loop, seen, starting, child } = await startHandDomain({ name: "d" });
    // Its first status line and its end come together, before the loop turns.
    child.say("booted");
    child.exit({ code: 4, signal: null });
    expect(await during(loop, starting)).toMatchObject({ name: "d", status: "booted" });
    await run(loop, 0);
    expect(seen).toEqual([
      [0, "d", "STARTED", "BOOTED"],
      [0, "d", "CRASHED", "PANICKED", { code: 4, signal: null }],
    ]);
    expect(describeExit({ code: 4, signal: null })).toBe("exit code 4");
  });

  it("counts a child that turns ready while its shutdown is under way as stopping, not running", async () => {
    const { loop, conn, seen, starting, child } = await startHandDomain({ name: "late" });
    const shutdown = conn.shutdown("late");
    expect(child.signals).toEqual(["SIGTERM"]);
    expect(conn.lookup("late").state).toBe("starting");
    // It ignores SIGTERM, and then writes its first status line.
    child.say("booted");
    expect(await during(loop, starting)).toMatchObject({ state: "stopping", status: "booted" });
    expect(conn.lookup("late").state).toBe("stopping");
    expect(reasonOf(() => conn.suspend("late"))).toBe("invalid-state");
    const destroyed = conn.destroy("late");
    expect(child.signals).toEqual(["SIGTERM", "SIGKILL"]);
    child.exit({ code: null, signal: "SIGKILL" });
    child.hangUp();
    expect(await during(loop, destroyed)).toEqual({ code: null, signal: "SIGKILL" });
    expect(await shutdown).toEqual({ code: null, signal: "SIGKILL" });
    expect(seen.map(([, , type, detail]) => `${type} ${detail}`)).toEqual(["STARTED BOOTED", "STOPPED DESTROYED"]);
  });

  it("has a simulated guest exit, as the real one does, once the driver's end of its channel is closed", async () => {
    const loop = createVirtualLoop();
    const child = await simulatedSpawn(loop)({ name: "orphan", uuid: "4dea22b3-1d52-d8f3-2516-782e98ab3fa0", autostart: false, ready: "status", guest: { statusIntervalMs: 10 } });
    child.close();
    await run(loop, 10);
    expect(await child.exited).toEqual({ code: 141, signal: null });
    expect(loop.registrations()).toEqual({ handles: [], timers: [] });
  });

  it("shuts a paused domain down: SIGTERM stays pending until the driver continues it", async () => {
    const { loop, conn, seen } = await setUp({ domains: [{ name: "p" }] });
    await during(loop, conn.start("p"));
    conn.suspend("p");
    expect(await during(loop, conn.shutdown("p"))).toEqual({ code: 0, signal: null });
    expect(seen.map(([, , type, detail]) => `${type} ${detail}`)).toEqual(["STARTED BOOTED", "SUSPENDED PAUSED", "STOPPED SHUTDOWN"]);
    expect(conn.lookup("p").status).toBe("shutting down");
  });

  it("refuses requests the domain's state does not allow, and changes nothing", async () => {
    const { loop, conn, seen } = await setUp({ domains: [{ name: "s" }] });
    expect(reasonOf(() => conn.suspend("s"))).toBe("invalid-state");
    expect(reasonOf(() => conn.resume("s"))).toBe("invalid-state");
    await expect(conn.shutdown("s")).rejects.toMatchObject({ reason: "invalid-state" });
    await expect(conn.destroy("s")).rejects.toThrow(/cannot destroy a domain that is shutoff/);
    await during(loop, conn.start("s"));
    await expect(conn.start("s")).rejects.toThrow(/cannot start a domain that is running \(it must be shutoff\)/);
    expect(reasonOf(() => conn.resume("s"))).toBe("invalid-state");
    expect(reasonOf(() => conn.undefine("s"))).toBe("invalid-state");
    expect(seen.map(([, , type]) => type)).toEqual(["STARTED"]);
  });

  it("reports a child that cannot be started as a spawn-failed error, with no event", async () => {
    const { loop, conn, seen } = await setUp({ domains: [{ name: "q", command: ["qemu-system-x86_64"] }] });
    const error = await during(loop, conn.start("q")).catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: "spawn-failed", domain: "q", cause: { code: "ENOTSUP" } });
    expect(conn.lookup("q").state).toBe("shutoff");
    expect(seen).toEqual([]);
  });

  it("keeps delivering to other subscribers when one throws, and hands what it threw to onError", async () => {
    const { loop, conn, seen, errors } = await setUp();
    conn.notifications.subscribe(() => {
      throw new Error("subscriber bug");
    });
    conn.define({ name: "a" });
    await during(loop, conn.start("a"));
    expect(seen.map(([, , type]) => type)).toEqual(["DEFINED", "STARTED"]);
    expect(errors.map((e) => (e as Error).message)).toEqual(["subscriber bug", "subscriber bug"]);
  });

  it("stops delivering to a closed connection while others go on", async () => {
    const { loop, driver, conn, seen } = await setUp();
    const other: ProcessConnection = await openDriver(driver);
    let completed = false;
    other.notifications.subscribe({ complete: () => (completed = true) });
    other.close();
    expect(completed).toBe(true);
    expect(other.closed).toBe(true);
    expect(() => other.lookup("a")).toThrow(/connection is closed/);
    conn.define({ name: "a" });
    await run(loop, 1);
    expect(seen.map(([, , type]) => type)).toEqual(["DEFINED"]);
  });
});
