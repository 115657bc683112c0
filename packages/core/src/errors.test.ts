import { describe, it, expect } from "vitest";
import {
  DriverError,
  InvalidArgumentError,
  LoopAlreadyRegisteredError,
  LoopClosedError,
  NoEventLoopError,
  NotSupportedError,
  OutOfRangeError,
  UnpollableDescriptorError,
} from "./errors.ts";

describe("InvalidArgumentError", () => {
  const error = new InvalidArgumentError("fd", "3", "an integer file descriptor");

  it("is a TypeError with code ERR_EVLOOP_INVALID_ARG and its own name", () => {
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.code).toBe("ERR_EVLOOP_INVALID_ARG");
    expect(error.name).toBe("InvalidArgumentError");
  });

  it("names the argument, what was expected, and the refused value", () => {
    expect(error.argument).toBe("fd");
    expect(error.value).toBe("3");
    expect(error.message).toBe('The "fd" argument must be an integer file descriptor. Received "3"');
  });
});

describe("OutOfRangeError", () => {
  const error = new OutOfRangeError("events", 16, "a combination of HandleEvent bits (0 to 15)");

  it("is a RangeError with code ERR_EVLOOP_OUT_OF_RANGE and its own name", () => {
    expect(error).toBeInstanceOf(RangeError);
    expect(error.code).toBe("ERR_EVLOOP_OUT_OF_RANGE");
    expect(error.name).toBe("OutOfRangeError");
  });

  it("names the argument, the allowed range, and the refused value", () => {
    expect(error.argument).toBe("events");
    expect(error.value).toBe(16);
    expect(error.message).toBe('The value of "events" is out of range. It must be a combination of HandleEvent bits (0 to 15). Received 16');
  });
});

describe("refused values are described readably in messages", () => {
  const received = (value: unknown) => new InvalidArgumentError("x", value, "y").message.replace(/^.*Received /s, "");

  it.each([
    ["a string, quoted", "abc", '"abc"'],
    ["a number", 1.5, "1.5"],
    ["NaN", NaN, "NaN"],
    ["undefined", undefined, "undefined"],
    ["null", null, "null"],
    ["a bigint, with its n", 5n, "5n"],
    ["a symbol", Symbol("s"), "Symbol(s)"],
    ["a named function, by name", function onReady() {}, "function onReady"],
    ["an anonymous function", (() => () => {})(), "function (anonymous)"],
    ["a plain object, as JSON", { a: 1 }, '{"a":1}'],
    ["an array, as JSON", [1, 2], "[1,2]"],
  ])("%s", (_what, value, text) => {
    expect(received(value)).toBe(text);
  });

  it("an object that cannot be serialised, by its tag (no throw from the constructor)", () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(received(circular)).toBe("[object Object]");
  });

  it("an object whose JSON form is undefined, by its tag", () => {
    expect(received({ toJSON: () => undefined })).toBe("[object Object]");
  });
});

describe("UnpollableDescriptorError", () => {
  const error = new UnpollableDescriptorError(7, "EPERM");

  it("is a TypeError with code ERR_EVLOOP_UNPOLLABLE", () => {
    expect(error).toBeInstanceOf(TypeError);
    expect(error.code).toBe("ERR_EVLOOP_UNPOLLABLE");
    expect(error.name).toBe("UnpollableDescriptorError");
  });

  it("names the fd argument, the descriptor and the system's reason", () => {
    expect(error.argument).toBe("fd");
    expect(error.value).toBe(7);
    expect(error.errno).toBe("EPERM");
    expect(error.message).toContain('"fd"');
    expect(error.message).toContain("EPERM");
    expect(error.message).toMatch(/Received 7$/);
  });
});

describe("the other errors carry their stable codes and names", () => {
  it.each([
    ["NoEventLoopError", new NoEventLoopError("addHandle"), "ERR_EVLOOP_NO_LOOP"],
    ["LoopAlreadyRegisteredError", new LoopAlreadyRegisteredError(), "ERR_EVLOOP_LOOP_REGISTERED"],
    ["NotSupportedError", new NotSupportedError("addTimeout", "no timers"), "ERR_EVLOOP_NOT_SUPPORTED"],
    ["LoopClosedError", new LoopClosedError("addHandle"), "ERR_EVLOOP_CLOSED"],
    ["DriverError", new DriverError("qemu", "startup failed"), "ERR_EVLOOP_DRIVER"],
  ])("%s", (name, error, code) => {
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(TypeError);
    expect(error).not.toBeInstanceOf(RangeError);
    expect(error.name).toBe(name);
    expect(error.code).toBe(code);
  });

  it("NoEventLoopError names the operation and says how to fix it", () => {
    const { message } = new NoEventLoopError("addTimeout");
    expect(message).toMatch(/^addTimeout: /);
    expect(message).toContain("registerEventImpl");
  });

  it("NotSupportedError names the operation and the reason", () => {
    expect(new NotSupportedError("addTimeout", "no timers").message).toBe("addTimeout is not supported: no timers");
  });

  it("LoopClosedError names the operation", () => {
    expect(new LoopClosedError("addTimeout").message).toBe("addTimeout: the event loop is closed");
  });

  it("DriverError names the driver in `driver` and in its message, and keeps `cause`", () => {
    const cause = new Error("boom");
    const error = new DriverError("qemu", "startup failed", { cause });
    expect(error.driver).toBe("qemu");
    expect(error.message).toBe('driver "qemu": startup failed');
    expect(error.cause).toBe(cause);
  });

  it("DriverError without a cause has no own `cause`", () => {
    expect(Object.hasOwn(new DriverError("qemu", "x"), "cause")).toBe(false);
  });
});
