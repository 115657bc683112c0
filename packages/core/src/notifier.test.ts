import { afterEach, describe, it, expect, vi } from "vitest";
import { InvalidArgumentError } from "./errors.ts";
import { createNotifier, type Observer } from "./notifier.ts";

/**
 * Without onError a subscriber's error is raised from a microtask. Instead of letting it become an
 * uncaught exception in the test process, capture the microtasks the notifier queues and run them
 * by hand.
 */
function captureMicrotasks() {
  const queued: (() => void)[] = [];
  const spy = vi.spyOn(globalThis, "queueMicrotask").mockImplementation((fn) => void queued.push(fn));
  return { queued, spy };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("createNotifier: delivery", () => {
  it("emit delivers each value to every subscriber, in subscription order", () => {
    const n = createNotifier<number>();
    const log: string[] = [];
    n.subscribe((v) => log.push(`a${v}`));
    n.subscribe({ next: (v) => log.push(`b${v}`) });
    n.subscribe((v) => log.push(`c${v}`));
    n.emit(1);
    n.emit(2);
    expect(log).toEqual(["a1", "b1", "c1", "a2", "b2", "c2"]);
  });

  it("a subscriber subscribing twice gets each value twice", () => {
    const n = createNotifier<number>();
    const next = vi.fn();
    n.subscribe(next);
    n.subscribe(next);
    n.emit(1);
    expect(next).toHaveBeenCalledTimes(2);
  });

  it("emit with no subscribers does nothing", () => {
    const n = createNotifier<number>();
    expect(() => n.emit(1)).not.toThrow();
  });

  it("an observer's methods are called on the observer (this is the observer)", () => {
    const n = createNotifier<number>();
    const observer = {
      seen: [] as number[],
      next(v: number) {
        this.seen.push(v);
      },
    };
    n.subscribe(observer);
    n.emit(7);
    expect(observer.seen).toEqual([7]);
  });

  it("observers may leave out next, error or complete; subscribe() with nothing is allowed", () => {
    const n = createNotifier<number>();
    n.subscribe({});
    n.subscribe();
    n.subscribe({ complete: () => {} });
    expect(n.observers).toBe(3);
    expect(() => n.emit(1)).not.toThrow();
    expect(() => n.complete()).not.toThrow();
  });

  it("observers counts the current subscribers", () => {
    const n = createNotifier<number>();
    expect(n.observers).toBe(0);
    const a = n.subscribe(() => {});
    n.subscribe(() => {});
    expect(n.observers).toBe(2);
    a.unsubscribe();
    expect(n.observers).toBe(1);
  });
});

describe("createNotifier: unsubscribe", () => {
  it("stops delivery to that subscriber only", () => {
    const n = createNotifier<number>();
    const a = vi.fn();
    const b = vi.fn();
    const sub = n.subscribe(a);
    n.subscribe(b);
    sub.unsubscribe();
    n.emit(1);
    expect(a).not.toHaveBeenCalled();
    expect(b).toHaveBeenCalledWith(1);
  });

  it("closed is false while subscribed and true after unsubscribe", () => {
    const n = createNotifier<number>();
    const sub = n.subscribe(() => {});
    expect(sub.closed).toBe(false);
    sub.unsubscribe();
    expect(sub.closed).toBe(true);
  });

  it("is idempotent: a second call changes nothing and does not remove anyone else", () => {
    const n = createNotifier<number>();
    const sub = n.subscribe(() => {});
    n.subscribe(() => {});
    sub.unsubscribe();
    sub.unsubscribe();
    expect(n.observers).toBe(1);
  });

  it("during emit: a subscriber unsubscribed by an earlier one gets no more values, not even the current one", () => {
    const n = createNotifier<number>();
    const later = vi.fn();
    let laterSub = { unsubscribe() {} };
    n.subscribe(() => laterSub.unsubscribe());
    laterSub = n.subscribe(later);
    n.emit(1);
    n.emit(2);
    expect(later).not.toHaveBeenCalled();
  });

  it("during emit: a subscriber may unsubscribe itself, and the others still get the value", () => {
    const n = createNotifier<number>();
    const self = vi.fn(() => sub.unsubscribe());
    const other = vi.fn();
    const sub = n.subscribe(self);
    n.subscribe(other);
    n.emit(1);
    n.emit(2);
    expect(self).toHaveBeenCalledTimes(1);
    expect(other).toHaveBeenCalledTimes(2);
  });
});

describe("createNotifier: subscribing during emit", () => {
  it("a subscriber added during emit waits for the next value", () => {
    const n = createNotifier<number>();
    const late = vi.fn();
    let added = false;
    n.subscribe(() => {
      if (!added) n.subscribe(late);
      added = true;
    });
    n.emit(1);
    expect(late).not.toHaveBeenCalled();
    n.emit(2);
    expect(late).toHaveBeenCalledExactlyOnceWith(2);
  });
});

describe("createNotifier: a subscriber that throws", () => {
  it("does not stop the others; onError gets what it threw", () => {
    const onError = vi.fn();
    const n = createNotifier<number>({ onError });
    const boom = new Error("boom");
    const after = vi.fn();
    n.subscribe(() => {
      throw boom;
    });
    n.subscribe(after);
    expect(() => n.emit(1)).not.toThrow();
    expect(after).toHaveBeenCalledWith(1);
    expect(onError).toHaveBeenCalledExactlyOnceWith(boom);
  });

  it("stays subscribed", () => {
    const onError = vi.fn();
    const n = createNotifier<number>({ onError });
    n.subscribe(() => {
      throw new Error("x");
    });
    n.emit(1);
    n.emit(2);
    expect(onError).toHaveBeenCalledTimes(2);
    expect(n.observers).toBe(1);
  });

  it("without onError, what it threw is raised from a microtask, not from emit", () => {
    const { queued } = captureMicrotasks();
    const n = createNotifier<number>();
    const boom = new Error("boom");
    const after = vi.fn();
    n.subscribe(() => {
      throw boom;
    });
    n.subscribe(after);
    expect(() => n.emit(1)).not.toThrow();
    expect(after).toHaveBeenCalledWith(1);
    expect(queued).toHaveLength(1);
    expect(() => queued[0]?.()).toThrow(boom);
  });

  it("an onError that throws does not stop delivery: what it threw is raised from a microtask", () => {
    const { queued } = captureMicrotasks();
    const failure = new Error("onError failed");
    const n = createNotifier<number>({
      onError: () => {
        throw failure;
      },
    });
    const after = vi.fn();
    n.subscribe(() => {
      throw new Error("boom");
    });
    n.subscribe(after);
    expect(() => n.emit(1)).not.toThrow();
    expect(after).toHaveBeenCalledWith(1);
    expect(queued).toHaveLength(1);
    expect(() => queued[0]?.()).toThrow(failure);
  });

  it("errors thrown by complete and error handlers are reported the same way", () => {
    const onError = vi.fn();
    const n = createNotifier<number>({ onError });
    const e1 = new Error("complete handler");
    const other = vi.fn();
    n.subscribe({
      complete() {
        throw e1;
      },
    });
    n.subscribe({ complete: other });
    n.complete();
    expect(other).toHaveBeenCalled();
    expect(onError).toHaveBeenCalledWith(e1);
  });

  it("options.onError must be a function when given", () => {
    expect(() => createNotifier({ onError: 5 as never })).toThrow(InvalidArgumentError);
    expect(() => createNotifier({ onError: 5 as never })).toThrow(/"options.onError"/);
  });
});

describe("createNotifier: ending", () => {
  it("complete() calls every subscriber's complete, drops them, and later emits are ignored", () => {
    const n = createNotifier<number>();
    const observer = { next: vi.fn(), complete: vi.fn(), error: vi.fn() };
    const sub = n.subscribe(observer);
    n.complete();
    expect(observer.complete).toHaveBeenCalledTimes(1);
    expect(observer.error).not.toHaveBeenCalled();
    expect(sub.closed).toBe(true);
    expect(n.closed).toBe(true);
    expect(n.observers).toBe(0);
    n.emit(1);
    expect(observer.next).not.toHaveBeenCalled();
  });

  it("error(e) calls every subscriber's error with e, drops them, and later emits are ignored", () => {
    const n = createNotifier<number>();
    const boom = new Error("source failed");
    const observer = { next: vi.fn(), complete: vi.fn(), error: vi.fn() };
    n.subscribe(observer);
    n.error(boom);
    expect(observer.error).toHaveBeenCalledExactlyOnceWith(boom);
    expect(observer.complete).not.toHaveBeenCalled();
    expect(n.closed).toBe(true);
    n.emit(1);
    expect(observer.next).not.toHaveBeenCalled();
  });

  it("ends once: complete or error after the end changes nothing", () => {
    const n = createNotifier<number>();
    const observer = { complete: vi.fn(), error: vi.fn() };
    n.subscribe(observer);
    n.complete();
    n.complete();
    n.error(new Error("late"));
    expect(observer.complete).toHaveBeenCalledTimes(1);
    expect(observer.error).not.toHaveBeenCalled();
  });

  it("a late subscriber to a completed source gets complete at once and a closed subscription", () => {
    const n = createNotifier<number>();
    n.complete();
    const observer = { next: vi.fn(), complete: vi.fn() };
    const sub = n.subscribe(observer);
    expect(observer.complete).toHaveBeenCalledTimes(1);
    expect(sub.closed).toBe(true);
    expect(n.observers).toBe(0);
  });

  it("a late subscriber to a failed source gets the error at once", () => {
    const n = createNotifier<number>();
    const boom = new Error("failed");
    n.error(boom);
    const error = vi.fn();
    n.subscribe({ error });
    expect(error).toHaveBeenCalledExactlyOnceWith(boom);
  });

  it("the error of a source reaches onError for a subscriber that has no error handler", () => {
    const onError = vi.fn();
    const n = createNotifier<number>({ onError });
    const boom = new Error("failed");
    n.subscribe(() => {});
    n.error(boom);
    expect(onError).toHaveBeenCalledExactlyOnceWith(boom);
  });

  it("without onError, the source's error is raised from a microtask for a subscriber without an error handler", () => {
    const { queued } = captureMicrotasks();
    const n = createNotifier<number>();
    const boom = new Error("failed");
    n.subscribe(() => {});
    expect(() => n.error(boom)).not.toThrow();
    expect(queued).toHaveLength(1);
    expect(() => queued[0]?.()).toThrow(boom);
  });

  it("a subscriber unsubscribed by another's complete handler gets no complete", () => {
    const n = createNotifier<number>();
    const second: Partial<Observer<number>> = { complete: vi.fn() };
    let secondSub = { unsubscribe() {} };
    n.subscribe({ complete: () => secondSub.unsubscribe() });
    secondSub = n.subscribe(second);
    n.complete();
    expect(second.complete).not.toHaveBeenCalled();
  });

  it("a subscriber unsubscribed by another's error handler gets no error", () => {
    const n = createNotifier<number>();
    const second = { error: vi.fn() };
    let secondSub = { unsubscribe() {} };
    n.subscribe({ error: () => secondSub.unsubscribe() });
    secondSub = n.subscribe(second);
    n.error(new Error("failed"));
    expect(second.error).not.toHaveBeenCalled();
  });

  it("unsubscribe after the end is a no-op", () => {
    const n = createNotifier<number>();
    const sub = n.subscribe(() => {});
    n.complete();
    expect(() => sub.unsubscribe()).not.toThrow();
    expect(sub.closed).toBe(true);
  });
});

describe("createNotifier: Observable interop", () => {
  it('"@@observable"() returns the notifier itself', () => {
    const n = createNotifier<number>();
    expect(n["@@observable"]()).toBe(n);
  });

  it("a consumer that follows the interop protocol can subscribe through the accessor", () => {
    const n = createNotifier<string>();
    const values: string[] = [];
    const source = n["@@observable"]();
    const sub = source.subscribe({ next: (v) => values.push(v), error: () => {}, complete: () => values.push("done") });
    n.emit("x");
    n.complete();
    expect(values).toEqual(["x", "done"]);
    expect(sub.closed).toBe(true);
  });

  it("Symbol.observable, when the runtime defines it, also returns the notifier", () => {
    const symbol = (Symbol as unknown as { observable?: symbol }).observable;
    const n = createNotifier<number>() as unknown as Record<symbol, () => unknown>;
    if (symbol === undefined) expect(Object.getOwnPropertySymbols(n)).toEqual([]);
    else expect(n[symbol]?.()).toBe(n);
  });
});
