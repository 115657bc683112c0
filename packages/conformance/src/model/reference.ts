/**
 * The reference model of the contract: small, written from docs/contract.md alone (it shares no
 * code with any loop or with `@evloop/core`'s kernel), so a bug in the kernel is a disagreement
 * with it rather than a copy of it.
 *
 * The contract leaves a loop some freedom: in which order the watches of one pass run, whether a
 * timer shares a pass with descriptors, how many passes a time step takes, which bits a closed
 * peer produces. The model does not guess these. It is told each thing the loop did as it
 * happens (a callback ran, a free callback ran, an error reached `onError`, a call returned) and
 * checks that it was allowed at that moment; at the end of each time step it checks that nothing
 * owed is missing (a watch whose descriptor became ready and never fired, a timer past its due
 * time, a free callback or an error never delivered).
 *
 * What it checks, rule by rule:
 * - a watch fires only while registered and enabled, with bits it asked for (plus ERROR and
 *   HANGUP) that its descriptor had since its previous call, and with its own id and fd;
 * - a watch whose descriptor becomes ready for what it wants (data for READABLE, room for
 *   WRITABLE, a closed peer for ERROR/HANGUP, a closed or never-open number for ERROR) fires
 *   before the loop goes idle (no lost event, also for the other watches of a callback that
 *   threw); an error of a closed descriptor is owed once, not forever;
 * - removal is immediate: removeHandle/removeTimeout return 0 once then -1, and the item never
 *   runs again, even in the pass being dispatched; a callback's `-1` removes its watch;
 * - timers fire only while registered and enabled; on virtual time exactly at their due time
 *   (first one interval after add or update, then due + interval, or now + interval when more
 *   than one interval late), those due at the same time in registration order, and a 0 ms timer
 *   on the next iteration; on real time never before their due time (less `earlyMs`), and by the
 *   time the loop goes idle once due;
 * - every free callback runs exactly once per removal, after it, never inside a loop method and
 *   never inside its own item's callback; every error a callback threw reaches `onError` exactly
 *   once, outside callbacks;
 * - ids are positive integers, never reused (watches and timers counted apart); no callback runs
 *   inside another callback or inside a loop method.
 * @module
 */

/** Real time: how late past its due time a timer that never fired counts as lost, once the loop went idle. */
const REAL_GRACE_MS = 250;
const LOG_HEAD = 60;
const LOG_TAIL = 60;
const R = 1;
const W = 2;
const E = 4;
const H = 8;
const EH = E | H;

/** Where the executor stands when it tells the model something. */
export interface ModelContext {
  /** The callbacks running now, innermost last: `w3`, `t1`. */
  readonly stack: readonly string[];
  /** How many loop methods (addHandle, removeTimeout, …) are running now. */
  readonly inLoopCall: number;
}

/** Options of {@link ContractModel}. */
export interface ContractModelOptions {
  /** The loop's time now: its virtual clock, or `performance.now()` for real loops. */
  now(): number;
  /** Whether time is virtual and exact: timer instants are then checked exactly. */
  readonly exactTime: boolean;
  /** Real time only: how much earlier than its due time a timer may seem to fire (default 10). */
  readonly earlyMs?: number;
}

type FdKind = "pipe-read" | "pipe-write" | "socket";

class MFd {
  peer: MFd | undefined;
  open = true;
  buffered = 0;
  /**
   * A socket whose peer was closed with unread data: the system resets the connection (ERROR).
   * The native pollers report ERROR once, with READABLE while data is still buffered, and then
   * stop polling the descriptor: the ERROR is owed, and READABLE for what is still buffered.
   */
  reset = false;
  constructor(
    readonly number: number,
    readonly kind: FdKind,
  ) {}
}

interface MWatch {
  readonly id: number;
  readonly name: string;
  readonly fd: number;
  /** What the number named when the watch was added (undefined: not open). */
  readonly object: MFd | undefined;
  events: number;
  alive: boolean;
  /** Bits the descriptor had at some moment since the watch's previous call. */
  seen: number;
  /** Bits (R, W, or the group E|H) the watch must still be called for. */
  owed: number;
  /** What {@link ContractModel.refresh} last found it must be called for. */
  mustBefore: number;
  calls: number;
  free: "none" | "due" | "done";
  /**
   * For a descriptor closed under the watch (or a number never open): how many more times the
   * loop may tell it ERROR. One when that happens, one more whenever a call on a watch of the
   * number may register it afresh; an ERROR uses one up, so a loop that repeats it on every pass
   * (a busy loop) is caught.
   */
  errorCredits: number;
  /** Whether the watch got an ERROR since its descriptor was closed (one is owed, not more). */
  toldClosed: boolean;
}

