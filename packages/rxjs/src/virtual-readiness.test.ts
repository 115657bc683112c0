import { HandleEvent } from "@evloop/core";
import { VirtualFds } from "@evloop/poll";
import { VirtualTimeScheduler } from "rxjs";
import { describe, expect, it } from "vitest";
import { createRxjsLoop } from "./rxjs-loop.ts";
import { virtualReadiness } from "./virtual-readiness.ts";

const { READABLE } = HandleEvent;

function rig(options?: { maxPassesPerInstant?: number }) {
  const scheduler = new VirtualTimeScheduler();
  const fds = new VirtualFds();
  const loop = createRxjsLoop({ scheduler, readiness: virtualReadiness(fds, options) });
  const runTo = (frame: number) => {
    scheduler.schedule(() => {}, frame - scheduler.now());
    scheduler.maxFrames = frame;
    scheduler.flush();
  };
  return { scheduler, fds, loop, runTo };
}

describe("virtualReadiness", () => {
  it("makes I/O take no virtual time: a chain of writes through callbacks settles at one instant", () => {
    const { scheduler, fds, loop, runTo } = rig();
    const [r1, w1] = fds.pipe();
    const [r2, w2] = fds.pipe();
    const arrivals: number[] = [];
    loop.addHandle(r1, READABLE, () => {
      fds.write(w2, fds.read(r1));
    });
    loop.addHandle(r2, READABLE, () => {
      fds.read(r2);
      arrivals.push(scheduler.now());
    });
    runTo(7);
    fds.write(w1, "relay");
    runTo(20);
    expect(arrivals).toEqual([7]);
    loop.close();
  });

  it("moves a ping-pong that never settles on by one time unit after maxPassesPerInstant passes", () => {
    const { scheduler, fds, loop, runTo } = rig({ maxPassesPerInstant: 10 });
    const [a, b] = fds.socketpair();
    const bounces: number[] = [];
    // Each end sends the ball back as soon as it arrives.
    const bounce = (end: number) => () => {
      fds.read(end);
      bounces.push(scheduler.now());
      fds.write(end, "ball");
    };
    loop.addHandle(a, READABLE, bounce(a));
    loop.addHandle(b, READABLE, bounce(b));
    fds.write(a, "ball");
    runTo(2);
    expect(bounces.filter((t) => t === 0)).toHaveLength(10);
    expect(bounces.filter((t) => t === 1)).toHaveLength(10);
    loop.close();
  });

  it("refuses what is not a VirtualFds and a bad bound", () => {
    expect(() => virtualReadiness({} as VirtualFds)).toThrow(expect.objectContaining({ code: "ERR_EVLOOP_INVALID_ARG", argument: "fds" }));
    expect(() => virtualReadiness(new VirtualFds(), { maxPassesPerInstant: 0 })).toThrow(expect.objectContaining({ argument: "options.maxPassesPerInstant" }));
  });
});
