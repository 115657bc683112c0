import { afterEach, describe, it, expect, vi } from "vitest";
import { InvalidArgumentError, LoopAlreadyRegisteredError, NoEventLoopError, NotSupportedError, OutOfRangeError, UnpollableDescriptorError } from "./errors.ts";
import { HandleEvent } from "./handle-event.ts";
import { createKernel, type Kernel } from "./kernel.ts";
import { getEventImpl, registerEventImpl, unregisterEventImpl } from "./registry.ts";
import { createSeedLoop, virEventAddHandle, virEventInitialize, virEventRemoveHandle, type VirEventCallback } from "./seed.ts";

const { READABLE: R, WRITABLE: W, ERROR: E, HANGUP: H } = HandleEvent;
const EH = E | H;

/**
 * The application side of the seed: its two functions, recording every call, keyed by fd as the
 * seed's loop is. `fire` plays the application's loop reporting readiness on an fd.
 */
function seedApp() {
  const log: (["add", number, number] | ["remove", number])[] = [];
  const callbacks = new Map<number, { cb: VirEventCallback; opaque: unknown }>();
  let refuseAdd: ((fd: number, events: number) => boolean) | undefined;
  const addImpl = vi.fn((fd: number, events: number, cb: VirEventCallback, opaque: unknown) => {
    log.push(["add", fd, events]);
    if (refuseAdd?.(fd, events)) return -1;
    callbacks.set(fd, { cb, opaque });
    return 0;
  });
  const removeImpl = vi.fn((fd: number) => {
    log.push(["remove", fd]);
    return callbacks.delete(fd) ? 0 : -1;
  });
  return {
    addImpl,
    removeImpl,
    log,
    /** The fds the application watches now. */
    watched: () => [...callbacks.keys()],
    setRefuseAdd(fn: ((fd: number, events: number) => boolean) | undefined) {
      refuseAdd = fn;
    },
    fire(fd: number, events: number) {
      const entry = callbacks.get(fd);
      if (entry === undefined) throw new Error(`fd ${fd} is not watched by the application`);
      return entry.cb(fd, events, entry.opaque);
    },
  };
}

/** A loop built on the kernel, as every evloop adapter is, to register with registerEventImpl. */
function kernelLoop(): Kernel {
  const kernel: Kernel = createKernel({ watchFd() {}, armTimer() {}, requestFlush: () => queueMicrotask(() => kernel.flush()) }, { now: () => 0 });
  return kernel;
}

const microtask = () => new Promise<void>((resolve) => queueMicrotask(resolve));

afterEach(() => {
  unregisterEventImpl();
});