interface MTimer {
  readonly id: number;
  readonly name: string;
  readonly seq: number;
  interval: number;
  /** Exact due time (virtual), or the earliest it may fire (real). */
  due: number;
  /** When it was last added or updated (the executor's time before the call). */
  touched: number;
  firedSinceTouch: boolean;
  alive: boolean;
  calls: number;
  free: "none" | "due" | "done";
}

const show = (events: number): string => {
  const names = [
    [R, "READABLE"],
    [W, "WRITABLE"],
    [E, "ERROR"],
    [H, "HANGUP"],
  ]
    .filter(([bit]) => (events & (bit as number)) !== 0)
    .map(([, name]) => name);
  return names.length === 0 ? "0" : names.join("|");
};

/** The contract as a checker of one run. See the module comment for what it checks. */
export class ContractModel {
  private readonly now: () => number;
  private readonly exact: boolean;
  private readonly earlyMs: number;
  private readonly table = new Map<number, MFd>();
  private readonly watches = new Map<number, MWatch>();
  private readonly timers = new Map<number, MTimer>();
  private readonly errors = new Map<unknown, { name: string; delivered: number }>();
  private seq = 0;
  private detached = false;
  /** What happened, one line each, for the failure report: the first and the latest lines. */
  private readonly head: string[] = [];
  private readonly tail: string[] = [];
  private lines = 0;
  /** The first rule broken, as a sentence; later ones are kept in {@link ContractModel.violations}. */
  readonly violations: string[] = [];

  constructor(options: ContractModelOptions) {
    this.now = options.now;
    this.exact = options.exactTime;
    this.earlyMs = options.earlyMs ?? 10;
  }

  /** What happened, one line per event: the first lines and the last ones, with a line for those left out. */
  get log(): string[] {
    const tail = this.tail.slice(-LOG_TAIL);
    const skipped = this.lines - this.head.length - tail.length;
    return [...this.head, ...(skipped > 0 ? [`… ${skipped} more events …`] : []), ...tail];
  }

  /** Whether a rule was broken. */
  get failed(): boolean {
    return this.violations.length > 0;
  }

  private note(line: string): void {
    if (this.detached) return;
    const t = this.now();
    const text = `${this.exact ? `t=${t}` : `+${t.toFixed(1)}ms`} ${line}`;
    this.lines++;
    if (this.head.length < LOG_HEAD) this.head.push(text);
    else {
      this.tail.push(text);
      if (this.tail.length > 2 * LOG_TAIL) this.tail.splice(0, LOG_TAIL);
    }
  }

  /** Stops listening: what the loop does after the run (disposing it) is not checked. */
  detach(): void {
    this.detached = true;
  }

  private violate(message: string): void {
    if (this.detached) return;
    this.note(`!! ${message}`);
    this.violations.push(message);
  }

  private where(ctx: ModelContext): string {
    if (ctx.inLoopCall > 0) return "inside a loop method";
    if (ctx.stack.length > 0) return `inside the callback of ${ctx.stack[ctx.stack.length - 1]}`;
    return "";
  }

  // ---- descriptors -------------------------------------------------------------------------

  /** A channel was opened: a pipe (`[read, write]`) or a socket pair. */
  opened(kind: "pipe" | "socketpair", fds: readonly [number, number]): void {
    const a = new MFd(fds[0], kind === "pipe" ? "pipe-read" : "socket");
    const b = new MFd(fds[1], kind === "pipe" ? "pipe-write" : "socket");
    a.peer = b;
    b.peer = a;
    this.table.set(a.number, a);
    this.table.set(b.number, b);
    this.note(`${kind}() = [${fds[0]}, ${fds[1]}]`);
    this.refresh();
  }

  /** `bytes` were written into `fd` (they wait in its peer). */
  wrote(fd: number, bytes: number): void {
    const end = this.table.get(fd);
    if (end?.peer !== undefined && end.peer.open) end.peer.buffered += bytes;
    this.note(`write(${fd}) ${bytes} byte(s)`);
    this.refresh();
  }

