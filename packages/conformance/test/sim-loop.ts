/**
 * A reference fixture for the suite's own tests: a loop built on `createKernel` over simulated
 * descriptors (an in-memory fd table whose readiness follows Linux's poll(2)), on a virtual or a
 * real clock. With `bug`, the loop is deliberately broken in one of the ways libvirt's loops and
 * their bindings were, so the tests can show that the suite catches each.
 *
 * It is test support, not part of the package: adapters bring their own fixture.
 */
import { HandleEvent, UnpollableDescriptorError, assertCallback, assertOptionalCallback, type EventLoopImpl, type FreeCallback, type HandleCallback, type TimeoutCallback } from "@evloop/core";
import { contractOf, createKernel, type Kernel } from "@evloop/core/kernel";
import type { ConformanceFixture } from "../src/fixture.ts";

const { READABLE, WRITABLE, ERROR, HANGUP } = HandleEvent;
const CAPACITY = 65536;

/** The ways a {@link createSimFixture} loop can be broken on purpose. */
export type SimBug =
  /** removeHandle during a pass only takes effect after it: the removed watch still fires in it. */
  | "remove-late"
  /** Free callbacks run inside removeHandle/removeTimeout (libvirt-python before 72e237f). */
  | "free-in-remove"
  /** Free callbacks never run (node-libvirt). */
  | "free-never"
  /** Ids are the lowest free small numbers, so removed ids come back. */
  | "reuse-ids"
  /** A watch added during a pass is dispatched in that pass with the readiness it started with. */
  | "dispatch-added"
  /** A 0 ms timer added from a timer callback runs in the same pass. */
  | "timer-added-in-pass"
  /** A descriptor that is not open reports ERROR on every pass (poll(2)'s POLLNVAL, unhandled). */
  | "busy-error"
  /** updateTimeout with an unchanged interval keeps the old countdown. */
  | "no-restart"
  /** After a callback throws, the rest of the pass is dropped. */
  | "throw-aborts-pass"
  /** Edge-triggered: a watch fires only when its fd becomes ready, not while it stays ready. */
  | "edge-triggered"
  /** When one of several watches on an fd goes, the backend stops watching the fd altogether. */
  | "drop-fd-on-shrink"
  /** Every error is reported at once, in the middle of the pass. */
  | "raise-immediately"
  /** Regular files are watched like anything else (poll(2) calls them always ready). */
  | "unpollable-accepted";

type Kind = "pipe-read" | "pipe-write" | "socket" | "file";

class End {
  inbox: Uint8Array[] = [];
  buffered = 0;
  peer: End | undefined;
  open = true;
  constructor(
    readonly fd: number,
    readonly kind: Kind,
  ) {}
}

/** An in-memory descriptor table; numbers are the lowest free ones from 3, as on a real system. */
class SimFds {
  private readonly table: (End | undefined)[] = [];

  pipe(): [number, number] {
    const r = this.allocate("pipe-read");
    const w = this.allocate("pipe-write");
    r.peer = w;
    w.peer = r;
    return [r.fd, w.fd];
  }

  socketpair(): [number, number] {
    const a = this.allocate("socket");
    const b = this.allocate("socket");
    a.peer = b;
    b.peer = a;
    return [a.fd, b.fd];
  }

  file(): number {
    return this.allocate("file").fd;
  }

  get(fd: number): End | undefined {
    return this.table[fd];
  }

  /** A number well above every open one: nothing opened later takes it. */
  notOpen(): number {
    return this.table.length + 1000;
  }

  openFds(): number[] {
    return this.table.flatMap((end, fd) => (end === undefined ? [] : [fd]));
  }

  write(fd: number, data: string | Uint8Array): number {
    const end = this.must(fd);
    const peer = end.peer;
    if (end.kind === "pipe-read" || end.kind === "file" || peer === undefined) throw new Error(`EBADF: write on ${fd}`);
    if (!peer.open) throw new Error(`EPIPE: write on ${fd}`);
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    const n = Math.min(bytes.length, CAPACITY - peer.buffered);
    if (n > 0) {
      peer.inbox.push(bytes.slice(0, n));
      peer.buffered += n;
    }
    return n;
  }

