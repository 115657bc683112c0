import { describe, it, expect } from "vitest";
import { ALL_HANDLE_EVENTS, ALWAYS_REPORTED, HandleEvent, formatHandleEvents } from "./handle-event.ts";

describe("HandleEvent", () => {
  it("has libvirt's VIR_EVENT_HANDLE_* values: READABLE=1, WRITABLE=2, ERROR=4, HANGUP=8", () => {
    expect(HandleEvent).toEqual({ READABLE: 1, WRITABLE: 2, ERROR: 4, HANGUP: 8 });
  });

  it("ALL_HANDLE_EVENTS is every bit (15)", () => {
    expect(ALL_HANDLE_EVENTS).toBe(HandleEvent.READABLE | HandleEvent.WRITABLE | HandleEvent.ERROR | HandleEvent.HANGUP);
  });

  it("ALWAYS_REPORTED is ERROR|HANGUP (12)", () => {
    expect(ALWAYS_REPORTED).toBe(12);
  });
});

describe("formatHandleEvents", () => {
  it("spells a set of bits as names joined with | in bit order", () => {
    expect(formatHandleEvents(HandleEvent.HANGUP | HandleEvent.READABLE)).toBe("READABLE|HANGUP");
    expect(formatHandleEvents(15)).toBe("READABLE|WRITABLE|ERROR|HANGUP");
    expect(formatHandleEvents(HandleEvent.WRITABLE)).toBe("WRITABLE");
  });

  it('spells the empty set as "0"', () => {
    expect(formatHandleEvents(0)).toBe("0");
  });

  it("ignores bits HandleEvent does not define", () => {
    expect(formatHandleEvents(16 | 1)).toBe("READABLE");
  });
});
