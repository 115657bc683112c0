/**
 * A model program: what the property tests generate, run against a loop, shrink and print.
 *
 * A program opens a few channels (pipes and socket pairs), then runs top-level steps: watches and
 * timers added, updated and removed, bytes written, ends drained and closed, channels reopened
 * (their numbers reused at once), and time steps during which the loop runs. Every callback has a
 * {@link Reaction}: what it does when the loop calls it, which may itself add, update or remove
 * watches and timers (its own included), write, close and reopen.
 *
 * Watches and timers are named by creation order (`w0`, `w1`, … and `t0`, `t1`, …, counting those
 * created inside callbacks, in the order the loop ran them); `-1` in a callback means its own
 * watch or timer. A reference to one not created yet is skipped; one already removed is still
 * used (so removing it again must return -1 and updating it must do nothing).
 */

/** A channel the program opens at its start: a pipe (ends `r`, `w`) or a socket pair (ends `a`, `b`). */
export type ChannelKind = "pipe" | "socketpair";

/** An end of a channel: channel `c` has ends `2c` and `2c + 1` (a pipe's read end is the first). */
export type EndRef = number;

/** A watch or timer by creation index; `-1` is the calling callback's own watch or timer. */
export type ItemRef = number;

/** What a callback does when the loop calls it. */
export interface Reaction {
  /** Done on the callback's first call only (a handle callback reads what is buffered first). */
  readonly actions: readonly Action[];
  /**
   * Done on every call, after the actions, so that a watch whose descriptor stays ready (always
   * writable, hung up) or a 0 ms timer does not keep firing: `none`, `remove` (removeHandle or
   * removeTimeout of itself), `return-1` (a watch callback returns -1; a timer removes itself),
   * `disable` (updateHandle(self, 0) or updateTimeout(self, -1)).
   */
  readonly stop: "none" | "remove" | "return-1" | "disable";
  /** Throws an error after the first call's actions (the loop must route it to onError). */
  readonly throws: boolean;
}

/** `addHandle(end, events, cb, free)`; the callback does `reaction`. */
export interface AddHandleAction {
  /** The operation. */
  readonly op: "addHandle";
  /** The end watched. */
  readonly end: EndRef;
  /** The events asked for: READABLE (1), WRITABLE (2), both, or 0 (registered disabled). */
  readonly events: number;
  /** What the watch's callback does. */
  readonly reaction: Reaction;
}

/** `updateHandle(watch, events)`. */
export interface UpdateHandleAction {
  /** The operation. */
  readonly op: "updateHandle";
  /** The watch. */
  readonly watch: ItemRef;
  /** The new events (0 disables the watch). */
  readonly events: number;
}

/** `removeHandle(watch)`. */
export interface RemoveHandleAction {
  /** The operation. */
  readonly op: "removeHandle";
  /** The watch. */
  readonly watch: ItemRef;
}

/** `addTimeout(interval, cb, free)`; the callback does `reaction`. */
export interface AddTimeoutAction {
  /** The operation. */
  readonly op: "addTimeout";
  /** The interval in ms: -1 disabled, 0 every iteration. */
  readonly interval: number;
  /** What the timer's callback does. */
  readonly reaction: Reaction;
}

/** `updateTimeout(timer, interval)`. */
export interface UpdateTimeoutAction {
  /** The operation. */
  readonly op: "updateTimeout";
  /** The timer. */
  readonly timer: ItemRef;
  /** The new interval (-1 stops it). */
  readonly interval: number;
}

/** `removeTimeout(timer)`. */
export interface RemoveTimeoutAction {
  /** The operation. */
  readonly op: "removeTimeout";
  /** The timer. */
  readonly timer: ItemRef;
}

/** Writes one byte into `end`, so that its peer becomes readable (skipped for a pipe's read end, a closed end or a closed peer). */
export interface WriteAction {
  /** The operation. */
  readonly op: "write";
  /** The end written to. */
  readonly end: EndRef;
}

/** Reads everything buffered on `end`. */
export interface DrainAction {
  /** The operation. */
  readonly op: "drain";
  /** The end read. */
  readonly end: EndRef;
}

/** Closes `end` (its peer gets HANGUP or ERROR). */
export interface CloseAction {
  /** The operation. */
  readonly op: "close";
  /** The end closed. */
  readonly end: EndRef;
}

/** Closes both ends of a channel and opens a new one of the same kind in its place: the system hands out the numbers just freed. */
export interface ReopenAction {
  /** The operation. */
  readonly op: "reopen";
  /** The channel. */
  readonly channel: number;
}

/** Lets `ms` of the loop's time pass while it runs (top level only). */
export interface RunAction {
  /** The operation. */
  readonly op: "run";
  /** How long, in the loop's milliseconds. */
  readonly ms: number;
}

