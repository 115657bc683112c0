import type { EventLoopImpl } from "@evloop/core";
import type { ConformanceFixture } from "../fixture.ts";
import type { Action, ChannelKind, ItemRef, Program, Reaction } from "./program.ts";
import { ContractModel, type ModelContext } from "./reference.ts";

/** Options of {@link runProgram}. */
export interface RunProgramOptions<L extends EventLoopImpl = EventLoopImpl> {
  /**
   * The loop's clock, for fixtures on virtual time (`virtualTime: true`): `(loop) => loop.now()`.
   * With it, timers are checked at their exact instants; without it, or on real time, timers
   * are checked against `performance.now()` with bounds that leave room for a busy machine.
   */
  readonly clock?: (loop: L) => number;
  /**
   * Whether the program may close a descriptor under its watches (without removeHandle) and
   * watch numbers that are not open. Real loops notice a closed descriptor only within a sweep
   * interval (250 ms), so the default is `fixture.virtualTime`. Otherwise the executor removes
   * the watches of an end before it closes it, as the contract asks of a caller.
   */
  readonly closeUnderWatch?: boolean;
  /** How long (the loop's time) to wait for what the loop owes before calling it lost. Default 200 virtual or 1500 real ms. */
  readonly settleMs?: number;
}

/** What one run of a program found. */
export interface ProgramResult {
  /** The first rule the loop broke, or undefined when it kept them all. */
  readonly violation: string | undefined;
  /** Every rule broken, in order. */
  readonly violations: readonly string[];
  /** What happened, one line per event, as the model saw it. */
  readonly log: readonly string[];
}

interface End {
  fd: number;
  open: boolean;
  readonly kind: "pipe-read" | "pipe-write" | "socket";
}

/**
 * Runs `program` on a fresh loop of `fixture` (made with an `onError`), telling the reference
 * model everything that happens, and returns what the model found. The loop is disposed at the
 * end, whatever happened.
 */