describe("virEventInitialize(addImpl, removeImpl)", () => {
  it("registers a loop", () => {
    const app = seedApp();
    virEventInitialize(app.addImpl, app.removeImpl);
    expect(getEventImpl()).toBeDefined();
  });

  it("refuses functions that are not functions, naming the argument", () => {
    const app = seedApp();
    expect(() => virEventInitialize(undefined as never, app.removeImpl)).toThrow(InvalidArgumentError);
    expect(() => virEventInitialize(undefined as never, app.removeImpl)).toThrow(/"addImpl"/);
    expect(() => virEventInitialize(app.addImpl, {} as never)).toThrow(/"removeImpl"/);
    expect(getEventImpl()).toBeUndefined();
  });

  it("registering the same two functions again is a no-op; different ones throw LoopAlreadyRegisteredError", () => {
    const app = seedApp();
    virEventInitialize(app.addImpl, app.removeImpl);
    const registered = getEventImpl();
    virEventInitialize(app.addImpl, app.removeImpl);
    expect(getEventImpl()).toBe(registered);
    const other = seedApp();
    expect(() => virEventInitialize(other.addImpl, other.removeImpl)).toThrow(LoopAlreadyRegisteredError);
  });

  it("a callback that returns -1 frees its fd at once: the same pass may watch it again", () => {
    const app = seedApp();
    virEventInitialize(app.addImpl, app.removeImpl);
    const again: number[] = [];
    expect(virEventAddHandle(9, R, () => {
      again.push(virEventAddHandle(9, R, () => {}, null));
      return -1;
    }, null)).toBe(0);
    app.fire(9, R);
    // After the callback returned, before its free callback runs.
    again.push(virEventAddHandle(9, R, () => {}, null));
    expect(again).toEqual([-1, 0]);
  });

  it("refuses unknown event bits with OutOfRangeError even on an fd it already watches", () => {
    const app = seedApp();
    virEventInitialize(app.addImpl, app.removeImpl);
    virEventAddHandle(9, R, () => {}, null);
    expect(() => virEventAddHandle(9, 99, () => {}, null)).toThrow(OutOfRangeError);
  });

  it("a watch removed some other way frees its fd for the next virEventAddHandle", async () => {
    const app = seedApp();
    virEventInitialize(app.addImpl, app.removeImpl);
    const loop = getEventImpl();
    expect(virEventAddHandle(9, R, () => {}, null)).toBe(0);
    expect(virEventAddHandle(9, R, () => {}, null)).toBe(-1);
    // A fresh loop's first watch has id 1.
    expect(loop?.removeHandle(1)).toBe(0);
    await Promise.resolve();
    expect(virEventAddHandle(9, R, () => {}, null)).toBe(0);
  });

  it("the application sees exactly the seed's two calls, keyed by fd", () => {
    const app = seedApp();
    virEventInitialize(app.addImpl, app.removeImpl);
    expect(virEventAddHandle(5, R, () => {}, "opaque")).toBe(0);
    expect(virEventAddHandle(6, W, () => {}, "opaque")).toBe(0);
    expect(virEventRemoveHandle(5)).toBe(0);
    expect(virEventRemoveHandle(6)).toBe(0);
    expect(app.log).toEqual([
      ["add", 5, R | EH],
      ["add", 6, W | EH],
      ["remove", 5],
      ["remove", 6],
    ]);
    expect(app.watched()).toEqual([]);
  });

  it("readiness reported by the application reaches cb as (fd, events, opaque) with the caller's opaque", () => {
    const app = seedApp();
    virEventInitialize(app.addImpl, app.removeImpl);
    const cb = vi.fn();
    const opaque = { conn: 1 };
    virEventAddHandle(5, R, cb, opaque);
    app.fire(5, R);
    expect(cb).toHaveBeenCalledTimes(1);
    expect(cb).toHaveBeenCalledWith(5, R, opaque);
  });

  it("a callback that returns -1 stops monitoring the fd: the application gets removeImpl, the fd can be watched again", () => {
    const app = seedApp();
    virEventInitialize(app.addImpl, app.removeImpl);
    const cb = vi.fn(() => -1);
    virEventAddHandle(5, R, cb, null);
    app.fire(5, R);
    expect(app.log).toEqual([
      ["add", 5, R | EH],
      ["remove", 5],
    ]);
    expect(virEventRemoveHandle(5)).toBe(-1);
    expect(virEventAddHandle(5, R, cb, null)).toBe(0);
  });

  describe("several watches on one fd", () => {
    it("share one registration with the union of their events (a new watch registers it afresh)", () => {
      const app = seedApp();
      const loop = createSeedLoop(app.addImpl, app.removeImpl);
      loop.addHandle(5, R, () => {});
      loop.addHandle(5, R, () => {});
      expect(app.log).toEqual([["add", 5, R | EH], ["remove", 5], ["add", 5, R | EH]]);
      expect(app.watched()).toEqual([5]);
    });

    it("the registration is re-made (remove, then add) when the union changes", () => {
      const app = seedApp();
      const loop = createSeedLoop(app.addImpl, app.removeImpl);
      const a = loop.addHandle(5, R, () => {});
      const b = loop.addHandle(5, W, () => {});
      loop.updateHandle(b, 0);
      loop.removeHandle(a);
      expect(app.log).toEqual([
        ["add", 5, R | EH],
        ["remove", 5],
        ["add", 5, R | W | EH],
        ["remove", 5],
        ["add", 5, R | EH],
        ["remove", 5],
      ]);
      expect(app.watched()).toEqual([]);
    });

    it("each watch gets the events it asked for from one report", () => {
      const app = seedApp();
      const loop = createSeedLoop(app.addImpl, app.removeImpl);
      const r = vi.fn();
      const w = vi.fn();
      const idR = loop.addHandle(5, R, r);
      const idW = loop.addHandle(5, W, w);
      app.fire(5, R | W);
      expect(r).toHaveBeenCalledWith(idR, 5, R);
      expect(w).toHaveBeenCalledWith(idW, 5, W);
    });
  });

  describe("an application that refuses (addImpl returns -1)", () => {
    it("addHandle throws UnpollableDescriptorError and registers nothing", () => {
      const app = seedApp();
      const loop = createSeedLoop(app.addImpl, app.removeImpl);
      app.setRefuseAdd(() => true);
      expect(() => loop.addHandle(5, R, () => {})).toThrow(UnpollableDescriptorError);
      expect(app.watched()).toEqual([]);
      app.setRefuseAdd(undefined);
      loop.addHandle(5, R, () => {});
      expect(app.log.at(-1)).toEqual(["add", 5, R | EH]);
    });

    it("virEventAddHandle throws it too, and the fd is not taken", () => {
      const app = seedApp();
      virEventInitialize(app.addImpl, app.removeImpl);
      app.setRefuseAdd(() => true);
      expect(() => virEventAddHandle(5, R, () => {}, null)).toThrow(UnpollableDescriptorError);
      expect(virEventRemoveHandle(5)).toBe(-1);
      app.setRefuseAdd(undefined);
      expect(virEventAddHandle(5, R, () => {}, null)).toBe(0);
    });

    it("a refused re-registration of a watched fd puts the previous registration back, so the existing watch keeps firing", () => {
      const app = seedApp();
      const loop = createSeedLoop(app.addImpl, app.removeImpl);
      const first = vi.fn();
      loop.addHandle(5, R, first);
      app.setRefuseAdd((_fd, events) => events === (R | W | EH));
      expect(() => loop.addHandle(5, W, () => {})).toThrow(UnpollableDescriptorError);
      expect(app.log).toEqual([
        ["add", 5, R | EH],
        ["remove", 5],
        ["add", 5, R | W | EH],
        ["add", 5, R | EH],
      ]);
      expect(app.watched()).toEqual([5]);
      app.fire(5, R);
      expect(first).toHaveBeenCalledTimes(1);
    });
  });

  it("has no timers: addTimeout throws NotSupportedError; updateTimeout is a no-op and removeTimeout returns -1", () => {
    const app = seedApp();
    const loop = createSeedLoop(app.addImpl, app.removeImpl);
    let error: unknown;
    try {
      loop.addTimeout(10, () => {});
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NotSupportedError);
    expect(error).toMatchObject({ code: "ERR_EVLOOP_NOT_SUPPORTED" });
    expect((error as Error).message).toMatch(/^addTimeout is not supported/);
    expect(loop.updateTimeout(1, 5)).toBeUndefined();
    expect(loop.removeTimeout(1)).toBe(-1);
  });

  it("free callbacks run from a microtask after removeHandle, not inside it, exactly once", async () => {
    const app = seedApp();
    const loop = createSeedLoop(app.addImpl, app.removeImpl);
    const free = vi.fn();
    const id = loop.addHandle(5, R, () => {}, free);
    expect(loop.removeHandle(id)).toBe(0);
    expect(free).not.toHaveBeenCalled();
    await microtask();
    expect(free).toHaveBeenCalledTimes(1);
    await microtask();
    expect(free).toHaveBeenCalledTimes(1);
  });

  it("a watch's free callback, when its callback returns -1, runs after the callback returned", () => {
    const app = seedApp();
    const loop = createSeedLoop(app.addImpl, app.removeImpl);
    const order: string[] = [];
    loop.addHandle(
      5,
      R,
      () => {
        order.push("cb");
        return -1;
      },
      () => order.push("free"),
    );
    app.fire(5, R);
    expect(order).toEqual(["cb", "free"]);
  });
});

