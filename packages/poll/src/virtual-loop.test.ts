import { HandleEvent, NotSupportedError, OutOfRangeError, UnpollableDescriptorError } from "@evloop/core";
import { describe, expect, it, vi } from "vitest";
import { createVirtualLoop } from "./virtual-loop.ts";

const { READABLE, ERROR } = HandleEvent;

describe("the virtual loop", () => {
  it("starts its clock at 0 (or startTime) and moves it only when told", () => {
    expect(createVirtualLoop().now()).toBe(0);
    const loop = createVirtualLoop({ startTime: 1000 });
    loop.advance(250);
    expect(loop.now()).toBe(1250);
  });

  it("advance() stops at every instant something falls due, in due order then registration order", () => {
    const loop = createVirtualLoop();
    const log: string[] = [];
    loop.addTimeout(30, () => log.push(`b@${loop.now()}`));
    loop.addTimeout(20, () => log.push(`a@${loop.now()}`));
    loop.addTimeout(30, () => log.push(`c@${loop.now()}`));
    expect(loop.advance(60)).toBe(7);
    expect(log).toEqual(["a@20", "b@30", "c@30", "a@40", "b@60", "a@60", "c@60"]);
    expect(loop.now()).toBe(60);
  });

  it("dispatches a descriptor made ready by a timer at that timer's instant", () => {
    const loop = createVirtualLoop();
    const [r, w] = loop.fds.pipe();
    const seen: number[] = [];
    loop.addHandle(r, READABLE, () => {
      seen.push(loop.now());
      loop.fds.read(r);
    });
    loop.addTimeout(15, (id) => {
      loop.fds.write(w, "tick");
      loop.removeTimeout(id);
    });
    loop.advance(100);
    expect(seen).toEqual([15]);
  });

  it("iterates once per virtual millisecond while a 0 timer exists", () => {
    const loop = createVirtualLoop();
    const zero = vi.fn();
    loop.addTimeout(0, zero);
    loop.advance(10);
    // Once at the starting instant, then at each of the ten milliseconds.
    expect(zero).toHaveBeenCalledTimes(11);
  });

  it("fires a watch added during a pass on a descriptor already ready at that instant, however the test splits time", () => {
    const firstFire = (steps: number[]) => {
      const loop = createVirtualLoop();
      const [r, w] = loop.fds.pipe();
      loop.fds.write(w, "waiting");
      let at: number | undefined;
      const t = loop.addTimeout(10, () => {
        loop.removeTimeout(t);
        loop.addHandle(r, READABLE, (watch) => {
          at ??= loop.now();
          loop.removeHandle(watch);
        });
      });
      for (const step of steps) loop.advance(step);
      return at;
    };
    expect(firstFire([100])).toBe(10);
    expect(firstFire([10, 90])).toBe(10);
    expect(firstFire([50, 50])).toBe(10);
  });

  it("refuses to run a pass from inside one of its own callbacks", () => {
    const loop = createVirtualLoop();
    const refused: unknown[] = [];
    loop.addTimeout(0, () => {
      for (const nested of [() => loop.runOnce(), () => loop.advance(1), () => loop.runUntilIdle()]) {
        try {
          nested();
        } catch (error) {
          refused.push(error);
        }
      }
    });
    loop.runOnce();
    expect(refused).toHaveLength(3);
    for (const error of refused) expect(error).toBeInstanceOf(NotSupportedError);
  });

  it("runOnce() runs one pass: due timers, then ready descriptors, and counts the callbacks", () => {
    const loop = createVirtualLoop();
    const [a, b] = loop.fds.socketpair();
    const order: string[] = [];
    loop.addHandle(a, READABLE, () => void order.push("handle"));
    loop.addTimeout(0, () => void order.push("timer"));
    loop.fds.write(b, "x");
    expect(loop.runOnce()).toBe(2);
    expect(order).toEqual(["timer", "handle"]);
  });

  it("runUntilIdle() stops at the first pass that runs nothing, or says it hit its bound", () => {
    const loop = createVirtualLoop();
    const [r, w] = loop.fds.pipe();
    loop.addHandle(r, READABLE, () => void loop.fds.read(r, 1));
    loop.fds.write(w, "abc");
    expect(loop.runUntilIdle()).toEqual({ passes: 4, callbacks: 3, idle: true });
    loop.addTimeout(0, () => {});
    expect(loop.runUntilIdle({ maxPasses: 5 })).toEqual({ passes: 5, callbacks: 5, idle: false });
  });

  it("bounds the passes of one instant when callbacks never stop changing descriptors", () => {
    const loop = createVirtualLoop({ maxPassesPerInstant: 10 });
    const [a, b] = loop.fds.socketpair();
    const pong = vi.fn(() => {
      loop.fds.read(b);
      loop.fds.write(b, "pong");
    });
    loop.addHandle(a, READABLE, () => {
      loop.fds.read(a);
      loop.fds.write(a, "ping");
    });
    loop.addHandle(b, READABLE, pong);
    loop.fds.write(a, "ping");
    loop.advance(0);
    expect(pong.mock.calls.length).toBeLessThanOrEqual(10);
    expect(pong).toHaveBeenCalled();
  });

  it("refuses a virtual regular file, and reports a closed watched descriptor once as ERROR", () => {
    const loop = createVirtualLoop();
    expect(() => loop.addHandle(loop.fds.file(), READABLE, () => {})).toThrow(UnpollableDescriptorError);
    const [r] = loop.fds.pipe();
    const cb = vi.fn();
    loop.addHandle(r, READABLE, cb);
    loop.fds.close(r);
    loop.advance(10);
    loop.runUntilIdle();
    expect(cb.mock.calls).toEqual([[1, r, ERROR]]);
  });

  it("does the same run identically every time", () => {
    const trace = () => {
      const loop = createVirtualLoop();
      const log: unknown[] = [];
      const [a, b] = loop.fds.socketpair();
      loop.addHandle(a, READABLE, (w, fd, ev) => void log.push([loop.now(), w, fd, ev, loop.fds.read(a).length]));
      loop.addTimeout(7, (t) => void log.push([loop.now(), t, loop.fds.write(b, "xy")]));
      loop.addTimeout(11, () => void log.push([loop.now(), "eleven"]));
      loop.advance(50);
      return log;
    };
    expect(trace()).toEqual(trace());
  });

  it("rejects a negative or non-finite advance, and going back in time", () => {
    const loop = createVirtualLoop();
    loop.advance(5);
    expect(() => loop.advance(-1)).toThrow(OutOfRangeError);
    expect(() => loop.advance(Infinity)).toThrow(OutOfRangeError);
    expect(() => loop.advanceTo(2)).toThrow(OutOfRangeError);
  });

  it("raises a callback's error from runOnce after the pass, and hands it to onError when given", () => {
    const boom = new Error("boom");
    const plain = createVirtualLoop();
    const after = vi.fn();
    plain.addTimeout(0, () => {
      throw boom;
    });
    plain.addTimeout(0, after);
    expect(() => plain.runOnce()).toThrow(boom);
    expect(after).toHaveBeenCalledTimes(1);

    const onError = vi.fn();
    const handled = createVirtualLoop({ onError });
    handled.addTimeout(0, () => {
      throw boom;
    });
    expect(handled.runOnce()).toBe(1);
    expect(onError).toHaveBeenCalledWith(boom);
  });
});
