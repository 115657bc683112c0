import { afterEach, describe, it, expect, vi } from "vitest";
import { startDaemon, type Daemon, type DaemonOptions } from "./daemon.ts";
import { openDriver, registerDriver, registeredDrivers, unregisterDriver, type Driver, type DriverContext } from "./driver.ts";
import { DriverError } from "./errors.ts";
import type { EventLoopImpl } from "./event-loop.ts";
import { registerEventImpl, unregisterEventImpl } from "./registry.ts";

function fakeLoop(): EventLoopImpl {
  return {
    addHandle: () => 1,
    updateHandle: () => {},
    removeHandle: () => 0,
    addTimeout: () => 1,
    updateTimeout: () => {},
    removeTimeout: () => 0,
  };
}

/** Daemons started by a test, shut down after it so no driver stays marked as running. */
const daemons: Daemon[] = [];
async function start(options?: DaemonOptions): Promise<Daemon> {
  const daemon = await startDaemon(options);
  daemons.push(daemon);
  return daemon;
}

afterEach(async () => {
  for (const d of daemons.splice(0)) await d.shutdown().catch(() => {});
  for (const d of registeredDrivers()) unregisterDriver(d.name);
  unregisterEventImpl();
});

/** A driver whose hooks write `name:startup` / `name:shutdown` to `log`. */
function recorder(log: string[], name: string, extra: Partial<Driver> = {}): Driver {
  return {
    name,
    startup: () => void log.push(`${name}:startup`),
    shutdown: () => void log.push(`${name}:shutdown`),
    ...extra,
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

describe("startDaemon", () => {
  it("starts the drivers in order and shutdown stops them in reverse order", async () => {
    const log: string[] = [];
    const daemon = await start({ drivers: [recorder(log, "a"), recorder(log, "b"), recorder(log, "c")] });
    expect(daemon.drivers).toEqual(["a", "b", "c"]);
    expect(daemon.running).toBe(true);
    await daemon.shutdown();
    expect(daemon.running).toBe(false);
    expect(log).toEqual(["a:startup", "b:startup", "c:startup", "c:shutdown", "b:shutdown", "a:shutdown"]);
  });

  it("by default starts every registered driver, in registration order", async () => {
    const log: string[] = [];
    registerDriver(recorder(log, "first"));
    registerDriver(recorder(log, "second"));
    const daemon = await start();
    expect(daemon.drivers).toEqual(["first", "second"]);
    expect(log).toEqual(["first:startup", "second:startup"]);
  });

  it("awaits each asynchronous startup before the next one begins", async () => {
    const log: string[] = [];
    const slow: Driver = {
      name: "slow",
      startup: async () => {
        log.push("slow:begin");
        await new Promise((resolve) => setTimeout(resolve, 5));
        log.push("slow:end");
      },
    };
    await start({ drivers: [slow, recorder(log, "next")] });
    expect(log).toEqual(["slow:begin", "slow:end", "next:startup"]);
  });

  it("drivers without hooks are fine", async () => {
    const daemon = await start({ drivers: [{ name: "bare" }] });
    expect(daemon.drivers).toEqual(["bare"]);
    await expect(daemon.shutdown()).resolves.toBeUndefined();
  });

  it("a second shutdown is a no-op", async () => {
    const log: string[] = [];
    const daemon = await start({ drivers: [recorder(log, "a")] });
    await daemon.shutdown();
    await daemon.shutdown();
    expect(log).toEqual(["a:startup", "a:shutdown"]);
  });

  it("hands every startup the daemon's loop", async () => {
    const loop = fakeLoop();
    let seen: EventLoopImpl | undefined;
    await start({ drivers: [{ name: "d", startup: (ctx) => void (seen = ctx.loop) }], loop });
    expect(seen).toBe(loop);
  });

  it("without a loop option, the drivers get the registered loop", async () => {
    const loop = fakeLoop();
    registerEventImpl(loop);
    let seen: EventLoopImpl | undefined;
    await start({ drivers: [{ name: "d", startup: (ctx) => void (seen = ctx.loop) }] });
    expect(seen).toBe(loop);
  });

  describe("when a startup fails", () => {
    it("stops the drivers already started, in reverse order, and never starts the later ones or stops the failed one", async () => {
      const log: string[] = [];
      const failing = recorder(log, "bad", {
        startup: () => {
          log.push("bad:startup");
          throw new Error("no hypervisor");
        },
      });
      await rejection(start({ drivers: [recorder(log, "a"), recorder(log, "b"), failing, recorder(log, "never")] }));
      expect(log).toEqual(["a:startup", "b:startup", "bad:startup", "b:shutdown", "a:shutdown"]);
    });

    it("rejects with a DriverError naming the driver, whose cause is what startup threw", async () => {
      const cause = new Error("no hypervisor");
      const error = await rejection(
        start({
          drivers: [
            {
              name: "qemu",
              startup: async () => {
                throw cause;
              },
            },
          ],
        }),
      );
      expect(error).toBeInstanceOf(DriverError);
      expect(error).toMatchObject({ code: "ERR_EVLOOP_DRIVER", driver: "qemu" });
      expect((error as Error).message).toBe('driver "qemu": startup failed');
      expect((error as Error).cause).toBe(cause);
    });

    it("leaves no driver marked as running: they can be started again and unregistered", async () => {
      const log: string[] = [];
      let fail = true;
      registerDriver(recorder(log, "a"));
      registerDriver({
        name: "flaky",
        startup: () => {
          if (fail) throw new Error("first time");
        },
      });
      await rejection(startDaemon());
      fail = false;
      const daemon = await start();
      expect(daemon.drivers).toEqual(["a", "flaky"]);
      await daemon.shutdown();
      expect(unregisterDriver("a")).toBe(true);
      expect(unregisterDriver("flaky")).toBe(true);
    });

    it("when unwinding fails too, rejects with a DriverError naming the failed driver whose cause holds both failures", async () => {
      const startupError = new Error("startup");
      const shutdownError = new Error("shutdown");
      const error = await rejection(
        start({
          drivers: [
            {
              name: "a",
              shutdown: () => {
                throw shutdownError;
              },
            },
            {
              name: "b",
              startup: () => {
                throw startupError;
              },
            },
          ],
        }),
      );
      expect(error).toBeInstanceOf(DriverError);
      expect((error as DriverError).driver).toBe("b");
      const cause = (error as Error).cause as AggregateError;
      expect(cause).toBeInstanceOf(AggregateError);
      expect(cause.errors[0]).toBe(startupError);
      expect(cause.errors[1]).toBeInstanceOf(DriverError);
      expect((cause.errors[1] as DriverError).driver).toBe("a");
      expect((cause.errors[1] as DriverError).cause).toBe(shutdownError);
    });
  });

  describe("when a shutdown fails", () => {
    it("every other driver is still shut down, and the failure is thrown afterwards as a DriverError naming it with its cause", async () => {
      const log: string[] = [];
      const cause = new Error("stuck");
      const daemon = await start({
        drivers: [
          recorder(log, "a"),
          recorder(log, "b", {
            shutdown: () => {
              log.push("b:shutdown");
              throw cause;
            },
          }),
          recorder(log, "c"),
        ],
      });
      const error = await rejection(daemon.shutdown());
      expect(log.slice(3)).toEqual(["c:shutdown", "b:shutdown", "a:shutdown"]);
      expect(error).toBeInstanceOf(DriverError);
      expect(error).toMatchObject({ driver: "b", message: 'driver "b": shutdown failed' });
      expect((error as Error).cause).toBe(cause);
      expect(daemon.running).toBe(false);
    });

    it("several failures are thrown together: one DriverError naming them all, its cause an AggregateError of one DriverError each", async () => {
      const e1 = new Error("1");
      const e3 = new Error("3");
      const daemon = await start({
        drivers: [
          {
            name: "one",
            shutdown: () => {
              throw e1;
            },
          },
          { name: "two" },
          {
            name: "three",
            shutdown: async () => {
              throw e3;
            },
          },
        ],
      });
      const error = (await rejection(daemon.shutdown())) as DriverError;
      expect(error).toBeInstanceOf(DriverError);
      expect(error.driver).toBe("three, one");
      const cause = error.cause as AggregateError;
      expect(cause).toBeInstanceOf(AggregateError);
      expect(cause.errors.map((e: DriverError) => [e.driver, e.cause])).toEqual([
        ["three", e3],
        ["one", e1],
      ]);
    });

    it("the drivers are no longer running afterwards: they can be started again, and unregistered", async () => {
      registerDriver({
        name: "x",
        shutdown: () => {
          throw new Error("x");
        },
      });
      const daemon = await start();
      await rejection(daemon.shutdown());
      const again = await start();
      expect(again.drivers).toEqual(["x"]);
      await rejection(again.shutdown());
      expect(unregisterDriver("x")).toBe(true);
    });
  });

  it("a driver already running in another daemon is refused, and nothing is started", async () => {
    const log: string[] = [];
    const a = recorder(log, "a");
    await start({ drivers: [a] });
    const other = recorder(log, "other");
    const error = await rejection(startDaemon({ drivers: [other, a] }));
    expect(error).toBeInstanceOf(DriverError);
    expect(error).toMatchObject({ driver: "a" });
    expect((error as Error).message).toContain("already running in a daemon");
    expect(log).toEqual(["a:startup"]);
  });

  it("two daemons started at the same time cannot both start one driver", async () => {
    const shared = { name: "shared", startup: vi.fn(), shutdown: vi.fn() };
    const slow: Driver = { name: "slow", startup: () => new Promise((resolve) => setTimeout(resolve, 5)) };
    const results = await Promise.allSettled([start({ drivers: [slow, shared] }), start({ drivers: [{ name: "other" }, shared] })]);
    expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
    expect(shared.startup).toHaveBeenCalledTimes(1);
    const failure = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect(failure.reason).toBeInstanceOf(DriverError);
    expect(failure.reason).toMatchObject({ driver: "shared" });
  });

  it("a daemon refused for a conflict claims none of its drivers", async () => {
    const a: Driver = { name: "a" };
    const x: Driver = { name: "x" };
    await start({ drivers: [a] });
    await rejection(startDaemon({ drivers: [x, a] }));
    await expect(start({ drivers: [x] })).resolves.toMatchObject({ drivers: ["x"] });
  });

  it("a driver listed twice is refused before anything starts", async () => {
    const log: string[] = [];
    const a = recorder(log, "a");
    const error = await rejection(start({ drivers: [a, recorder(log, "b"), a] }));
    expect(error).toBeInstanceOf(DriverError);
    expect(error).toMatchObject({ driver: "a" });
    expect(log).toEqual([]);
  });

  it("a driver a daemon runs cannot be unregistered until the daemon shuts down", async () => {
    registerDriver({ name: "a" });
    const daemon = await start();
    expect(() => unregisterDriver("a")).toThrow(DriverError);
    expect(() => unregisterDriver("a")).toThrow(/shut the daemon down first/);
    await daemon.shutdown();
    expect(unregisterDriver("a")).toBe(true);
  });
});

describe("daemon-only drivers", () => {
  function daemonOnly(open = vi.fn((ctx: DriverContext) => ({ loop: ctx.loop }))): Driver<{ loop: EventLoopImpl }> {
    return { name: "qemu", daemonOnly: true, open };
  }

  it("open inside a started daemon, with the daemon's loop", async () => {
    const driver = daemonOnly();
    registerDriver(driver);
    const loop = fakeLoop();
    registerEventImpl(fakeLoop()); // a different, registered loop: the daemon's wins
    await start({ loop });
    const conn = await openDriver<{ loop: EventLoopImpl }>("qemu");
    expect(conn.loop).toBe(loop);
  });

  it("open by object inside a started daemon", async () => {
    const driver = daemonOnly();
    registerDriver(driver);
    await start({ loop: fakeLoop() });
    await expect(openDriver(driver)).resolves.toBeDefined();
  });

  it("may be opened by another driver's startup once it has been started", async () => {
    const driver = daemonOnly();
    let opened: unknown;
    await start({ drivers: [driver, { name: "user", startup: async () => void (opened = await openDriver(driver)) }], loop: fakeLoop() });
    expect(opened).toBeDefined();
  });

  it("are refused again after the daemon shuts down", async () => {
    const driver = daemonOnly();
    registerDriver(driver);
    const daemon = await start({ loop: fakeLoop() });
    await expect(openDriver("qemu")).resolves.toBeDefined();
    await daemon.shutdown();
    const error = await rejection(openDriver("qemu"));
    expect(error).toBeInstanceOf(DriverError);
    expect((error as Error).message).toContain("daemon-only");
  });

  it("are refused while their daemon is shutting down (from another driver's shutdown)", async () => {
    const driver = daemonOnly();
    let during: unknown;
    const daemon = await start({
      drivers: [
        { name: "user", shutdown: async () => void (during = await rejection(openDriver(driver))) },
        driver,
      ],
      loop: fakeLoop(),
    });
    await daemon.shutdown();
    expect(during).toBeInstanceOf(DriverError);
  });

  it("are refused when the daemon did not start them", async () => {
    const driver = daemonOnly();
    registerDriver(driver);
    await start({ drivers: [{ name: "unrelated" }], loop: fakeLoop() });
    await expect(openDriver("qemu")).rejects.toThrow(DriverError);
  });

  it("whose startup failed are refused", async () => {
    const driver: Driver = {
      ...daemonOnly(),
      startup: () => {
        throw new Error("no");
      },
    };
    registerDriver(driver);
    await rejection(startDaemon());
    await expect(openDriver("qemu")).rejects.toThrow(/daemon-only/);
  });
});
