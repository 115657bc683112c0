import { DriverError, InvalidArgumentError } from "./errors.ts";
import type { EventLoopImpl } from "./event-loop.ts";
import { resolveEventImpl } from "./registry.ts";

/** What a driver is handed when it starts or opens: the loop it must use for its descriptors and timers. */
export interface DriverContext {
  /** The daemon's or caller's explicit loop, else the registered one (read lazily: a driver that never watches anything needs none). */
  readonly loop: EventLoopImpl;
}

/**
 * A driver (the seed's `virDriver`): something that opens connections and may need process-wide
 * set-up. `startup`/`shutdown` are the seed's `virDrvStartup`/`virDrvShutdown`, run by the daemon
 * host (`@evloop/core/daemon`). A `daemonOnly` driver is "never activated locally": it refuses to
 * open unless a started daemon runs it.
 */
export interface Driver<C = unknown> {
  /** A unique name, for example `"process"`. */
  readonly name: string;
  /** Whether the driver may only be opened inside a started daemon. */
  readonly daemonOnly?: boolean;
  /** Process-wide set-up, run once by the daemon host before anything opens the driver. */
  startup?(context: DriverContext): void | Promise<void>;
  /** Undoes `startup`; the daemon host runs it in the reverse order of start-up. */
  shutdown?(): void | Promise<void>;
  /** Opens a connection. */
  open?(context: DriverContext): C | Promise<C>;
}

const drivers = new Map<string, Driver>();
/** Drivers started by a running daemon, with the context they were started with. */
const started = new Map<string, DriverContext>();

/** Makes a context whose loop is the explicit one, else the registered one when first read. */
export function driverContext(loop?: EventLoopImpl): DriverContext {
  return {
    get loop() {
      return resolveEventImpl("driver", loop);
    },
  };
}

function assertDriver(driver: unknown): asserts driver is Driver {
  const d = driver as Driver | null;
  if (typeof d !== "object" || d === null || typeof d.name !== "string" || d.name === "")
    throw new InvalidArgumentError("driver", driver, "an object with a non-empty string name");
  for (const hook of ["startup", "shutdown", "open"] as const) {
    if (d[hook] !== undefined && typeof d[hook] !== "function") throw new InvalidArgumentError(`driver.${hook}`, d[hook], "a function or undefined");
  }
}

/** Registers a driver under its name; a different driver with the same name is refused with {@link DriverError}. */
export function registerDriver(driver: Driver): void {
  assertDriver(driver);
  const existing = drivers.get(driver.name);
  if (existing === driver) return;
  if (existing !== undefined) throw new DriverError(driver.name, "a different driver is already registered under this name");
  drivers.set(driver.name, driver);
}

/** Unregisters a driver; returns whether it was registered. A driver a daemon runs stays until that daemon shuts down. */
export function unregisterDriver(name: string): boolean {
  if (started.has(name)) throw new DriverError(name, "is running in a daemon; shut the daemon down first");
  return drivers.delete(name);
}

/** The registered drivers, in registration order. */
export function registeredDrivers(): readonly Driver[] {
  return [...drivers.values()];
}

/**
 * Opens a connection with the named (or given) driver. A daemon-only driver opens only while a
 * started daemon runs it, and then with the daemon's loop unless `options.loop` is given;
 * otherwise {@link DriverError}.
 */
export async function openDriver<C = unknown>(driver: string | Driver<C>, options: { loop?: EventLoopImpl } = {}): Promise<C> {
  const d = (typeof driver === "string" ? drivers.get(driver) : driver) as Driver<C> | undefined;
  if (d === undefined) throw new DriverError(String(driver), "no such driver is registered");
  assertDriver(d);
  if (d.open === undefined) throw new DriverError(d.name, "does not open connections");
  const daemonContext = started.get(d.name);
  if (d.daemonOnly && daemonContext === undefined)
    throw new DriverError(d.name, "is daemon-only and is never activated locally: start it with startDaemon() from @evloop/core/daemon");
  const context = options.loop !== undefined || daemonContext === undefined ? driverContext(options.loop) : daemonContext;
  return d.open(context);
}

/** @internal The daemon host's access to the running set. */
export const daemonRegistry = { started };