  read(fd: number, max = CAPACITY): Uint8Array {
    const end = this.must(fd);
    if (end.kind === "pipe-write" || end.kind === "file") throw new Error(`EBADF: read on ${fd}`);
    const n = Math.min(end.buffered, max);
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const chunk = end.inbox[0] as Uint8Array;
      const take = Math.min(chunk.length, n - at);
      out.set(chunk.subarray(0, take), at);
      at += take;
      if (take === chunk.length) end.inbox.shift();
      else end.inbox[0] = chunk.subarray(take);
    }
    end.buffered -= n;
    return out;
  }

  close(fd: number): void {
    const end = this.must(fd);
    end.open = false;
    this.table[fd] = undefined;
  }

  /** What poll(2) on Linux reports for the fd now. */
  readiness(fd: number): number {
    const end = this.table[fd];
    if (end === undefined) return ERROR;
    if (end.kind === "file") return READABLE | WRITABLE;
    const peerOpen = end.peer?.open === true;
    let events = 0;
    if (end.kind !== "pipe-write" && (end.buffered > 0 || !peerOpen)) events |= READABLE;
    if (end.kind !== "pipe-read" && peerOpen && (end.peer as End).buffered < CAPACITY) events |= WRITABLE;
    if (!peerOpen) events |= end.kind === "pipe-write" ? ERROR | WRITABLE : HANGUP;
    return events;
  }

  private allocate(kind: Kind): End {
    let fd = 3;
    while (this.table[fd] !== undefined) fd++;
    const end = new End(fd, kind);
    this.table[fd] = end;
    return end;
  }

  private must(fd: number): End {
    const end = this.table[fd];
    if (end === undefined) throw new Error(`EBADF: ${fd} is not open`);
    return end;
  }
}

interface Interest {
  mask: number;
  /** A number that was not open when watched: reported ERROR once, then left alone. */
  reported: boolean;
  /** For the edge-triggered bug: what was ready last time. */
  last: number;
}