  /** Everything buffered on `fd` was read. */
  drained(fd: number): void {
    const end = this.table.get(fd);
    if (end !== undefined) end.buffered = 0;
    this.refresh();
  }

  /** `fd` was closed. */
  closed(fd: number): void {
    const end = this.table.get(fd);
    if (end !== undefined) {
      if (end.kind === "socket" && end.buffered > 0 && end.peer !== undefined) end.peer.reset = true;
      end.open = false;
      end.buffered = 0;
      this.table.delete(fd);
      // One ERROR for the close; one more when an ERROR (of a closed peer) was deliverable already,
      // since a pass sampled before the close may still deliver that one.
      // A watch disabled at the close is not owed that ERROR when enabled later (it may get it).
      // The older watches of the number (closed under them before it was reused) watch the number
      // too: they may be told this ERROR as well, but are not owed it.
      for (const w of this.watches.values()) {
        if (!w.alive || w.fd !== fd) continue;
        w.errorCredits += (w.seen & E) !== 0 ? 2 : 1;
        if (w.object === end && w.events === 0) w.toldClosed = true;
      }
    }
    this.note(`close(${fd})`);
    this.refresh();
  }

  /** What the descriptor a watch refers to may report now. */
  private may(w: MWatch): number {
    const current = this.table.get(w.fd);
    if (w.object === undefined || !w.object.open) {
      // Closed under the watch, or never open: ERROR, a bounded number of times; once the number
      // names something else, a loop that watches numbers may report that too.
      return (w.errorCredits > 0 ? E : 0) | (current !== undefined ? this.mayOf(current) : 0);
    }
    // A watch of an open descriptor may still get the ERROR owed to the number's older watches.
    return this.mayOf(w.object) | (w.errorCredits > 0 ? E : 0);
  }

  private mayOf(o: MFd): number {
    // A closed peer: HANGUP and/or ERROR, and the exact bits are the system's (libuv and the
    // native waiter add the watched directions to a hang-up), so anything the watch asked for.
    if (o.peer?.open !== true) return R | W | EH;
    switch (o.kind) {
      case "pipe-read":
        return o.buffered > 0 ? R : 0;
      case "pipe-write":
        return W;
      case "socket":
        return (o.buffered > 0 ? R : 0) | W;
    }
  }

  /** What a watch must be called for (R, W, or the E|H group), given what it wants. */
  private must(w: MWatch): number {
    if (!w.alive || w.events === 0) return 0;
    let bits: number;
    // A closed (or never open) descriptor owes one ERROR, unless its number names a new descriptor
    // by now: a loop watches numbers and cannot know (the caller should have removed the watch).
    if (w.object === undefined || !w.object.open) bits = this.table.has(w.fd) || w.toldClosed ? 0 : EH;
    else {
      const o = w.object;
      const peerOpen = o.peer?.open === true;
      bits = o.reset ? EH | (o.buffered > 0 ? R : 0) : (o.kind !== "pipe-write" && o.buffered > 0 ? R : 0) | (o.kind !== "pipe-read" && peerOpen ? W : 0) | (peerOpen ? 0 : EH);
    }
    return bits & (w.events | EH);
  }

  /** After any change: what each watch may now report, and what it is newly owed. */
  private refresh(): void {
    for (const w of this.watches.values()) {
      if (!w.alive) continue;
      w.seen |= this.may(w);
      const must = this.must(w);
      w.owed |= must & ~w.mustBefore;
      w.owed &= must;
      w.mustBefore = must;
    }
  }

  /** A call on a watch of `fd` may register the number afresh: its closed watches may be told ERROR again. */
  private rearm(fd: number): void {
    for (const w of this.watches.values()) {
      if (!w.alive || w.fd !== fd || (w.object !== undefined && w.object.open)) continue;
      w.errorCredits++;
      w.seen |= E;
    }
  }

  /** The alive watches on `fd`, for an executor that removes them before closing it. */
  liveWatchesOn(fd: number): number[] {
    return [...this.watches.values()].filter((w) => w.alive && w.fd === fd).map((w) => w.id);
  }

  // ---- calls into the loop -----------------------------------------------------------------

