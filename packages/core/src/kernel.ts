/**
 * For loop authors: the bookkeeping every evloop loop shares. {@link createKernel} keeps the
 * watches and timers and applies the contract's rules; a loop supplies a {@link KernelBackend}.
 * @module @evloop/core/kernel
 */
import { withGetters } from "./accessors.ts";
import { LoopClosedError, NotSupportedError, UnpollableDescriptorError } from "./errors.ts";
import type {
  ErrorHandler,
  EventLoopImpl,
  FreeCallback,
  HandleCallback,
  LoopOptions,
  TimeoutCallback,
  TimerId,
  WatchId,
} from "./event-loop.ts";
import { ALWAYS_REPORTED, type HandleEvents } from "./handle-event.ts";
import { SlotTable } from "./slot-table.ts";
import { TimerQueue, type QueueEntry, type TimerList } from "./timer-queue.ts";
import { assertCallback, assertEvents, assertFd, assertId, assertInterval, assertOptionalCallback } from "./validate.ts";

export { withGetters };

/**
 * What a loop tells the kernel it can do. The kernel keeps every watch and timer and decides who
 * fires; the backend only watches descriptors and wakes at a time.
 */
export interface KernelBackend {
  /**
   * The events wanted on `fd` changed to `mask`: the union of every enabled watch's events plus
   * ERROR|HANGUP, or `0` when no enabled watch is left. At `0` stop watching before returning: the
   * caller may close `fd` next and its number may be reused at once. Throw (for example an
   * {@link UnpollableDescriptorError}) to refuse a descriptor; the kernel then undoes the change.
   * A descriptor that is not open must not throw: report ERROR for it in a later pass.
   */
  watchFd(fd: number, mask: HandleEvents): void;
  /**
   * The earliest timer deadline changed: a time on the kernel's clock, or `Infinity` for none.
   * A deadline already due (a `0` timer, or a late one) is best served by calling
   * {@link Kernel.flush} on the loop's next iteration rather than by a zero-delay timer: a timer
   * that re-arms itself at zero delay can run again at once, forever, and starve I/O.
   */
  armTimer(deadline: number): void;
  /**
   * Free callbacks or errors are waiting and no pass may come soon: call {@link Kernel.flush}
   * from a clean stack (not from inside the current call), for example from a microtask or the
   * loop's next iteration.
   */
  requestFlush(): void;
}

/** Options of {@link createKernel}. */
export interface KernelOptions extends LoopOptions {
  /** The loop's clock in milliseconds; timers are due at `now() + interval`. */
  now: () => number;
  /**
   * Called after every change to what the loop holds: a watch or timer added, updated or
   * removed (by a call, a callback's `-1`, or `close()`). A loop that runs passes until nothing
   * changes, or shows its registrations, listens here.
   */
  onChange?: (what: "handle" | "timer") => void;
}

/** A snapshot of what a loop holds, for tests and dashboards. */
export interface Registrations {
  /** Every watch not yet removed, disabled ones included, in no guaranteed order. */
  readonly handles: readonly {
    /** The id `addHandle` returned. */
    readonly watch: WatchId;
    /** The watched descriptor. */
    readonly fd: number;
    /** The events the watch asks for now; `0` while it is disabled. */
    readonly events: HandleEvents;
  }[];
  /** Every timer not yet removed, disabled ones included, in no guaranteed order. */
  readonly timers: readonly {
    /** The id `addTimeout` returned. */
    readonly timer: TimerId;
    /** The interval now set, in milliseconds: `-1` disabled, `0` every iteration. */
    readonly intervalMs: number;
  }[];
}

/**
 * The contract's bookkeeping, shared by every evloop loop: ids, several watches per descriptor,
 * a timer queue, dispatch passes with removal and re-entrancy rules, deferred free callbacks and
 * error routing. A loop supplies a {@link KernelBackend} and feeds the kernel what became ready.
 */
export interface Kernel extends EventLoopImpl {
  /**
   * Runs `body` as one dispatch pass: what is added inside is not dispatched before the pass
   * ends. At its end free callbacks run and errors are reported (to `onError`, or thrown).
   * Passes may nest; only the outermost one ends the pass.
   */
  pass(body: () => void): void;
  /**
   * Dispatches ready descriptors: `fds[i]` had `events[i]`, for `i < count`. One descriptor
   * should appear once. Runs as a pass of its own unless called inside {@link Kernel.pass}.
   * @returns how many callbacks ran.
   */
  dispatchHandles(fds: ArrayLike<number>, events: ArrayLike<number>, count: number): number;
  /**
   * Fires the timers due at `now` (on the kernel's clock), in due order, then registration order.
   * @returns how many callbacks ran.
   */
  dispatchTimers(now: number): number;
  /** The earliest timer deadline on the kernel's clock, or `Infinity` when no timer is armed. */
  nextDeadline(): number;
  /** Whether free callbacks or errors are waiting for {@link Kernel.flush}. */
  readonly pending: boolean;
  /** Fires the timers due now, runs waiting free callbacks and reports waiting errors: one pass. */
  flush(): void;
  /** The number of watches and of timers held (disabled ones included). */
  readonly size: {
    /** Watches not yet removed. */
    readonly handles: number;
    /** Timers not yet removed. */
    readonly timers: number;
  };
  /** What the loop holds right now. */
  registrations(): Registrations;
  /** Whether {@link Kernel.close} was called. */
  readonly closed: boolean;
  /** Whether a pass is running: a loop refuses to start another pass from inside one. */
  readonly dispatching: boolean;
  /** Removes every watch and timer (their free callbacks run) and refuses new ones. */
  close(): void;
}