/** One step of a program, at top level or inside a callback. */
export type Action =
  | AddHandleAction
  | UpdateHandleAction
  | RemoveHandleAction
  | AddTimeoutAction
  | UpdateTimeoutAction
  | RemoveTimeoutAction
  | WriteAction
  | DrainAction
  | CloseAction
  | ReopenAction
  | RunAction;

/** A whole program. */
export interface Program {
  /** The channels opened first, in order: channel `c` has ends `2c` and `2c + 1`. */
  readonly channels: readonly ChannelKind[];
  /** The top-level steps. */
  readonly steps: readonly Action[];
}

const EVENT_NAMES: readonly [number, string][] = [
  [1, "READABLE"],
  [2, "WRITABLE"],
  [4, "ERROR"],
  [8, "HANGUP"],
];

/** `READABLE|WRITABLE`, or `0`. */
export function formatEvents(events: number): string {
  const names = EVENT_NAMES.filter(([bit]) => (events & bit) !== 0).map(([, name]) => name);
  return names.length === 0 ? "0" : names.join("|");
}

/** The name of an end in a printed program: `c0.r`, `c0.w` for a pipe, `c1.a`, `c1.b` for a socket pair. */
export function endName(program: Program, end: EndRef): string {
  end %= 2 * program.channels.length;
  const channel = Math.floor(end / 2);
  const kind = program.channels[channel];
  const side = end % 2;
  return `c${channel}.${kind === "pipe" ? (side === 0 ? "r" : "w") : side === 0 ? "a" : "b"}`;
}

const ref = (prefix: string, r: ItemRef): string => (r === -1 ? "self" : `${prefix}${r}`);

function formatReaction(program: Program, reaction: Reaction, indent: string, handle: boolean): string {
  const parts: string[] = [];
  const inner = `${indent}    `;
  const lines = reaction.actions.map((a) => `${inner}${formatAction(program, a, inner)}`);
  const first = reaction.actions.length > 0 ? [`${indent}  on its first call:`, ...lines] : [];
  if (reaction.throws) parts.push("then throws on its first call");
  if (reaction.stop !== "none") {
    const stop =
      reaction.stop === "remove"
        ? handle
          ? "removeHandle(self)"
          : "removeTimeout(self)"
        : reaction.stop === "return-1"
          ? handle
            ? "returns -1"
            : "removeTimeout(self)"
          : handle
            ? "updateHandle(self, 0)"
            : "updateTimeout(self, -1)";
    parts.push(`on every call: ${stop}`);
  }
  const head = handle ? "cb: reads what is buffered" : "cb";
  const tail = parts.length > 0 ? `; ${parts.join("; ")}` : "";
  return first.length === 0 ? `${head}${tail}` : `${head}${tail}\n${first.join("\n")}`;
}

/** One action as a line (or a few lines, for a callback's reaction). */
export function formatAction(program: Program, action: Action, indent = ""): string {
  switch (action.op) {
    case "addHandle":
      return `addHandle(${endName(program, action.end)}, ${formatEvents(action.events)}, ${formatReaction(program, action.reaction, indent, true)})`;
    case "updateHandle":
      return `updateHandle(${ref("w", action.watch)}, ${formatEvents(action.events)})`;
    case "removeHandle":
      return `removeHandle(${ref("w", action.watch)})`;
    case "addTimeout":
      return `addTimeout(${action.interval}, ${formatReaction(program, action.reaction, indent, false)})`;
    case "updateTimeout":
      return `updateTimeout(${ref("t", action.timer)}, ${action.interval})`;
    case "removeTimeout":
      return `removeTimeout(${ref("t", action.timer)})`;
    case "write":
      return `write(${endName(program, action.end)}, "x")`;
    case "drain":
      return `drain(${endName(program, action.end)})`;
    case "close":
      return `close(${endName(program, action.end)})`;
    case "reopen":
      return `reopen(c${action.channel % program.channels.length}): close both ends, open a new ${program.channels[action.channel % program.channels.length]} (same numbers)`;
    case "run":
      return `run(${action.ms} ms)`;
  }
}

/**
 * A program as a readable scenario, one step per line, with watches and timers numbered in the
 * order they are created (`w0 = addHandle(...)`).
 */
export function formatProgram(program: Program): string {
  const lines: string[] = [];
  program.channels.forEach((kind, c) => {
    lines.push(kind === "pipe" ? `[c${c}.r, c${c}.w] = pipe()` : `[c${c}.a, c${c}.b] = socketpair()`);
  });
  for (const step of program.steps) lines.push(formatAction(program, step));
  lines.push("(then: remove every watch and timer left, run until idle)");
  return lines.join("\n");
}