  private checkId(kind: "watch" | "timer", id: unknown, known: Map<number, unknown>): id is number {
    if (typeof id !== "number" || !Number.isSafeInteger(id) || id <= 0) {
      this.violate(`add${kind === "watch" ? "Handle" : "Timeout"} returned ${String(id)}, not a positive integer id`);
      return false;
    }
    if (known.has(id)) {
      this.violate(`add${kind === "watch" ? "Handle" : "Timeout"} returned ${kind} id ${id}, which this loop already gave out: ids are never reused`);
      return false;
    }
    return true;
  }

  /** addHandle(fd, events) returned `id`. */
  handleAdded(name: string, id: unknown, fd: number, events: number): void {
    this.note(`${name} = addHandle(${fd}, ${show(events)}) -> ${String(id)}`);
    if (!this.checkId("watch", id, this.watches)) return;
    const object = this.table.get(fd);
    const w: MWatch = { id, name, fd, object, events, alive: true, seen: 0, owed: 0, mustBefore: 0, calls: 0, free: "none", errorCredits: object === undefined ? 1 : 0, toldClosed: object === undefined && events === 0 };
    this.watches.set(id, w);
    // Older watches of the number whose descriptor was closed under them: the loop watches the
    // number, so the ERROR owed to them may reach the new watch too.
    for (const other of this.watches.values()) if (other !== w && other.alive && other.fd === fd && (other.object === undefined || !other.object.open)) w.errorCredits = 1;
    // A new watch registers the number afresh: the other watches of a number that is not open
    // (or was closed under them) may be told ERROR again.
    this.rearm(fd);
    this.refresh();
  }

  /** updateHandle(id, events) returned. */
  handleUpdated(id: number, events: number): void {
    const w = this.watches.get(id);
    this.note(`updateHandle(${w?.name ?? id}, ${show(events)})`);
    if (w === undefined || !w.alive) return;
    w.events = events;
    // The ERROR of a descriptor closed under the watch is owed to a watch that stays enabled until
    // it comes; disabled in between, it may get it later or not.
    if (events === 0 && (w.object === undefined || !w.object.open)) w.toldClosed = true;
    this.rearm(w.fd);
    this.refresh();
  }

  /** removeHandle(id) returned `result`. */
  handleRemoved(id: number, result: unknown): void {
    const w = this.watches.get(id);
    const expected = w?.alive === true ? 0 : -1;
    this.note(`removeHandle(${w?.name ?? id}) -> ${String(result)}`);
    if (result !== expected) this.violate(`removeHandle(${w?.name ?? id}) returned ${String(result)}, expected ${expected}${expected === -1 ? " (it was already removed)" : ""}`);
    if (w !== undefined && w.alive) {
      this.retireWatch(w);
      this.rearm(w.fd);
    }
  }

  private retireWatch(w: MWatch): void {
    w.alive = false;
    w.owed = 0;
    w.free = "due";
  }

  /** addTimeout(interval) returned `id`; `before` is the time read just before the call. */
  timerAdded(name: string, id: unknown, interval: number, before: number): void {
    this.note(`${name} = addTimeout(${interval}) -> ${String(id)}`);
    if (!this.checkId("timer", id, this.timers)) return;
    const at = this.exact ? this.now() : before;
    this.timers.set(id, { id, name, seq: ++this.seq, interval, due: at + interval, touched: at, firedSinceTouch: false, alive: true, calls: 0, free: "none" });
  }

  /** updateTimeout(id, interval) returned; `before` is the time read just before the call. */
  timerUpdated(id: number, interval: number, before: number): void {
    const t = this.timers.get(id);
    this.note(`updateTimeout(${t?.name ?? id}, ${interval})`);
    if (t === undefined || !t.alive) return;
    const at = this.exact ? this.now() : before;
    t.interval = interval;
    t.due = at + interval;
    t.touched = at;
    t.firedSinceTouch = false;
  }

  /** removeTimeout(id) returned `result`. */
  timerRemoved(id: number, result: unknown): void {
    const t = this.timers.get(id);
    const expected = t?.alive === true ? 0 : -1;
    this.note(`removeTimeout(${t?.name ?? id}) -> ${String(result)}`);
    if (result !== expected) this.violate(`removeTimeout(${t?.name ?? id}) returned ${String(result)}, expected ${expected}${expected === -1 ? " (it was already removed)" : ""}`);
    if (t !== undefined && t.alive) {
      t.alive = false;
      t.free = "due";
    }
  }