class Watch {
  alive = true;
  constructor(
    public id: WatchId,
    readonly fd: number,
    public events: HandleEvents,
    readonly cb: HandleCallback,
    readonly free: FreeCallback | undefined,
    readonly addedIn: number,
  ) {}
}

class Descriptor {
  /** Replaced, never changed in place, so a pass can walk the list it started with. */
  watches: readonly Watch[] = [];
  mask = 0;
}

class Timer implements QueueEntry<Timer> {
  alive = true;
  due = 0;
  list: TimerList<Timer> | undefined = undefined;
  prev: Timer | undefined = undefined;
  next: Timer | undefined = undefined;
  constructor(
    public id: TimerId,
    public intervalMs: number,
    readonly cb: TimeoutCallback,
    readonly free: FreeCallback | undefined,
    readonly seq: number,
    /** The pass in which `due` was last set (0: outside any pass); such a timer waits for the next. */
    public setIn: number,
  ) {}
}

function maskOf(watches: readonly Watch[]): HandleEvents {
  let mask = 0;
  for (const w of watches) if (w.alive && w.events !== 0) mask |= w.events | ALWAYS_REPORTED;
  return mask;
}

/** Raises what callbacks threw in one pass: the error itself, or all of them together. */
function throwAll(errors: readonly unknown[]): never {
  if (errors.length === 1) throw errors[0];
  throw new AggregateError(errors, `${errors.length} event loop callbacks threw`);
}

