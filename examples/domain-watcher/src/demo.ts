// The seed's application, on a loop of its choice: register the loop, start the daemon with the
// process driver, connect, `virConnectNotify(conn, domainWatcher)`, and react to domains starting
// and stopping as it happens, without polling.
import {
  DomainEventType,
  describeDomainEvent,
  openDriver,
  registerDriver,
  registerEventImpl,
  unregisterDriver,
  unregisterEventImpl,
  virConnectNotify,
  type EventLoopImpl,
} from "@evloop/core";
import { startDaemon, type Daemon } from "@evloop/core/daemon";
import {
  createProcessDriver,
  describeExit,
  type DomainDefinition,
  type ProcessConnection,
  type ProcessDriver,
  type ProcessExit,
  type ProcessLifecycleEvent,
} from "@evloop/driver-process";
import { fromNotifications, ofDomain, ofType } from "@evloop/rxjs";
import { firstValueFrom } from "rxjs";
import { LOOPS, type DemoLoop, type LoopName } from "./loops.ts";

/** One event as the demo saw it. */
export interface DemoEvent {
  /** Milliseconds since the demo started, on the loop's clock. */
  readonly at: number;
  readonly domain: string;
  readonly event: string;
  readonly detail: string;
  /** How the child ended, on STOPPED and CRASHED. */
  readonly exit?: ProcessExit;
}

/** Runs until the daemon shuts down; the autostart guest stands for a long-lived VM. */
const ALPHA: DomainDefinition = { name: "alpha", uuid: "c7a5fdbd-edaf-9455-926a-d65c16db1809", autostart: true };
/** A guest that crashes 50 ms after it booted (killed by SIGKILL, as an out-of-memory kill would). */
const BRAVO: DomainDefinition = {
  name: "bravo",
  uuid: "5d4ba2a4-9d2e-4b6c-8f3e-0c6e3a1f2b7d",
  guest: { lifetimeMs: 50, exit: { signal: "SIGKILL" } },
};
/** Suspended, resumed, then destroyed. */
const CHARLIE: DomainDefinition = { name: "charlie", uuid: "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0" };

/** Resolves with the next event of `domain` of type `type`: the notifications as an RxJS Observable. */
function nextEvent(conn: ProcessConnection, domain: string, type: DomainEventType): Promise<ProcessLifecycleEvent> {
  return firstValueFrom(fromNotifications(conn).pipe(ofDomain(domain), ofType(type)));
}

/** Waits `ms` milliseconds of the loop's clock, through the contract's timers. */
function sleep(loop: EventLoopImpl, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = loop.addTimeout(ms, () => {
      loop.removeTimeout(timer);
      resolve();
    });
  });
}

/** What the application does once it is connected; every step waits for what it caused. */
async function scenario(conn: ProcessConnection, loop: EventLoopImpl): Promise<void> {
  await nextEvent(conn, "alpha", DomainEventType.STARTED);
  conn.define(BRAVO);
  conn.define(CHARLIE);
  // Both awaited together: should the start fail, the wait for the crash is not left dangling.
  await Promise.all([nextEvent(conn, "bravo", DomainEventType.CRASHED), conn.start("bravo")]);
  await conn.start("charlie");
  conn.suspend("charlie");
  await sleep(loop, 100);
  conn.resume("charlie");
  await conn.destroy("charlie");
  conn.undefine("bravo");
}

/** One line of the demo's output for an event. */
export function formatEvent({ at, domain, event, detail, exit }: DemoEvent): string {
  const how = exit === undefined ? "" : describeExit(exit);
  return `${at.toFixed(0).padStart(6)} ms  ${domain.padEnd(8)} ${event.padEnd(10)} ${detail.padEnd(10)} ${how}`.trimEnd();
}

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** The loop to run on. */
  readonly loop: LoopName;
  /** Where the demo's lines go (default: nowhere). */
  readonly print?: (line: string) => void;
  /**
   * More domains for the daemon to start with, after alpha (default none): to try the demo with
   * other guests. One whose name the scenario defines makes the scenario fail.
   */
  readonly domains?: readonly DomainDefinition[];
}

/** Runs every clean-up step, even when one fails; returns what failed. */
async function cleanUp(steps: readonly (() => unknown)[]): Promise<unknown[]> {
  const failures: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      failures.push(error);
    }
  }
  return failures;
}

/**
 * Runs the demo on one loop: starts the daemon with the process driver, defines domains, watches
 * their lifecycle events as they happen, and shuts the daemon down, which stops the rest.
 * Resolves with the events it saw, once the connection's notifications completed and everything
 * it registered is released. When something fails (the scenario, or a domain the daemon could not
 * start), the daemon is shut down all the same, which stops every child, everything is released,
 * and the demo rejects with that first failure; a clean-up step that fails too is printed.
 */
export async function runDemo({ loop: name, print = () => {}, domains = [] }: DemoOptions): Promise<DemoEvent[]> {
  const events: DemoEvent[] = [];
  let demo: DemoLoop | undefined;
  let registered = false;
  let driver: ProcessDriver | undefined;
  let daemon: Daemon | undefined;
  let failure: { error: unknown } | undefined;
  try {
    demo = LOOPS[name]();
    const { loop, now, runUntil } = demo;
    registerEventImpl(loop);
    registered = true;
    // What the driver cannot hand to a caller (an autostart that failed) fails the demo.
    let failed!: (error: unknown) => void;
    const driverFailed = new Promise<never>((_, reject) => (failed = reject));
    // Handled here too: a failure after the scenario is over (or before it began) is not a crash.
    driverFailed.catch(() => {});
    driver = createProcessDriver({ domains: [ALPHA, ...domains], onError: (error) => failed(error), ...(demo.spawn ? { spawn: demo.spawn } : {}) });
    registerDriver(driver);
    print(`evloop domain watcher: the process driver on the ${name} loop, with ${demo.children}`);
    print(`${"time".padStart(9)}  ${"domain".padEnd(8)} ${"event".padEnd(10)} detail`);
    daemon = await startDaemon();
    const conn = await openDriver<ProcessConnection>(driver.name);
    // The seed's domainWatcher: every lifecycle event, as it happens.
    virConnectNotify(conn, (e: ProcessLifecycleEvent) => {
      const [event, detail] = describeDomainEvent(e.type, e.detail);
      const seen: DemoEvent = { at: now(), domain: e.name, event, detail, ...(e.exit ? { exit: e.exit } : {}) };
      events.push(seen);
      print(formatEvent(seen));
    });
    const completed = new Promise<void>((resolve) => conn.notifications.subscribe({ complete: resolve }));
    await runUntil(Promise.race([scenario(conn, loop), driverFailed]));
    // Stops alpha, which still runs, and closes the connection: its notifications complete.
    await runUntil(daemon.shutdown());
    await completed;
    print(`${events.length} events; the daemon stopped every domain and closed the connection.`);
  } catch (error) {
    failure = { error };
  }
  // The daemon first: while it runs its driver cannot be unregistered, and its children and
  // watches would keep Node alive.
  const problems = await cleanUp([
    async () => {
      if (daemon?.running) await demo?.runUntil(daemon.shutdown());
    },
    () => {
      if (driver !== undefined) unregisterDriver(driver.name);
    },
    () => {
      if (registered) unregisterEventImpl();
    },
    () => demo?.close(),
  ]);
  if (failure !== undefined) {
    for (const problem of problems) print(`clean-up failed too: ${String(problem)}`);
    throw failure.error;
  }
  if (problems.length === 1) throw problems[0];
  if (problems.length > 1) throw new AggregateError(problems, "the demo could not clean up");
  return events;
}