  /** A loop method threw for arguments the contract accepts. */
  loopThrew(call: string, error: unknown): void {
    this.violate(`${call} threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)} for arguments the contract accepts`);
  }

  // ---- what the loop did -------------------------------------------------------------------

  /** The loop called a watch's callback. Returns its name, or undefined when the id is unknown. */
  handleCalled(id: number, fd: number, events: number, ctx: ModelContext): void {
    const w = this.watches.get(id);
    this.note(`call ${w?.name ?? `watch ${id}`}(fd ${fd}, ${show(events)})`);
    if (w === undefined) return this.violate(`a watch callback got id ${id}, which no addHandle returned`);
    const where = this.where(ctx);
    if (where !== "") this.violate(`${w.name}'s callback ran ${where}`);
    if (fd !== w.fd) this.violate(`${w.name}'s callback got fd ${fd}, not its fd ${w.fd}`);
    if (!w.alive) return this.violate(`${w.name} fired after it was removed`);
    if (w.events === 0) return this.violate(`${w.name} fired while disabled (updateHandle to 0)`);
    if (events === 0) this.violate(`${w.name} was called with no events`);
    const extra = events & ~(w.events | EH);
    if (extra !== 0) this.violate(`${w.name} got ${show(extra)}, which it did not ask for (it wants ${show(w.events)})`);
    const unseen = events & ~w.seen & ~extra;
    if (unseen !== 0)
      this.violate(`${w.name} got ${show(unseen)} although its descriptor has not been ${show(unseen)} since ${w.calls === 0 ? "the watch was added" : "its previous call"}`);
    w.calls++;
    if ((events & E) !== 0) {
      const orphan = w.object === undefined || !w.object.open;
      if (orphan) w.toldClosed = true;
      if (w.errorCredits > 0 && (orphan || (this.mayOf(w.object as MFd) & E) === 0)) w.errorCredits--;
    }
    if ((events & R) !== 0) w.owed &= ~R;
    if ((events & W) !== 0) w.owed &= ~W;
    if ((events & EH) !== 0) w.owed &= ~EH;
  }

  /** A watch's callback returned `result` (`threw`: it threw instead). */
  handleReturned(id: number, result: unknown, threw: boolean): void {
    const w = this.watches.get(id);
    if (w === undefined) return;
    if (!threw && result === -1 && w.alive) {
      this.note(`${w.name} returned -1`);
      this.retireWatch(w);
      this.rearm(w.fd);
    }
    if (w.alive) w.seen = this.may(w);
  }

  /** The loop called a timer's callback. */
  timerCalled(id: number, ctx: ModelContext): void {
    const t = this.timers.get(id);
    const now = this.now();
    this.note(`call ${t?.name ?? `timer ${id}`}`);
    if (t === undefined) return this.violate(`a timer callback got id ${id}, which no addTimeout returned`);
    const where = this.where(ctx);
    if (where !== "") this.violate(`${t.name}'s callback ran ${where}`);
    if (!t.alive) return this.violate(`${t.name} fired after it was removed`);
    if (t.interval < 0) return this.violate(`${t.name} fired while disabled (interval -1)`);
    if (this.exact) {
      if (t.interval > 0 && now !== t.due) return this.violate(`${t.name} (every ${t.interval} ms) fired at ${now}, but it was due at ${t.due}`);
      if (t.interval === 0 && now < t.due) return this.violate(`${t.name} (0 ms) fired at ${now}, before it was started at ${t.due}`);
      if (t.interval > 0) {
        for (const x of this.timers.values()) {
          if (x === t || !x.alive || x.interval <= 0) continue;
          if (x.due < now) this.violate(`${t.name} fired at ${now} while ${x.name}, due at ${x.due}, had not fired yet`);
          else if (x.due === t.due && x.seq < t.seq) this.violate(`${t.name} fired before ${x.name}, registered earlier and due at the same time ${t.due}`);
        }
      }
      const next = t.due + t.interval;
      t.due = next > now ? next : now + t.interval;
    } else {
      if (now < t.due - this.earlyMs) this.violate(`${t.name} (every ${t.interval} ms) fired ${(t.due - now).toFixed(1)} ms before it was due`);
      // A lower bound: the loop may restart the period from now when it fell behind.
      t.due += t.interval;
    }
    t.calls++;
    t.firedSinceTouch = true;
  }