/** Creates the kernel for a loop whose backend is `backend`. */
export function createKernel(backend: KernelBackend, options: KernelOptions): Kernel {
  const now = options.now;
  const onError: ErrorHandler | undefined = options.onError;
  const onChange = options.onChange;
  assertOptionalCallback(onError, "options.onError");
  assertOptionalCallback(onChange, "options.onChange");
  const watches = new SlotTable<Watch>();
  const timers = new SlotTable<Timer>();
  const descriptors: (Descriptor | undefined)[] = [];
  /**
   * By descriptor, its watch when it has exactly one (the usual case): dispatch reaches it with one
   * array load instead of the descriptor's record and list, which with many descriptors are not in
   * the CPU cache when one of them becomes ready.
   */
  const singles: (Watch | undefined)[] = [];
  const queue = new TimerQueue<Timer>();
  let frees: FreeCallback[] = [];
  let errors: unknown[] = [];
  let depth = 0;
  let passId = 0;
  let seq = 0;
  let armed = Infinity;
  let closed = false;

  const current = () => (depth > 0 ? passId : 0);

  function rearm(): void {
    const deadline = queue.peek()?.due ?? Infinity;
    if (deadline !== armed) {
      armed = deadline;
      backend.armTimer(deadline);
    }
  }

  function setWatches(fd: number, d: Descriptor, list: readonly Watch[]): void {
    d.watches = list;
    singles[fd] = list.length === 1 ? list[0] : undefined;
  }

  function settle(fd: number, d: Descriptor, afresh = false): void {
    const mask = maskOf(d.watches);
    if (d.watches.length === 0) descriptors[fd] = undefined;
    if (mask === d.mask && !(afresh && mask !== 0)) return;
    // Only what the backend accepted is remembered, so a refused change is retried next time.
    backend.watchFd(fd, mask);
    d.mask = mask;
  }

  function retire(free: FreeCallback | undefined): void {
    if (free === undefined) return;
    frees.push(free);
    if (depth === 0) backend.requestFlush();
  }

  function flush(): void {
    while (frees.length > 0) {
      const batch = frees;
      frees = [];
      for (const free of batch) {
        try {
          free();
        } catch (error) {
          errors.push(error);
        }
      }
    }
    if (errors.length === 0) return;
    const thrown = errors;
    errors = [];
    if (onError === undefined) throwAll(thrown);
    // Every error reaches onError even when it throws for one of them; what it threw is raised.
    const failed: unknown[] = [];
    for (const error of thrown) {
      try {
        onError(error);
      } catch (failure) {
        failed.push(failure);
      }
    }
    if (failed.length > 0) throwAll(failed);
  }

  function pass(body: () => void): void {
    enter();
    try {
      body();
    } finally {
      leave();
    }
  }
  // The hot paths below enter and leave a pass inline rather than through a closure per batch.
  function enter(): void {
    if (depth++ === 0) passId++;
  }
  function leave(): void {
    if (--depth === 0) flush();
  }

  function removeHandle(watch: WatchId): 0 | -1 {
    assertId(watch, "watch");
    const w = watches.delete(watch);
    if (w === undefined) return -1;
    w.alive = false;
    const d = descriptors[w.fd] as Descriptor;
    setWatches(w.fd, d, d.watches.filter((x) => x !== w));
    try {
      settle(w.fd, d);
    } catch (error) {
      // The watch is gone either way; a backend that fails to shrink its interest is reported.
      errors.push(error);
      if (depth === 0) backend.requestFlush();
    }
    retire(w.free);
    onChange?.("handle");
    return 0;
  }

  function removeTimeout(timer: TimerId): 0 | -1 {
    assertId(timer, "timer");
    const t = timers.delete(timer);
    if (t === undefined) return -1;
    t.alive = false;
    queue.delete(t);
    rearm();
    retire(t.free);
    onChange?.("timer");
    return 0;
  }

  function dispatchHandles(fds: ArrayLike<number>, events: ArrayLike<number>, count: number): number {
    let ran = 0;
    enter();
    try {
      const id = passId;
      for (let i = 0; i < count; i++) {
        const fd = fds[i] as number;
        const ready = events[i] as number;
        const only = singles[fd];
        if (only !== undefined) {
          ran += fire(only, fd, ready, id);
          continue;
        }
        const d = descriptors[fd];
        if (d === undefined) continue;
        const list = d.watches;
        for (let j = 0; j < list.length; j++) ran += fire(list[j] as Watch, fd, ready, id);
      }
    } finally {
      leave();
    }
    return ran;
  }

  /** Calls `w` for what is `ready` on `fd` in pass `id`, if it is due a call; returns 1 if it was. */
  function fire(w: Watch, fd: number, ready: number, id: number): number {
    if (!w.alive || w.events === 0 || w.addedIn === id) return 0;
    const got = ready & (w.events | ALWAYS_REPORTED);
    if (got === 0) return 0;
    try {
      if (w.cb(w.id, fd, got) === -1 && w.alive) removeHandle(w.id);
    } catch (error) {
      errors.push(error);
    }
    return 1;
  }

  function dispatchTimers(at: number): number {
    let ran = 0;
    // The backend's timer may have fired and be disarmed now: whatever the next deadline is,
    // arm it again after this pass.
    armed = NaN;
    enter();
    try {
      const id = passId;
      // Fired one at a time from the front of the queue, in due order, then registration order:
      // a fired timer is rescheduled in place, nothing is allocated. A timer whose due time was
      // set during this pass (added, restarted, or a 0 ms timer that just fired) is due in the
      // next pass only; it is put aside so the timers behind it still fire.
      let aside: Timer[] | undefined;
      for (let t = queue.peek(); t !== undefined && t.due <= at; t = queue.peek()) {
        if (t.setIn === id) {
          queue.delete(t);
          (aside ??= []).push(t);
          continue;
        }
        // Keep the period without catching up: the next fire is one interval after this one was
        // due, or one interval from now when the loop fell behind by more than that.
        const next = t.due + t.intervalMs;
        t.due = next > at ? next : at + t.intervalMs;
        t.setIn = id;
        queue.set(t);
        ran++;
        try {
          t.cb(t.id);
        } catch (error) {
          errors.push(error);
        }
      }
      // Put back unless a later callback of this pass removed, disabled or restarted it.
      if (aside !== undefined) for (const t of aside) if (t.alive && !queue.has(t) && t.intervalMs >= 0) queue.set(t);
      rearm();
    } finally {
      leave();
    }
    return ran;
  }

  function refuseIfClosed(operation: string): void {
    if (closed) throw new LoopClosedError(operation);
  }

  const methods = {
    addHandle(fd: number, events: HandleEvents, cb: HandleCallback, free?: FreeCallback): WatchId {
      assertFd(fd);
      assertEvents(events);
      assertCallback(cb);
      assertOptionalCallback(free, "free");
      refuseIfClosed("addHandle");
      const w = new Watch(0, fd, events, cb, free, current());
      const d = descriptors[fd] ?? new Descriptor();
      const before = d.watches;
      setWatches(fd, d, [...before, w]);
      const mask = maskOf(d.watches);
      try {
        // An enabled new watch registers the descriptor afresh even when the union mask stays the
        // same: the backend may have stopped polling it after an ERROR, or the number may name a
        // new descriptor since (closed under an older watch, then reused), and only a new
        // registration finds that out. Without it the new watch would never fire.
        if (mask !== d.mask || events !== 0) backend.watchFd(fd, mask);
        // A first watch that starts disabled asks the backend nothing, yet a descriptor that can
        // never be watched must be refused now, not when the watch is enabled: try it and let go.
        else if (mask === 0 && before.length === 0) {
          backend.watchFd(fd, ALWAYS_REPORTED);
          backend.watchFd(fd, 0);
        }
      } catch (error) {
        setWatches(fd, d, before);
        throw error;
      }
      d.mask = mask;
      descriptors[fd] = d;
      w.id = watches.add(w);
      onChange?.("handle");
      return w.id;
    },

    updateHandle(watch: WatchId, events: HandleEvents): void {
      assertId(watch, "watch");
      assertEvents(events);
      const w = watches.get(watch);
      if (w === undefined) return;
      const before = w.events;
      w.events = events;
      try {
        // Enabling a disabled watch registers the descriptor afresh, as adding an enabled one does
        // (see addHandle): otherwise a watch added disabled next to an older one, then enabled,
        // might never be polled.
        settle(w.fd, descriptors[w.fd] as Descriptor, before === 0 && events !== 0);
      } catch (error) {
        w.events = before;
        throw error;
      }
      onChange?.("handle");
    },

    removeHandle,

    addTimeout(intervalMs: number, cb: TimeoutCallback, free?: FreeCallback): TimerId {
      assertInterval(intervalMs);
      assertCallback(cb);
      assertOptionalCallback(free, "free");
      refuseIfClosed("addTimeout");
      const t = new Timer(0, intervalMs, cb, free, ++seq, current());
      t.id = timers.add(t);
      if (intervalMs >= 0) {
        t.due = now() + intervalMs;
        queue.set(t);
        rearm();
      }
      onChange?.("timer");
      return t.id;
    },

    updateTimeout(timer: TimerId, intervalMs: number): void {
      assertId(timer, "timer");
      assertInterval(intervalMs);
      const t = timers.get(timer);
      if (t === undefined) return;
      t.intervalMs = intervalMs;
      if (intervalMs < 0) queue.delete(t);
      else {
        t.due = now() + intervalMs;
        t.setIn = current();
        queue.set(t);
      }
      rearm();
      onChange?.("timer");
    },

    removeTimeout,
    pass,
    dispatchHandles,
    dispatchTimers,
    nextDeadline: () => queue.peek()?.due ?? Infinity,
    flush(): void {
      const at = now();
      if ((queue.peek()?.due ?? Infinity) <= at) dispatchTimers(at);
      else pass(() => {});
    },
    registrations(): Registrations {
      return {
        handles: [...watches.values()].map((w) => ({ watch: w.id, fd: w.fd, events: w.events })),
        timers: [...timers.values()].map((t) => ({ timer: t.id, intervalMs: t.intervalMs })),
      };
    },
    close(): void {
      if (closed) return;
      closed = true;
      pass(() => {
        for (const w of [...watches.values()]) removeHandle(w.id);
        for (const t of [...timers.values()]) removeTimeout(t.id);
      });
    },
  };
  return withGetters(methods, {
    pending: () => frees.length > 0 || errors.length > 0,
    size: () => ({ handles: watches.size, timers: timers.size }),
    closed: () => closed,
    dispatching: () => depth > 0,
  });
}

