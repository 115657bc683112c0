import { describe, it, expect } from "vitest";
import { InvalidArgumentError, OutOfRangeError } from "./errors.ts";
import { assertCallback, assertEvents, assertFd, assertId, assertInterval, assertOptionalCallback } from "./validate.ts";

/** Runs `fn`, expecting it to throw, and returns what it threw. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}

function expectInvalid(fn: () => unknown, argument: string, value: unknown): void {
  const error = thrown(fn);
  expect(error).toBeInstanceOf(InvalidArgumentError);
  expect(error).toBeInstanceOf(TypeError);
  expect(error).toMatchObject({ code: "ERR_EVLOOP_INVALID_ARG", argument });
  expect(Object.is((error as InvalidArgumentError).value, value)).toBe(true);
  expect((error as Error).message).toContain(`"${argument}"`);
}

function expectOutOfRange(fn: () => unknown, argument: string, value: unknown): void {
  const error = thrown(fn);
  expect(error).toBeInstanceOf(OutOfRangeError);
  expect(error).toBeInstanceOf(RangeError);
  expect(error).toMatchObject({ code: "ERR_EVLOOP_OUT_OF_RANGE", argument });
  expect(Object.is((error as OutOfRangeError).value, value)).toBe(true);
  expect((error as Error).message).toContain(`"${argument}"`);
  expect((error as Error).message).toContain(`Received ${String(value)}`);
}

describe("assertFd", () => {
  it.each([0, 1, 1023, 0x7fffffff])("accepts the descriptor %d", (fd) => {
    expect(() => assertFd(fd)).not.toThrow();
  });

  it.each([["a string", "3"], ["a float", 1.5], ["NaN", NaN], ["Infinity", Infinity], ["null", null], ["undefined", undefined], ["a bigint", 3n]])(
    "refuses %s as a wrong type (InvalidArgumentError)",
    (_what, fd) => expectInvalid(() => assertFd(fd), "fd", fd),
  );

  it.each([-1, -0x80000000, 0x80000000])("refuses %d as out of range (OutOfRangeError)", (fd) => {
    expectOutOfRange(() => assertFd(fd), "fd", fd);
  });

  it("names the argument it was given", () => {
    expectOutOfRange(() => assertFd(-1, "readFd"), "readFd", -1);
    expectInvalid(() => assertFd("x", "readFd"), "readFd", "x");
  });
});

describe("assertEvents", () => {
  it("accepts every combination of the four HandleEvent bits, 0 to 15", () => {
    for (let events = 0; events <= 15; events++) expect(() => assertEvents(events)).not.toThrow();
  });

  it.each([["a string", "1"], ["a float", 1.5], ["NaN", NaN], ["null", null]])("refuses %s as a wrong type", (_what, events) =>
    expectInvalid(() => assertEvents(events), "events", events),
  );

  it.each([16, 17, 32, -1, 0x100])("refuses %d: only HandleEvent bits are allowed", (events) => {
    expectOutOfRange(() => assertEvents(events), "events", events);
  });

  it("names the argument it was given", () => {
    expectOutOfRange(() => assertEvents(16, "mask"), "mask", 16);
  });
});

describe("assertInterval", () => {
  it.each([-1, 0, 1, 1000, 0x7fffffff])("accepts %d ms (-1 disables, 0 fires every iteration)", (ms) => {
    expect(() => assertInterval(ms)).not.toThrow();
  });

  it.each([["a string", "10"], ["a float", 0.5], ["NaN", NaN], ["Infinity", Infinity], ["undefined", undefined]])(
    "refuses %s as a wrong type",
    (_what, ms) => expectInvalid(() => assertInterval(ms), "intervalMs", ms),
  );

  it.each([-2, -100, 0x80000000])("refuses %d as out of range (below -1 or above 2^31-1)", (ms) => {
    expectOutOfRange(() => assertInterval(ms), "intervalMs", ms);
  });

  it("names the argument it was given", () => {
    expectOutOfRange(() => assertInterval(-2, "timeout"), "timeout", -2);
  });
});

describe("assertCallback", () => {
  it("accepts any function", () => {
    expect(() => assertCallback(() => {})).not.toThrow();
    expect(() => assertCallback(async () => {})).not.toThrow();
    expect(() => assertCallback(class {})).not.toThrow();
  });

  it.each([["undefined", undefined], ["null", null], ["an object", {}], ["a string", "cb"]])("refuses %s, naming the argument cb by default", (_what, cb) =>
    expectInvalid(() => assertCallback(cb), "cb", cb),
  );

  it("names the argument it was given", () => {
    expectInvalid(() => assertCallback(1, "addImpl"), "addImpl", 1);
  });
});

describe("assertOptionalCallback", () => {
  it("accepts undefined and functions", () => {
    expect(() => assertOptionalCallback(undefined, "free")).not.toThrow();
    expect(() => assertOptionalCallback(() => {}, "free")).not.toThrow();
  });

  it("refuses null and other values, naming the argument", () => {
    expectInvalid(() => assertOptionalCallback(null, "free"), "free", null);
    expectInvalid(() => assertOptionalCallback(0, "options.onError"), "options.onError", 0);
  });
});

describe("assertId", () => {
  it("accepts any number: unknown ids are the loop's no-op, not an argument error", () => {
    for (const id of [1, 0, -1, 1.5, NaN, Infinity]) expect(() => assertId(id, "watch")).not.toThrow();
  });

  it("refuses values that are not numbers, naming the argument", () => {
    expectInvalid(() => assertId("1", "watch"), "watch", "1");
    expectInvalid(() => assertId(undefined, "timer"), "timer", undefined);
    expectInvalid(() => assertId(1n, "timer"), "timer", 1n);
  });
});
