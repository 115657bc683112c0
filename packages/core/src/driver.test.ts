import { afterEach, describe, it, expect, vi } from "vitest";
import { DriverError, InvalidArgumentError, NoEventLoopError } from "./errors.ts";
import type { EventLoopImpl } from "./event-loop.ts";
import { openDriver, registerDriver, registeredDrivers, unregisterDriver, type Driver, type DriverContext } from "./driver.ts";
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

afterEach(() => {
  for (const d of registeredDrivers()) unregisterDriver(d.name);
  unregisterEventImpl();
});


describe("registerDriver / unregisterDriver / registeredDrivers", () => {
  it("lists registered drivers in registration order", () => {
    const a: Driver = { name: "a" };
    const b: Driver = { name: "b" };
    registerDriver(a);
    registerDriver(b);
    expect(registeredDrivers()).toEqual([a, b]);
  });

  it("registering the same driver again is a no-op", () => {
    const a: Driver = { name: "a" };
    registerDriver(a);
    registerDriver(a);
    expect(registeredDrivers()).toEqual([a]);
  });

  it("a different driver under a taken name is refused with DriverError naming it, and the first stays", async () => {
    const a: Driver = { name: "qemu" };
    registerDriver(a);
    let error: unknown;
    try {
      registerDriver({ name: "qemu" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DriverError);
    expect(error).toMatchObject({ code: "ERR_EVLOOP_DRIVER", driver: "qemu" });
    expect((error as Error).message).toMatch(/^driver "qemu": /);
    expect(registeredDrivers()).toEqual([a]);
  });

  it.each([
    ["undefined", undefined],
    ["null", null],
    ["a string", "qemu"],
    ["an object without a name", {}],
    ["an empty name", { name: "" }],
    ["a name that is not a string", { name: 1 }],
  ])("refuses %s with InvalidArgumentError naming driver", (_what, driver) => {
    expect(() => registerDriver(driver as never)).toThrow(InvalidArgumentError);
    expect(() => registerDriver(driver as never)).toThrow(/"driver"/);
  });

  it.each(["startup", "shutdown", "open"])("refuses a driver whose %s hook is not a function, naming driver.%s", (hook) => {
    expect(() => registerDriver({ name: "x", [hook]: 1 } as never)).toThrow(InvalidArgumentError);
    expect(() => registerDriver({ name: "x", [hook]: 1 } as never)).toThrow(`"driver.${hook}"`);
    expect(registeredDrivers()).toEqual([]);
  });

  it("unregisterDriver returns whether the driver was registered, and frees its name", () => {
    registerDriver({ name: "a" });
    expect(unregisterDriver("a")).toBe(true);
    expect(unregisterDriver("a")).toBe(false);
    expect(registeredDrivers()).toEqual([]);
    expect(() => registerDriver({ name: "a" })).not.toThrow();
  });

  it("registeredDrivers returns a copy", () => {
    registerDriver({ name: "a" });
    (registeredDrivers() as Driver[]).length = 0;
    expect(registeredDrivers()).toHaveLength(1);
  });
});

describe("openDriver", () => {
  it("opens a registered driver by name and resolves to its connection", async () => {
    registerDriver({ name: "test", open: () => ({ conn: "test:///default" }) });
    await expect(openDriver("test")).resolves.toEqual({ conn: "test:///default" });
  });

  it("opens a driver object that is not registered", async () => {
    await expect(openDriver({ name: "adhoc", open: async () => 42 })).resolves.toBe(42);
  });

  it("rejects with DriverError for an unknown name", async () => {
    const error = await openDriver("nope").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DriverError);
    expect(error).toMatchObject({ driver: "nope" });
    expect((error as Error).message).toContain("no such driver");
  });

  it("rejects with DriverError for a driver without open", async () => {
    registerDriver({ name: "setup-only" });
    const error = await openDriver("setup-only").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DriverError);
    expect((error as Error).message).toContain("does not open connections");
  });

  it("rejects (does not throw synchronously) when a driver object is malformed", async () => {
    const promise = openDriver({ name: "" } as never);
    await expect(promise).rejects.toThrow(InvalidArgumentError);
  });

  it("rejects with what open threw or rejected with", async () => {
    const boom = new Error("cannot connect");
    await expect(
      openDriver({
        name: "bad",
        open: () => {
          throw boom;
        },
      }),
    ).rejects.toBe(boom);
  });

  it("hands open the explicit loop when one is passed", async () => {
    const loop = fakeLoop();
    registerEventImpl(fakeLoop());
    let seen: EventLoopImpl | undefined;
    await openDriver({ name: "d", open: (ctx: DriverContext) => void (seen = ctx.loop) }, { loop });
    expect(seen).toBe(loop);
  });

  it("otherwise hands open the registered loop", async () => {
    const loop = fakeLoop();
    registerEventImpl(loop);
    let seen: EventLoopImpl | undefined;
    await openDriver({ name: "d", open: (ctx: DriverContext) => void (seen = ctx.loop) });
    expect(seen).toBe(loop);
  });

  it("reads the loop lazily: a driver that never reads it needs none; reading it without one throws NoEventLoopError", async () => {
    await expect(openDriver({ name: "no-io", open: () => "ok" })).resolves.toBe("ok");
    await expect(openDriver({ name: "io", open: (ctx) => ctx.loop })).rejects.toThrow(NoEventLoopError);
  });

  it("the context reads the registered loop when read, not when opened", async () => {
    let context: DriverContext | undefined;
    await openDriver({ name: "d", open: (ctx) => void (context = ctx) });
    const loop = fakeLoop();
    registerEventImpl(loop);
    expect(context?.loop).toBe(loop);
  });

  it("a daemon-only driver is refused outside a started daemon, with a message saying how to run it", async () => {
    const open = vi.fn();
    registerDriver({ name: "qemu", daemonOnly: true, open });
    const error = await openDriver("qemu").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DriverError);
    expect(error).toMatchObject({ driver: "qemu", code: "ERR_EVLOOP_DRIVER" });
    expect((error as Error).message).toContain("daemon-only");
    expect((error as Error).message).toContain("never activated locally");
    expect((error as Error).message).toContain("startDaemon()");
    expect(open).not.toHaveBeenCalled();
  });

  it("a daemon-only driver is refused outside a daemon even with an explicit loop", async () => {
    const open = vi.fn();
    await expect(openDriver({ name: "qemu", daemonOnly: true, open }, { loop: fakeLoop() })).rejects.toThrow(DriverError);
    expect(open).not.toHaveBeenCalled();
  });
});