describe("virEventAddHandle / virEventRemoveHandle on a loop registered with registerEventImpl", () => {
  it("watch through the registered loop and dispatch cb(fd, events, opaque)", () => {
    const loop = kernelLoop();
    registerEventImpl(loop);
    const cb = vi.fn();
    expect(virEventAddHandle(5, R, cb, "ctx")).toBe(0);
    expect(loop.registrations().handles).toEqual([{ watch: expect.any(Number), fd: 5, events: R }]);
    loop.dispatchHandles([5], [R | H], 1);
    expect(cb).toHaveBeenCalledWith(5, R | H, "ctx");
    expect(virEventRemoveHandle(5)).toBe(0);
    expect(loop.size.handles).toBe(0);
  });

  it("virEventAddHandle returns -1 when the fd is already watched through it, and registers nothing more", () => {
    const loop = kernelLoop();
    registerEventImpl(loop);
    expect(virEventAddHandle(5, R, () => {}, null)).toBe(0);
    expect(virEventAddHandle(5, W, () => {}, null)).toBe(-1);
    expect(loop.size.handles).toBe(1);
  });

  it("virEventRemoveHandle returns -1 for an fd it does not watch, or watches no more", () => {
    const loop = kernelLoop();
    registerEventImpl(loop);
    expect(virEventRemoveHandle(5)).toBe(-1);
    virEventAddHandle(5, R, () => {}, null);
    expect(virEventRemoveHandle(5)).toBe(0);
    expect(virEventRemoveHandle(5)).toBe(-1);
  });

  it("a watch made with the loop's own addHandle is not visible to virEventRemoveHandle", () => {
    const loop = kernelLoop();
    registerEventImpl(loop);
    loop.addHandle(5, R, () => {});
    expect(virEventRemoveHandle(5)).toBe(-1);
    expect(loop.size.handles).toBe(1);
    expect(virEventAddHandle(5, W, () => {}, null)).toBe(0);
    expect(loop.size.handles).toBe(2);
  });

  it("a callback returning -1 removes the watch and frees the fd for virEventAddHandle", () => {
    const loop = kernelLoop();
    registerEventImpl(loop);
    virEventAddHandle(5, R, () => -1, null);
    loop.dispatchHandles([5], [R], 1);
    expect(loop.size.handles).toBe(0);
    expect(virEventRemoveHandle(5)).toBe(-1);
    expect(virEventAddHandle(5, R, () => {}, null)).toBe(0);
  });

  it("a callback that removes its fd with virEventRemoveHandle and then returns -1 is fine", () => {
    const loop = kernelLoop();
    registerEventImpl(loop);
    virEventAddHandle(
      5,
      R,
      (fd) => {
        expect(virEventRemoveHandle(fd)).toBe(0);
        return -1;
      },
      null,
    );
    loop.dispatchHandles([5], [R], 1);
    expect(loop.size.handles).toBe(0);
  });

  it("the fds of different loops are kept apart", () => {
    const a = kernelLoop();
    const b = kernelLoop();
    expect(virEventAddHandle(5, R, () => {}, null, a)).toBe(0);
    expect(virEventAddHandle(5, R, () => {}, null, b)).toBe(0);
    expect(virEventRemoveHandle(5, a)).toBe(0);
    expect(b.size.handles).toBe(1);
  });

  it("use the explicit trailing loop argument rather than the registered loop", () => {
    const registered = kernelLoop();
    const explicit = kernelLoop();
    registerEventImpl(registered);
    virEventAddHandle(5, R, () => {}, null, explicit);
    expect(registered.size.handles).toBe(0);
    expect(explicit.size.handles).toBe(1);
    expect(virEventRemoveHandle(5)).toBe(-1);
    expect(virEventRemoveHandle(5, explicit)).toBe(0);
  });

  it("throw NoEventLoopError without a registered or explicit loop", () => {
    expect(() => virEventAddHandle(5, R, () => {}, null)).toThrow(NoEventLoopError);
    expect(() => virEventAddHandle(5, R, () => {}, null)).toThrow(/^virEventAddHandle:/);
    expect(() => virEventRemoveHandle(5)).toThrow(NoEventLoopError);
    expect(() => virEventRemoveHandle(5)).toThrow(/^virEventRemoveHandle:/);
  });

  it("refuse bad input with the contract's typed errors, registering nothing", () => {
    const loop = kernelLoop();
    registerEventImpl(loop);
    expect(() => virEventAddHandle(-1, R, () => {}, null)).toThrow(OutOfRangeError);
    expect(() => virEventAddHandle(5, R, "cb" as never, null)).toThrow(InvalidArgumentError);
    expect(() => virEventAddHandle(5, 99, () => {}, null)).toThrow(OutOfRangeError);
    expect(() => virEventRemoveHandle(1.5)).toThrow(InvalidArgumentError);
    expect(loop.size.handles).toBe(0);
    // A refused call does not take the fd.
    expect(virEventAddHandle(5, R, () => {}, null)).toBe(0);
  });
});
