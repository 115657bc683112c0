import { assertOptionalCallback } from "./validate.ts";
import type { ErrorHandler } from "./event-loop.ts";

/** Receives a source's values (`next`), its failure (`error`) or its end (`complete`). */
export interface Observer<T> {
  /** Receives one value; called any number of times, never after `error` or `complete`. */
  next(value: T): void;
  /** Receives the source's failure; called at most once, and nothing is delivered after it. */
  error(error: unknown): void;
  /** Signals the source's normal end; called at most once, and nothing is delivered after it. */
  complete(): void;
}

/** A live subscription; `unsubscribe()` stops delivery and is safe to call more than once. */
export interface Subscription {
  /** Stops delivery to this subscriber at once, even mid-emission; a no-op once closed. */
  unsubscribe(): void;
  /** Whether delivery has stopped: unsubscribed, or the source ended with `error`/`complete`. */
  readonly closed: boolean;
}

/**
 * A source of values that applications subscribe to. It speaks the interop Observable protocol
 * (`subscribe` plus `Symbol.observable` / `"@@observable"`), so RxJS's `from()` and other
 * Observable libraries take it as it is.
 */
export interface Subscribable<T> {
  /**
   * Starts delivery to `observer` (a function is taken as `next`; missing callbacks are skipped).
   * Subscribing to an ended source gets its `error`/`complete` at once.
   */
  subscribe(observer?: Partial<Observer<T>> | ((value: T) => void)): Subscription;
  /** The interop protocol's accessor: returns the source itself. */
  "@@observable"(): Subscribable<T>;
}

/** A multicast source that a driver emits into: the seed's `virConnectNotify` made observable. */
export interface Notifier<T> extends Subscribable<T> {
  /** Delivers `value` to every current subscriber, in subscription order. */
  emit(value: T): void;
  /** Ends the source with an error; subscribers get `error` and are dropped. */
  error(error: unknown): void;
  /** Ends the source; subscribers get `complete` and are dropped. Later subscribers complete at once. */
  complete(): void;
  /** How many subscribers there are now (a driver can skip work nobody watches). */
  readonly observers: number;
  /** Whether the source has ended (error or complete). */
  readonly closed: boolean;
}

/** Options of {@link createNotifier}. */
export interface NotifierOptions {
  /**
   * Receives what a subscriber threw. Without it the error is raised as an uncaught exception
   * from a microtask. Either way the other subscribers still get the value.
   */
  onError?: ErrorHandler;
}

/** The key under which Observable libraries look for the interop accessor. */
const interop: symbol | "@@observable" =
  (typeof Symbol === "function" && (Symbol as unknown as { observable?: symbol }).observable) || "@@observable";

type Entry<T> = { observer: Partial<Observer<T>>; closed: boolean };

/** Creates a multicast notification source. */
export function createNotifier<T>(options: NotifierOptions = {}): Notifier<T> {
  assertOptionalCallback(options.onError, "options.onError");
  let entries: Entry<T>[] = [];
  let ended: { error: unknown } | "complete" | undefined;

  const raise = (error: unknown): void =>
    queueMicrotask(() => {
      throw error;
    });
  // Whatever happens here, the other subscribers still get the value: an onError that throws
  // has what it threw raised the same way as an error nobody handles.
  const report = (error: unknown): void => {
    if (options.onError === undefined) return raise(error);
    try {
      options.onError(error);
    } catch (failure) {
      raise(failure);
    }
  };
  const call = (fn: (() => void) | undefined): void => {
    try {
      fn?.();
    } catch (error) {
      report(error);
    }
  };
  const end = (how: { error: unknown } | "complete"): void => {
    if (ended !== undefined) return;
    ended = how;
    const list = entries;
    entries = [];
    // One unsubscribed by an earlier subscriber's handler gets nothing more, as in emit.
    for (const e of list) if (!e.closed) finish(e);
  };
  const finish = (e: Entry<T>): void => {
    e.closed = true;
    if (ended === "complete") call(() => e.observer.complete?.());
    else if (ended !== undefined) {
      const failure = ended.error;
      if (e.observer.error) call(() => e.observer.error?.(failure));
      else report(failure);
    }
  };

  const notifier: Notifier<T> & Record<symbol, unknown> = {
    subscribe(observer) {
      const o: Partial<Observer<T>> = typeof observer === "function" ? { next: observer } : (observer ?? {});
      const entry: Entry<T> = { observer: o, closed: false };
      if (ended !== undefined) finish(entry);
      else entries = [...entries, entry];
      return {
        unsubscribe() {
          if (entry.closed) return;
          entry.closed = true;
          entries = entries.filter((x) => x !== entry);
        },
        get closed() {
          return entry.closed;
        },
      };
    },
    emit(value) {
      if (ended !== undefined) return;
      // Walk the list as it was: a subscriber added now waits for the next value, one removed
      // now gets no more.
      for (const e of entries) {
        if (e.closed || e.observer.next === undefined) continue;
        call(() => e.observer.next?.(value));
      }
    },
    error: (error) => end({ error }),
    complete: () => end("complete"),
    get observers() {
      return entries.length;
    },
    get closed() {
      return ended !== undefined;
    },
    "@@observable"() {
      return notifier;
    },
  };
  if (typeof interop === "symbol") notifier[interop] = () => notifier;
  return notifier;
}