/**
 * The contract's six methods of a kernel: what a loop built on it hands the application (the
 * kernel's own members, such as `dispatchHandles`, stay out of reach).
 */
export function contractOf(kernel: Kernel): EventLoopImpl {
  return {
    addHandle: kernel.addHandle,
    updateHandle: kernel.updateHandle,
    removeHandle: kernel.removeHandle,
    addTimeout: kernel.addTimeout,
    updateTimeout: kernel.updateTimeout,
    removeTimeout: kernel.removeTimeout,
  };
}

/**
 * Translates a backend's refusal of `fd` for a loop's `watchFd`: a system EPERM (libuv and epoll
 * refuse regular files and `/dev/null` with it) becomes {@link UnpollableDescriptorError}; any
 * other error is returned as it was.
 */
export function refusal(fd: number, error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code === "EPERM" ? new UnpollableDescriptorError(fd, "EPERM") : error;
}

/**
 * Throws {@link NotSupportedError} when `kernel` is inside a pass. A loop's run functions
 * (`runOnce`, `advance`, …) call it first: a pass started from one of the loop's own callbacks
 * would walk, and overwrite, the batch being dispatched.
 */
export function refuseNestedPass(kernel: Kernel, operation: string): void {
  if (kernel.dispatching) throw new NotSupportedError(operation, "called from a callback of this loop, which is running already");
}
