import { HandleEvent, InvalidArgumentError, assertEvents, assertFd, formatHandleEvents, resolveEventImpl, type EventLoopImpl, type HandleEvents, type WatchId } from "@evloop/core";
import { Observable } from "rxjs";

/**
 * What an ERROR or HANGUP event does to a {@link fromHandle} Observable: arrive as a value like
 * any other (`"value"`), end it with `complete` (`"complete"`), or end it with a
 * {@link HandleEventError} (`"error"`).
 */
export type HandleEnding = "value" | "complete" | "error";

/** Options of {@link fromHandle}. */
export interface FromHandleOptions {
  /** The loop to watch on; by default the registered one, looked up at each subscription. */
  readonly loop?: EventLoopImpl;
  /** What an ERROR event does (default `"value"`). */
  readonly error?: HandleEnding;
  /** What a HANGUP event does (default `"value"`). */
  readonly hangup?: HandleEnding;
}

/** A watched descriptor reported ERROR (or HANGUP), and the {@link fromHandle} Observable was asked to fail on it. */
export class HandleEventError extends Error {
  /** Always `"ERR_EVLOOP_HANDLE_EVENT"`; test it rather than the class or the message. */
  readonly code = "ERR_EVLOOP_HANDLE_EVENT" as const;
  /** The watched descriptor. */
  readonly fd: number;
  /** The events it reported, ERROR and/or HANGUP among them. */
  readonly events: HandleEvents;
  constructor(fd: number, events: HandleEvents) {
    super(`fd ${fd} reported ${formatHandleEvents(events)}`);
    this.name = "HandleEventError";
    this.fd = fd;
    this.events = events;
  }
}

const ENDINGS: readonly HandleEnding[] = ["value", "complete", "error"];

function ending(value: HandleEnding | undefined, argument: string): HandleEnding {
  if (value === undefined) return "value";
  if (!ENDINGS.includes(value)) throw new InvalidArgumentError(argument, value, `one of ${ENDINGS.map((e) => `"${e}"`).join(", ")}`);
  return value;
}

/**
 * The ready events of `fd` as an Observable: each value is the {@link HandleEvents} of one pass
 * (the bits in `events` that were ready, plus ERROR and HANGUP when they occurred). The watch is
 * level-triggered: a descriptor that is not drained is reported again on the next pass.
 *
 * Each subscription adds its own watch and its unsubscription removes it, exactly once, also when
 * the Observable errors or completes. To let several subscribers share one watch, add `share()`.
 * With `error`/`hangup` set to `"complete"` or `"error"`, the watch is removed before the
 * Observable ends; an event that also carries bits in `events` (READABLE with the HANGUP of a
 * closed peer: the last data) is first delivered as a value. Subscribing where the loop refuses
 * the watch (a regular file, a closed loop, no registered loop) errors with the loop's error.
 *
 * @throws InvalidArgumentError or OutOfRangeError at once for a bad `fd`, `events` or option.
 */
export function fromHandle(fd: number, events: HandleEvents, options: FromHandleOptions = {}): Observable<HandleEvents> {
  assertFd(fd);
  assertEvents(events);
  const onError = ending(options.error, "options.error");
  const onHangup = ending(options.hangup, "options.hangup");
  const ends = (onError === "value" ? 0 : HandleEvent.ERROR) | (onHangup === "value" ? 0 : HandleEvent.HANGUP);
  const fails = (onError === "error" ? HandleEvent.ERROR : 0) | (onHangup === "error" ? HandleEvent.HANGUP : 0);
  const { loop } = options;

  return new Observable<HandleEvents>((subscriber) => {
    const impl = resolveEventImpl("fromHandle", loop);
    let watch: WatchId = 0;
    const remove = (): void => {
      if (watch === 0) return;
      const id = watch;
      watch = 0;
      impl.removeHandle(id);
    };
    watch = impl.addHandle(fd, events, (_watch, _fd, ready) => {
      if ((ready & ends) === 0) return void subscriber.next(ready);
      if ((ready & events) !== 0) subscriber.next(ready);
      remove();
      if ((ready & fails) !== 0) subscriber.error(new HandleEventError(fd, ready));
      else subscriber.complete();
    });
    return remove;
  });
}