interface SimState {
  readonly fds: SimFds;
  readonly kernel: Kernel;
  readonly raised: unknown[];
  readonly interest: Map<number, Interest>;
  clock: number;
  flushRequested: boolean;
  /** Set while the kernel dispatches handles or timers. */
  phase: "handles" | "timers" | undefined;
  /** What the current handle pass started with, for the dispatch-added bug. */
  ready: { fds: number[]; events: number[] };
  /** Work the broken wrappers do once the current phase is over. */
  afterPhase: (() => void)[];
  aborted: boolean;
  now(): number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const yieldToNode = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Options of {@link createSimFixture}. */
export interface SimFixtureOptions {
  /** Virtual clock (default) or real time. */
  readonly virtualTime?: boolean;
  /** Break the loop on purpose. */
  readonly bug?: SimBug;
}

/** A {@link ConformanceFixture} whose loops are a kernel over simulated descriptors. */
export function createSimFixture(options: SimFixtureOptions = {}): ConformanceFixture & { now(loop: EventLoopImpl): number } {
  const virtual = options.virtualTime ?? true;
  const bug = options.bug;
  const states = new WeakMap<EventLoopImpl, SimState>();
  const state = (loop: EventLoopImpl): SimState => {
    const s = states.get(loop);
    if (s === undefined) throw new Error("not a loop of this fixture");
    return s;
  };

  /** What is ready now; `consume` marks one-shot reports as made (the probe before waiting must not). */
  function poll(s: SimState, consume: boolean): { fds: number[]; events: number[] } {
    const fds: number[] = [];
    const events: number[] = [];
    for (const [fd, entry] of s.interest) {
      if (entry.mask === 0) continue;
      if (s.fds.get(fd) === undefined) {
        // Not open (or closed under the loop): one ERROR, not poll(2)'s endless POLLNVAL.
        if (entry.reported && bug !== "busy-error") continue;
        if (consume) entry.reported = true;
        fds.push(fd);
        events.push(ERROR);
        continue;
      }
      let ready = s.fds.readiness(fd) & entry.mask;
      if (bug === "edge-triggered") {
        const fresh = ready & ~entry.last;
        if (consume) entry.last = ready;
        ready = fresh;
      }
      if (ready !== 0) {
        fds.push(fd);
        events.push(ready);
      }
    }
    return { fds, events };
  }

  function guard(s: SimState, body: () => void): void {
    try {
      body();
    } catch (error) {
      s.raised.push(error);
    }
  }

  function endPhase(s: SimState): void {
    s.phase = undefined;
    const work = s.afterPhase.splice(0);
    for (const w of work) guard(s, w);
  }

  /** One iteration: flush what waits, dispatch ready descriptors, then due timers. */
  function iterate(s: SimState): void {
    if (s.flushRequested) {
      s.flushRequested = false;
      guard(s, () => s.kernel.flush());
    }
    const ready = poll(s, true);
    s.ready = ready;
    s.aborted = false;
    s.phase = "handles";
    guard(s, () => s.kernel.dispatchHandles(ready.fds, ready.events, ready.fds.length));
    endPhase(s);
    s.aborted = false;
    s.phase = "timers";
    guard(s, () => s.kernel.dispatchTimers(s.now()));
    endPhase(s);
  }

  async function runUntil(loop: EventLoopImpl, condition: () => boolean, timeoutMs = 2000): Promise<boolean> {
    const s = state(loop);
    const end = s.now() + timeoutMs;
    let atInstant = 0;
    for (let spins = 1; ; spins++) {
      if (condition()) return true;
      if (s.now() >= end) return false;
      const deadline = s.kernel.nextDeadline();
      const idle = poll(s, false).fds.length === 0 && !s.flushRequested && !s.kernel.pending;
      if (idle && deadline > s.now()) {
        // Nothing ready: wait for the next deadline (poll's timeout), or to the end.
        const until = Math.min(deadline, end);
        if (virtual) s.clock = until;
        else await sleep(Math.max(0, Math.ceil(until - s.now())));
        atInstant = 0;
      } else if (virtual && (deadline <= s.now() || ++atInstant > 1000)) {
        // Like the virtual loop of @evloop/poll: a loop with a 0 ms timer (or endlessly ready
        // descriptors) iterates once per virtual millisecond, so virtual time still moves.
        s.clock = Math.min(s.clock + 1, end);
        atInstant = 0;
      }
      iterate(s);
      if (!virtual || spins % 256 === 0) await yieldToNode();
    }
  }

  function createLoop(loopOptions: { onError?: (error: unknown) => void }): EventLoopImpl {
    const fds = new SimFds();
    const start = performance.now();
    const s = {} as SimState;
    const interest = new Map<number, Interest>();
    const kernel = createKernel(
      {
        watchFd(fd, mask) {
          if (mask === 0) {
            interest.delete(fd);
            return;
          }
          if (fds.get(fd)?.kind === "file" && bug !== "unpollable-accepted") throw new UnpollableDescriptorError(fd, "EPERM");
          const entry = interest.get(fd);
          if (bug === "drop-fd-on-shrink" && entry !== undefined && (mask & entry.mask) === mask && mask !== entry.mask) {
            interest.delete(fd);
            return;
          }
          // A number already reported as not open is registered afresh: reported again.
          if (entry === undefined || entry.reported) interest.set(fd, { mask, reported: false, last: 0 });
          else entry.mask = mask;
        },
        armTimer() {
          // runUntil asks the kernel for its next deadline before it waits.
        },
        requestFlush() {
          s.flushRequested = true;
        },
      },
      {
        now: () => s.now(),
        ...(bug === "raise-immediately" ? {} : loopOptions.onError ? { onError: loopOptions.onError } : {}),
      },
    );
    Object.assign(s, {
      fds,
      kernel,
      raised: [],
      interest,
      clock: 0,
      flushRequested: false,
      phase: undefined,
      ready: { fds: [], events: [] },
      afterPhase: [],
      aborted: false,
      now: virtual ? () => s.clock : () => performance.now() - start,
    });
    const loop = bug === undefined ? contractOf(kernel) : broken(s, bug, loopOptions.onError);
    states.set(loop, s);
    return loop;
  }

  return {
    name: `simulated descriptors on createKernel, ${virtual ? "virtual" : "real"} time${bug ? `, bug: ${bug}` : ""}`,
    virtualTime: virtual,
    createLoop,
    dispose(loop) {
      const s = state(loop);
      guard(s, () => s.kernel.close());
      for (const fd of s.fds.openFds()) s.fds.close(fd);
    },
    pipe: (loop) => state(loop).fds.pipe(),
    socketpair: (loop) => state(loop).fds.socketpair(),
    write: (loop, fd, data) => state(loop).fds.write(fd, data),
    read: (loop, fd, max) => state(loop).fds.read(fd, max),
    close: (loop, fd) => state(loop).fds.close(fd),
    unpollable: (loop) => state(loop).fds.file(),
    notOpen: (loop) => state(loop).fds.notOpen(),
    runUntil,
    async runFor(loop, ms) {
      await runUntil(loop, () => false, ms);
    },
    raised: (loop) => state(loop).raised,
    /** The loop's clock (for the model tests' exact timer checks). */
    now: (loop: EventLoopImpl) => state(loop).now(),
  };
}

/** The kernel behind a wrapper that breaks one rule. */
function broken(s: SimState, bug: SimBug, onError: ((error: unknown) => void) | undefined): EventLoopImpl {
  const k = s.kernel;
  const loop = contractOf(k);
  const frees = new Map<string, FreeCallback>();
  switch (bug) {
    case "remove-late": {
      const pending = new Set<number>();
      loop.removeHandle = (watch) => {
        if (s.phase !== "handles") return k.removeHandle(watch);
        if (pending.has(watch) || !k.registrations().handles.some((h) => h.watch === watch)) return -1;
        pending.add(watch);
        s.afterPhase.push(() => {
          pending.delete(watch);
          k.removeHandle(watch);
        });
        return 0;
      };
      break;
    }
    case "free-in-remove":
    case "free-never": {
      // The kernel never sees the free callbacks, so check them here as it would.
      loop.addHandle = (fd, events, cb, free) => {
        assertOptionalCallback(free, "free");
        const id = k.addHandle(fd, events, cb);
        if (free !== undefined) frees.set(`h${id}`, free);
        return id;
      };
      loop.addTimeout = (interval, cb, free) => {
        assertOptionalCallback(free, "free");
        const id = k.addTimeout(interval, cb);
        if (free !== undefined) frees.set(`t${id}`, free);
        return id;
      };
      const removed = (key: string) => {
        const free = frees.get(key);
        frees.delete(key);
        if (bug === "free-in-remove") free?.();
      };
      loop.removeHandle = (watch) => {
        const r = k.removeHandle(watch);
        if (r === 0) removed(`h${watch}`);
        return r;
      };
      loop.removeTimeout = (timer) => {
        const r = k.removeTimeout(timer);
        if (r === 0) removed(`t${timer}`);
        return r;
      };
      break;
    }
    case "reuse-ids": {
      // Public ids are the lowest free numbers from 1; the kernel's own ids stay hidden.
      for (const kind of ["handle", "timer"] as const) {
        const toKernel = new Map<number, number>();
        const fromKernel = new Map<number, number>();
        const take = (kernelId: number) => {
          let id = 1;
          while (toKernel.has(id)) id++;
          toKernel.set(id, kernelId);
          fromKernel.set(kernelId, id);
          return id;
        };
        const drop = (id: number) => {
          const kernelId = toKernel.get(id);
          toKernel.delete(id);
          if (kernelId !== undefined) fromKernel.delete(kernelId);
          return kernelId;
        };
        if (kind === "handle") {
          loop.addHandle = (fd, events, cb, free) => {
            // The kernel only sees the wrapper, so check the callback here as it would.
            assertCallback(cb);
            const wrapped: HandleCallback = (watch, f, ev) => {
              const id = fromKernel.get(watch) ?? -1;
              const r = cb(id, f, ev);
              if (r === -1) drop(id);
              return r;
            };
            return take(k.addHandle(fd, events, wrapped, free));
          };
          loop.updateHandle = (watch, events) => k.updateHandle(toKernel.get(watch) ?? (typeof watch === "number" ? -1 : watch), events);
          loop.removeHandle = (watch) => {
            if (typeof watch !== "number") return k.removeHandle(watch);
            const kernelId = drop(watch);
            return kernelId === undefined ? -1 : k.removeHandle(kernelId);
          };
        } else {
          loop.addTimeout = (interval, cb, free) => {
            assertCallback(cb);
            const wrapped: TimeoutCallback = (timer) => cb(fromKernel.get(timer) ?? -1);
            return take(k.addTimeout(interval, wrapped, free));
          };
          loop.updateTimeout = (timer, interval) => k.updateTimeout(toKernel.get(timer) ?? (typeof timer === "number" ? -1 : timer), interval);
          loop.removeTimeout = (timer) => {
            if (typeof timer !== "number") return k.removeTimeout(timer);
            const kernelId = drop(timer);
            return kernelId === undefined ? -1 : k.removeTimeout(kernelId);
          };
        }
      }
      break;
    }
    case "dispatch-added": {
      loop.addHandle = (fd, events, cb, free) => {
        const id = k.addHandle(fd, events, cb, free);
        if (s.phase === "handles") {
          const i = s.ready.fds.indexOf(fd);
          const got = i < 0 ? 0 : (s.ready.events[i] as number) & (events | ERROR | HANGUP);
          if (got !== 0) s.afterPhase.push(() => void cb(id, fd, got));
        }
        return id;
      };
      break;
    }
    case "timer-added-in-pass": {
      loop.addTimeout = (interval, cb, free) => {
        const id = k.addTimeout(interval, cb, free);
        if (s.phase === "timers" && interval === 0) s.afterPhase.push(() => cb(id));
        return id;
      };
      break;
    }
    case "no-restart": {
      loop.updateTimeout = (timer, interval) => {
        const current = k.registrations().timers.find((t) => t.timer === timer);
        if (current !== undefined && current.intervalMs === interval) return;
        k.updateTimeout(timer, interval);
      };
      break;
    }
    case "throw-aborts-pass": {
      const guarded =
        <A extends unknown[], R>(cb: (...args: A) => R) =>
        (...args: A): R | undefined => {
          if (s.aborted) return undefined;
          try {
            return cb(...args);
          } catch (error) {
            s.aborted = true;
            throw error;
          }
        };
      loop.addHandle = (fd, events, cb, free) => k.addHandle(fd, events, typeof cb === "function" ? (guarded(cb) as HandleCallback) : cb, free);
      loop.addTimeout = (interval, cb, free) => k.addTimeout(interval, typeof cb === "function" ? guarded(cb) : cb, free);
      break;
    }
    case "raise-immediately": {
      // The kernel was made without onError: errors pile up until the pass ends. This wrapper
      // reports each one as it is thrown instead, to onError or by rethrowing.
      const report = (error: unknown): void => {
        if (onError !== undefined) onError(error);
        else s.raised.push(error);
      };
      const wrap =
        <A extends unknown[], R>(cb: (...args: A) => R) =>
        (...args: A): R | undefined => {
          try {
            return cb(...args);
          } catch (error) {
            report(error);
            return undefined;
          }
        };
      loop.addHandle = (fd, events, cb, free) =>
        k.addHandle(fd, events, typeof cb === "function" ? (wrap(cb) as HandleCallback) : cb, typeof free === "function" ? wrap(free) : free);
      loop.addTimeout = (interval, cb, free) => k.addTimeout(interval, typeof cb === "function" ? wrap(cb) : cb, typeof free === "function" ? wrap(free) : free);
      break;
    }
    case "edge-triggered":
    case "busy-error":
    case "drop-fd-on-shrink":
    case "unpollable-accepted":
      // Broken in the backend or poll above.
      break;
  }
  return loop;
}
