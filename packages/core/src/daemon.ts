/**
 * The daemon host: the seed's "private API" for a process that runs drivers. It starts drivers'
 * `startup` hooks in order and runs their `shutdown` hooks in reverse. Kept apart from the main
 * entry point so a library cannot start drivers by accident.
 * @module @evloop/core/daemon
 */
import { DriverError } from "./errors.ts";
import type { EventLoopImpl } from "./event-loop.ts";
import { daemonRegistry, driverContext, registeredDrivers, type Driver } from "./driver.ts";

/** Options of {@link startDaemon}. */
export interface DaemonOptions {
  /** The drivers to start, in order; by default every registered driver, in registration order. */
  readonly drivers?: readonly Driver[];
  /** The loop handed to the drivers; by default the registered one. */
  readonly loop?: EventLoopImpl;
}

/** A started daemon. */
export interface Daemon {
  /** The names of the drivers it started, in start-up order. */
  readonly drivers: readonly string[];
  /** Whether it is running (until `shutdown` is called). */
  readonly running: boolean;
  /**
   * Shuts every started driver down in reverse start-up order. Every driver's shutdown runs even
   * when an earlier one fails; failures are then thrown together as one {@link DriverError}
   * (its `cause` an `AggregateError` when several failed). Calling it again is a no-op.
   */
  shutdown(): Promise<void>;
}

/**
 * The names of the drivers some daemon is starting, running or stopping. Claimed synchronously,
 * before the first startup is awaited, so two daemons started together (or one list naming a
 * driver twice) cannot both start a driver.
 */
const claimed = new Set<string>();

async function stopAll(drivers: readonly Driver[]): Promise<void> {
  const failures: DriverError[] = [];
  for (const d of [...drivers].reverse()) {
    daemonRegistry.started.delete(d.name);
    try {
      await d.shutdown?.();
    } catch (cause) {
      failures.push(new DriverError(d.name, "shutdown failed", { cause }));
    }
  }
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1)
    throw new DriverError(failures.map((f) => f.driver).join(", "), "shutdown failed", { cause: new AggregateError(failures) });
}

/**
 * Starts the drivers. When one's `startup` fails, the ones already started are shut down in
 * reverse order and the failure is thrown as a {@link DriverError} naming the driver (its
 * `cause` is what `startup` threw). A driver already running in another daemon is refused.
 */
export async function startDaemon(options: DaemonOptions = {}): Promise<Daemon> {
  const drivers = options.drivers ?? registeredDrivers();
  const names = new Set<string>();
  for (const d of drivers) {
    if (claimed.has(d.name) || daemonRegistry.started.has(d.name)) throw new DriverError(d.name, "is already running in a daemon");
    if (names.has(d.name)) throw new DriverError(d.name, "is listed twice");
    names.add(d.name);
  }
  for (const name of names) claimed.add(name);
  const release = (): void => {
    for (const name of names) claimed.delete(name);
  };
  const context = driverContext(options.loop);
  const up: Driver[] = [];
  for (const d of drivers) {
    try {
      daemonRegistry.started.set(d.name, context);
      await d.startup?.(context);
      up.push(d);
    } catch (cause) {
      daemonRegistry.started.delete(d.name);
      const failure = new DriverError(d.name, "startup failed", { cause });
      try {
        await stopAll(up);
      } catch (unwind) {
        throw new DriverError(d.name, "startup failed, and unwinding the drivers already started failed too", {
          cause: new AggregateError([cause, unwind]),
        });
      } finally {
        release();
      }
      throw failure;
    }
  }
  let running = true;
  return {
    drivers: up.map((d) => d.name),
    get running() {
      return running;
    },
    async shutdown() {
      if (!running) return;
      running = false;
      try {
        await stopAll(up);
      } finally {
        release();
      }
    },
  };
}