export async function runProgram<L extends EventLoopImpl>(fixture: ConformanceFixture<L>, program: Program, options: RunProgramOptions<L> = {}): Promise<ProgramResult> {
  const exact = fixture.virtualTime && options.clock !== undefined;
  const closeUnderWatch = options.closeUnderWatch ?? fixture.virtualTime;
  const settleMs = options.settleMs ?? (fixture.virtualTime ? 200 : 1500);
  const stack: string[] = [];
  let inLoopCall = 0;
  const ctx: ModelContext = {
    stack,
    get inLoopCall() {
      return inLoopCall;
    },
  };
  // Filled once the loop exists; the model reads the clock only after that.
  const made: { loop?: L } = {};
  const model = new ContractModel({
    exactTime: exact,
    now: () => (exact && made.loop !== undefined ? (options.clock as (loop: L) => number)(made.loop) : performance.now()),
  });
  const loop = fixture.createLoop({ onError: (error) => model.reported(error, ctx) });
  made.loop = loop;

  const ends: End[] = [];
  const watchIds: number[] = [];
  const timerIds: number[] = [];
  /** A watch's first call is the one that acts. */
  const called = new Set<string>();

  /** Calls a loop method, counting it as "inside a loop method" for callbacks and frees. */
  function call<T>(what: string, body: () => T): { ok: true; value: T } | { ok: false } {
    inLoopCall++;
    try {
      return { ok: true, value: body() };
    } catch (error) {
      model.loopThrew(what, error);
      return { ok: false };
    } finally {
      inLoopCall--;
    }
  }

  function open(kind: ChannelKind, channel: number): void {
    const fds = kind === "pipe" ? fixture.pipe(loop) : fixture.socketpair(loop);
    ends[2 * channel] = { fd: fds[0], open: true, kind: kind === "pipe" ? "pipe-read" : "socket" };
    ends[2 * channel + 1] = { fd: fds[1], open: true, kind: kind === "pipe" ? "pipe-write" : "socket" };
    model.opened(kind, fds);
  }

  const endOf = (ref: number): End => ends[ref % ends.length] as End;

  function readAll(fd: number): void {
    for (let i = 0; i < 100; i++) {
      let got: Uint8Array;
      try {
        got = fixture.read(loop, fd, 65536);
      } catch {
        break;
      }
      if (got.length === 0) break;
    }
    model.drained(fd);
  }

  function closeEnd(end: End): void {
    if (!end.open) return;
    if (!closeUnderWatch) for (const id of model.liveWatchesOn(end.fd)) removeWatch(id);
    fixture.close(loop, end.fd);
    end.open = false;
    model.closed(end.fd);
  }

  function removeWatch(id: number): void {
    const r = call(`removeHandle(${id})`, () => loop.removeHandle(id));
    if (r.ok) model.handleRemoved(id, r.value);
  }

  function removeTimer(id: number): void {
    const r = call(`removeTimeout(${id})`, () => loop.removeTimeout(id));
    if (r.ok) model.timerRemoved(id, r.value);
  }

  const resolve = (ids: number[], ref: ItemRef, self: number | undefined): number | undefined => (ref === -1 ? self : ids[ref]);

  function makeFree(kind: "watch" | "timer", box: { id: number }): () => void {
    return () => model.freed(kind, box.id, ctx);
  }

  function addWatch(endRef: number, events: number, reaction: Reaction): void {
    const end = endOf(endRef);
    if (!end.open && !closeUnderWatch) return;
    const name = `w${watchIds.length}`;
    const box = { id: 0 };
    const cb = (watch: number, fd: number, got: number): number | undefined => {
      model.handleCalled(watch, fd, got, ctx);
      stack.push(name);
      let result: number | undefined;
      let threw = false;
      try {
        // Read what is buffered first, as a reader does, so the data it was told about is gone
        // before it acts.
        if ((got & 1) !== 0) {
          const mine = ends.find((e) => e.open && e.fd === fd && e.kind !== "pipe-write");
          if (mine !== undefined) readAll(fd);
        }
        const first = !called.has(name);
        called.add(name);
        if (first) for (const action of reaction.actions) perform(action, watch, undefined);
        if (reaction.stop === "remove") removeWatch(watch);
        else if (reaction.stop === "disable") {
          if (call(`updateHandle(${watch}, 0)`, () => loop.updateHandle(watch, 0)).ok) model.handleUpdated(watch, 0);
        } else if (reaction.stop === "return-1") result = -1;
        if (first && reaction.throws) {
          const error = new Error(`thrown by ${name}`);
          model.throwing(error, name);
          threw = true;
          throw error;
        }
        return result;
      } finally {
        stack.pop();
        model.handleReturned(watch, result, threw);
      }
    };
    const r = call(`addHandle(${end.fd}, ${events})`, () => loop.addHandle(end.fd, events, cb, makeFree("watch", box)));
    if (!r.ok) return;
    box.id = r.value;
    watchIds.push(r.value);
    model.handleAdded(name, r.value, end.fd, events);
  }

  function addTimer(interval: number, reaction: Reaction): void {
    const name = `t${timerIds.length}`;
    const box = { id: 0 };
    const cb = (timer: number): void => {
      model.timerCalled(timer, ctx);
      stack.push(name);
      try {
        const first = !called.has(name);
        called.add(name);
        if (first) for (const action of reaction.actions) perform(action, undefined, timer);
        if (reaction.stop === "remove" || reaction.stop === "return-1") removeTimer(timer);
        else if (reaction.stop === "disable") {
          const before = performance.now();
          if (call(`updateTimeout(${timer}, -1)`, () => loop.updateTimeout(timer, -1)).ok) model.timerUpdated(timer, -1, before);
        }
        if (first && reaction.throws) {
          const error = new Error(`thrown by ${name}`);
          model.throwing(error, name);
          throw error;
        }
      } finally {
        stack.pop();
      }
    };
    const before = performance.now();
    const r = call(`addTimeout(${interval})`, () => loop.addTimeout(interval, cb, makeFree("timer", box)));
    if (!r.ok) return;
    box.id = r.value;
    timerIds.push(r.value);
    model.timerAdded(name, r.value, interval, before);
  }

  /** One action, at top level (`selfWatch`, `selfTimer` undefined) or inside a callback. */
  function perform(action: Action, selfWatch: number | undefined, selfTimer: number | undefined): void {
    switch (action.op) {
      case "addHandle":
        return addWatch(action.end, action.events, action.reaction);
      case "updateHandle": {
        const id = resolve(watchIds, action.watch, selfWatch);
        if (id === undefined) return;
        if (call(`updateHandle(${id}, ${action.events})`, () => loop.updateHandle(id, action.events)).ok) model.handleUpdated(id, action.events);
        return;
      }
      case "removeHandle": {
        const id = resolve(watchIds, action.watch, selfWatch);
        if (id !== undefined) removeWatch(id);
        return;
      }
      case "addTimeout":
        return addTimer(action.interval, action.reaction);
      case "updateTimeout": {
        const id = resolve(timerIds, action.timer, selfTimer);
        if (id === undefined) return;
        const before = performance.now();
        if (call(`updateTimeout(${id}, ${action.interval})`, () => loop.updateTimeout(id, action.interval)).ok) model.timerUpdated(id, action.interval, before);
        return;
      }
      case "removeTimeout": {
        const id = resolve(timerIds, action.timer, selfTimer);
        if (id !== undefined) removeTimer(id);
        return;
      }
      case "write": {
        const ref = action.end % ends.length;
        const end = ends[ref] as End;
        const peer = ends[ref ^ 1] as End;
        if (!end.open || !peer.open || end.kind === "pipe-read") return;
        const n = fixture.write(loop, end.fd, "x");
        if (n > 0) model.wrote(end.fd, n);
        return;
      }
      case "drain": {
        const end = endOf(action.end);
        if (end.open && end.kind !== "pipe-write") readAll(end.fd);
        return;
      }
      case "close":
        return closeEnd(endOf(action.end));
      case "reopen": {
        const channel = action.channel % program.channels.length;
        closeEnd(ends[2 * channel] as End);
        closeEnd(ends[2 * channel + 1] as End);
        open(program.channels[channel] as ChannelKind, channel);
        return;
      }
      case "run":
        // Only at top level: see runStep.
        return;
    }
  }

  /** Runs the loop until it owes nothing (or `settleMs` passed), then records what it still owes. */
  async function settle(what: string): Promise<void> {
    await fixture.runUntil(loop, () => model.failed || model.pending().length === 0, settleMs);
    if (!model.failed) model.settle(what);
  }

  try {
    program.channels.forEach((kind, c) => open(kind, c));
    for (const [i, step] of program.steps.entries()) {
      if (model.failed) break;
      if (step.op === "run") {
        await fixture.runFor(loop, step.ms);
        // On exact time, a timer past due now is late already; the rest may take a few passes.
        if (exact && !model.failed) {
          const late = model.pending().filter((p) => p.includes(" was due at "));
          if (late.length > 0) model.settle(`after step ${i + 1} (run ${step.ms} ms)`);
        }
        if (!model.failed) await settle(`after step ${i + 1} (run ${step.ms} ms)`);
      } else perform(step, undefined, undefined);
    }
    if (!model.failed) await settle("at the end of the program");
    // Take everything away: every free callback must run, and the loop must go idle.
    if (!model.failed) {
      const left = model.alive();
      for (const id of left.watches) removeWatch(id);
      for (const id of left.timers) removeTimer(id);
      await settle("after removing every watch and timer");
    }
    if (!model.failed) {
      const raised = fixture.raised(loop);
      if (raised.length > 0) model.loopThrew("the loop (raised without onError)", raised[0]);
    }
  } catch (error) {
    model.loopThrew("the program's own step", error);
  } finally {
    model.detach();
    for (const end of ends) {
      if (!end.open) continue;
      try {
        fixture.close(loop, end.fd);
      } catch {
        // Closed already.
      }
      end.open = false;
    }
    await fixture.dispose(loop);
  }
  return { violation: model.violations[0], violations: [...model.violations], log: model.log };
}