  /** A free callback ran (`kind`/`id`: the item it was given with). */
  freed(kind: "watch" | "timer", id: number, ctx: ModelContext): void {
    const item = kind === "watch" ? this.watches.get(id) : this.timers.get(id);
    const name = item?.name ?? `${kind} ${id}`;
    this.note(`free of ${name}`);
    if (item === undefined) return this.violate(`a free callback ran for ${name}, which was never added`);
    if (item.free === "none") return this.violate(`the free callback of ${name} ran although it was not removed`);
    if (item.free === "done") return this.violate(`the free callback of ${name} ran twice`);
    item.free = "done";
    if (ctx.inLoopCall > 0) this.violate(`the free callback of ${name} ran inside a loop method (removeHandle/removeTimeout must not call it)`);
    if (ctx.stack.includes(name)) this.violate(`the free callback of ${name} ran inside ${name}'s own callback`);
  }

  /** A callback is about to throw `error`. */
  throwing(error: unknown, name: string): void {
    this.note(`${name} throws`);
    this.errors.set(error, { name, delivered: 0 });
  }

  /** `onError` received `error`. */
  reported(error: unknown, ctx: ModelContext): void {
    const known = this.errors.get(error);
    this.note(`onError(${known === undefined ? String(error) : `error of ${known.name}`})`);
    if (known === undefined) return this.violate(`onError got ${error instanceof Error ? error.message : String(error)}, which no callback threw`);
    known.delivered++;
    if (known.delivered > 1) this.violate(`onError got the error thrown by ${known.name} ${known.delivered} times`);
    if (ctx.stack.length > 0 || ctx.inLoopCall > 0) this.violate(`onError got the error thrown by ${known.name} ${this.where(ctx)}, not after the pass`);
  }

  // ---- liveness ----------------------------------------------------------------------------

  /**
   * What the loop still owes: watches not yet called for what they became ready for, timers past
   * due (on real time by more than `graceMs`), free callbacks and errors not delivered. Empty when
   * the loop may go idle.
   */
  pending(graceMs = 0): string[] {
    const now = this.now();
    const owed: string[] = [];
    for (const w of this.watches.values()) {
      if (w.alive && w.owed !== 0) owed.push(`${w.name} (fd ${w.fd}, ${show(w.events)}) was never called for ${show(w.owed === EH ? EH : w.owed)}`);
      if (w.free === "due") owed.push(`the free callback of ${w.name} never ran`);
    }
    for (const t of this.timers.values()) {
      if (t.free === "due") owed.push(`the free callback of ${t.name} never ran`);
      if (!t.alive || t.interval < 0) continue;
      if (this.exact) {
        if ((t.interval > 0 && t.due <= now) || (t.interval === 0 && t.due < now)) owed.push(`${t.name} (every ${t.interval} ms) was due at ${t.due} and has not fired by ${now}`);
      } else if (t.interval > 0 && !t.firedSinceTouch && now >= t.touched + t.interval + graceMs) {
        owed.push(`${t.name} (every ${t.interval} ms) has not fired ${(now - t.touched).toFixed(0)} ms after it was started`);
      }
    }
    for (const [, e] of this.errors) if (e.delivered === 0) owed.push(`the error thrown by ${e.name} never reached onError`);
    return owed;
  }

  /**
   * Records what is still owed as a violation. On real time a timer counts only once it is
   * `REAL_GRACE_MS` past due: the loop may have gone idle a moment before it fell due.
   */
  settle(what: string): void {
    const owed = this.pending(this.exact ? 0 : REAL_GRACE_MS);
    if (owed.length > 0) this.violate(`${what}, the loop still owed: ${owed.join("; ")}`);
  }

  /** The ids of the watches and timers not removed yet. */
  alive(): {
    /** Watch ids. */
    watches: number[];
    /** Timer ids. */
    timers: number[];
  } {
    return {
      watches: [...this.watches.values()].filter((w) => w.alive).map((w) => w.id),
      timers: [...this.timers.values()].filter((t) => t.alive).map((t) => t.id),
    };
  }
}
