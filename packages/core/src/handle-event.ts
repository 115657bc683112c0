/**
 * The events a watch can ask for and a callback receives, with libvirt's values
 * (`VIR_EVENT_HANDLE_*`, "similar to POLLxxx"). Combine them with `|`.
 *
 * READABLE and WRITABLE are asked for; ERROR and HANGUP are always reported to an enabled watch,
 * whether or not it asked for them.
 */
export const HandleEvent = {
  /** Data can be read without blocking (or the peer hung up, so a read returns 0). */
  READABLE: 1,
  /** Data can be written without blocking. */
  WRITABLE: 2,
  /** The descriptor is in error, was closed under the loop, or is not an open descriptor. */
  ERROR: 4,
  /** The peer closed its end. */
  HANGUP: 8,
} as const;

/** A set of {@link HandleEvent} bits: `0` to `15`. */
export type HandleEvents = number;

/** Every bit {@link HandleEvent} defines. */
export const ALL_HANDLE_EVENTS = 15;

/** The bits that are reported to every enabled watch whether it asked for them or not. */
export const ALWAYS_REPORTED = HandleEvent.ERROR | HandleEvent.HANGUP;

/** Spells a set of events as `"READABLE|HANGUP"` (`"0"` for none), for messages and logs. */
export function formatHandleEvents(events: HandleEvents): string {
  const names = (Object.keys(HandleEvent) as (keyof typeof HandleEvent)[]).filter((k) => (events & HandleEvent[k]) !== 0);
  return names.length === 0 ? "0" : names.join("|");
}
