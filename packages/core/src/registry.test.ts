import { afterEach, describe, it, expect, vi } from "vitest";
import { InvalidArgumentError, LoopAlreadyRegisteredError, NoEventLoopError } from "./errors.ts";
import type { EventLoopImpl } from "./event-loop.ts";
import {
  addHandle,
  addTimeout,
  getEventImpl,
  registerEventImpl,
  removeHandle,
  removeTimeout,
  resolveEventImpl,
  unregisterEventImpl,
  updateHandle,
  updateTimeout,
} from "./registry.ts";

/** A loop whose every method is a spy returning a recognisable value. */
function fakeLoop() {
  return {
    addHandle: vi.fn((..._args: unknown[]) => 11),
    updateHandle: vi.fn((..._args: unknown[]) => {}),
    removeHandle: vi.fn((..._args: unknown[]) => 0 as const),
    addTimeout: vi.fn((..._args: unknown[]) => 22),
    updateTimeout: vi.fn((..._args: unknown[]) => {}),
    removeTimeout: vi.fn((..._args: unknown[]) => -1 as const),
  } satisfies EventLoopImpl;
}

afterEach(() => {
  unregisterEventImpl();
});

describe("registerEventImpl / getEventImpl / unregisterEventImpl", () => {
  it("no loop is registered at first", () => {
    expect(getEventImpl()).toBeUndefined();
  });

  it("registers a loop, which getEventImpl returns", () => {
    const loop = fakeLoop();
    registerEventImpl(loop);
    expect(getEventImpl()).toBe(loop);
  });

  it("registering the same loop again is a no-op", () => {
    const loop = fakeLoop();
    registerEventImpl(loop);
    expect(() => registerEventImpl(loop)).not.toThrow();
    expect(getEventImpl()).toBe(loop);
  });

  it("registering a different loop while one is registered throws LoopAlreadyRegisteredError and keeps the first", () => {
    const first = fakeLoop();
    registerEventImpl(first);
    const error = (() => {
      try {
        registerEventImpl(fakeLoop());
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(LoopAlreadyRegisteredError);
    expect(error).toMatchObject({ code: "ERR_EVLOOP_LOOP_REGISTERED" });
    expect(getEventImpl()).toBe(first);
  });

  it("unregisterEventImpl returns the registered loop and clears it", () => {
    const loop = fakeLoop();
    registerEventImpl(loop);
    expect(unregisterEventImpl()).toBe(loop);
    expect(getEventImpl()).toBeUndefined();
  });

  it("unregisterEventImpl without a registered loop returns undefined", () => {
    expect(unregisterEventImpl()).toBeUndefined();
  });

  it("after unregistering, a different loop can be registered", () => {
    registerEventImpl(fakeLoop());
    unregisterEventImpl();
    const second = fakeLoop();
    registerEventImpl(second);
    expect(getEventImpl()).toBe(second);
  });

  it.each([
    ["undefined", undefined],
    ["null", null],
    ["a function", () => {}],
    ["a number", 1],
    ["an empty object", {}],
  ])("refuses %s with InvalidArgumentError naming impl", (_what, impl) => {
    expect(() => registerEventImpl(impl as never)).toThrow(InvalidArgumentError);
    expect(() => registerEventImpl(impl as never)).toThrow(/"impl"/);
    expect(getEventImpl()).toBeUndefined();
  });

  it.each(["addHandle", "updateHandle", "removeHandle", "addTimeout", "updateTimeout", "removeTimeout"] as const)(
    "refuses an object without a %s() method, naming the method",
    (method) => {
      const loop: Record<string, unknown> = fakeLoop();
      delete loop[method];
      expect(() => registerEventImpl(loop as never)).toThrow(InvalidArgumentError);
      expect(() => registerEventImpl(loop as never)).toThrow(`${method}()`);
      expect(getEventImpl()).toBeUndefined();
    },
  );

  it("a non-loop object is refused even while a loop is registered (the argument is checked first)", () => {
    const loop = fakeLoop();
    registerEventImpl(loop);
    expect(() => registerEventImpl({} as never)).toThrow(InvalidArgumentError);
    expect(getEventImpl()).toBe(loop);
  });
});

describe("resolveEventImpl", () => {
  it("prefers the explicit loop over the registered one", () => {
    const registered = fakeLoop();
    const explicit = fakeLoop();
    registerEventImpl(registered);
    expect(resolveEventImpl("op", explicit)).toBe(explicit);
    expect(resolveEventImpl("op")).toBe(registered);
  });

  it("throws NoEventLoopError naming the operation when there is neither", () => {
    expect(() => resolveEventImpl("myOperation")).toThrow(NoEventLoopError);
    expect(() => resolveEventImpl("myOperation")).toThrow(/^myOperation: no event loop registered/);
  });
});

describe("module-level functions", () => {
  const cb = () => {};
  const free = () => {};

  it("forward every argument to the registered loop and return its result", () => {
    const loop = fakeLoop();
    registerEventImpl(loop);
    expect(addHandle(3, 1, cb, free)).toBe(11);
    expect(loop.addHandle).toHaveBeenCalledWith(3, 1, cb, free);
    expect(updateHandle(11, 2)).toBeUndefined();
    expect(loop.updateHandle).toHaveBeenCalledWith(11, 2);
    expect(removeHandle(11)).toBe(0);
    expect(loop.removeHandle).toHaveBeenCalledWith(11);
    expect(addTimeout(100, cb, free)).toBe(22);
    expect(loop.addTimeout).toHaveBeenCalledWith(100, cb, free);
    expect(updateTimeout(22, -1)).toBeUndefined();
    expect(loop.updateTimeout).toHaveBeenCalledWith(22, -1);
    expect(removeTimeout(22)).toBe(-1);
    expect(loop.removeTimeout).toHaveBeenCalledWith(22);
  });

  it("call the loop as a method (this is the loop)", () => {
    const loop = fakeLoop();
    registerEventImpl(loop);
    addHandle(3, 1, cb);
    expect(loop.addHandle.mock.contexts[0]).toBe(loop);
  });

  it("use the explicit trailing loop argument instead of the registered loop", () => {
    const registered = fakeLoop();
    const explicit = fakeLoop();
    registerEventImpl(registered);
    addHandle(3, 1, cb, undefined, explicit);
    updateHandle(1, 0, explicit);
    removeHandle(1, explicit);
    addTimeout(0, cb, undefined, explicit);
    updateTimeout(1, 5, explicit);
    removeTimeout(1, explicit);
    for (const method of Object.values(explicit)) expect(method).toHaveBeenCalledTimes(1);
    for (const method of Object.values(registered)) expect(method).not.toHaveBeenCalled();
  });

  it("work with only an explicit loop and none registered", () => {
    const explicit = fakeLoop();
    expect(addHandle(3, 1, cb, undefined, explicit)).toBe(11);
    expect(addTimeout(5, cb, undefined, explicit)).toBe(22);
  });

  it.each([
    ["addHandle", () => addHandle(3, 1, cb)],
    ["updateHandle", () => updateHandle(1, 1)],
    ["removeHandle", () => removeHandle(1)],
    ["addTimeout", () => addTimeout(5, cb)],
    ["updateTimeout", () => updateTimeout(1, 5)],
    ["removeTimeout", () => removeTimeout(1)],
  ])("%s throws NoEventLoopError naming itself when no loop is registered or passed", (name, call) => {
    let error: unknown;
    try {
      call();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NoEventLoopError);
    expect(error).toMatchObject({ code: "ERR_EVLOOP_NO_LOOP" });
    expect((error as Error).message.startsWith(`${name}:`)).toBe(true);
  });
});
