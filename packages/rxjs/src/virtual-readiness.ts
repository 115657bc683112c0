import { InvalidArgumentError, OutOfRangeError } from "@evloop/core";
import { VirtualPoller, type VirtualFds } from "@evloop/poll";
import type { SchedulerLike, Subscription } from "rxjs";
import type { ReadinessSource, ReadinessTarget } from "./readiness-source.ts";

/** Options of {@link virtualReadiness}. */
export interface VirtualReadinessOptions {
  /**
   * How many passes one instant of the scheduler's time may take while callbacks keep changing
   * descriptors (a ping-pong between two watches never settles); past it, the next pass comes
   * one time unit later. Default 1000, as `createVirtualLoop`'s.
   */
  readonly maxPassesPerInstant?: number;
}

/**
 * `@evloop/poll`'s virtual descriptors as a readiness source, on the loop's scheduler: for tests
 * on virtual time (`TestScheduler`, `VirtualTimeScheduler`), where nothing real is waited for.
 * Pass the `fds` of a `createVirtualLoop()` or a `new VirtualFds()`, and write, read and close
 * through it.
 *
 * A pass is a scheduler action. Whenever a descriptor changes (a write, read or close, from the
 * test or from a callback) or a watch starts, a pass is scheduled at the current instant, so I/O
 * takes no virtual time. One iteration is one time unit: a descriptor that stays ready is
 * reported again one unit later, and so do due-now timers fire, as `createVirtualLoop` iterates
 * once per virtual millisecond.
 */
export function virtualReadiness(fds: VirtualFds, options: VirtualReadinessOptions = {}): ReadinessSource {
  if (typeof (fds as Partial<VirtualFds> | null)?.onChange !== "function") throw new InvalidArgumentError("fds", fds, "a VirtualFds");
  const perInstant = options.maxPassesPerInstant ?? 1000;
  if (!Number.isInteger(perInstant) || perInstant < 1) throw new OutOfRangeError("options.maxPassesPerInstant", perInstant, "an integer >= 1");
  const poller = new VirtualPoller(fds);
  let target: ReadinessTarget | undefined;
  let scheduler: SchedulerLike | undefined;
  let stopListening: (() => void) | undefined;
  /** The pass scheduled next, and when it runs (one pending pass at most). */
  let pending: Subscription | undefined;
  let pendingAt = 0;
  let iteration: Subscription | undefined;
  /** The instant of the latest pass and how many passes it has had. */
  let instant = NaN;
  let passes = 0;

  function requestPass(delay: number): void {
    if (scheduler === undefined) return;
    const at = scheduler.now() + delay;
    if (pending !== undefined) {
      if (pendingAt <= at) return;
      pending.unsubscribe();
    }
    pendingAt = at;
    pending = scheduler.schedule(pass, delay);
  }

  function pass(): void {
    pending = undefined;
    const now = (scheduler as SchedulerLike).now();
    if (now !== instant) {
      instant = now;
      passes = 0;
    }
    passes++;
    const n = poller.poll();
    if (n === 0) return;
    target?.ready(poller.fds, poller.events, n);
    // Level-triggered: whatever is still ready is reported again on the next iteration. (A change
    // made by the callbacks has already asked for a pass at this instant.)
    requestPass(1);
  }

  function iterate(): void {
    iteration = undefined;
    target?.iteration();
  }

  return {
    start(to, on) {
      target = to;
      scheduler = on;
      stopListening = fds.onChange(() => requestPass(passes >= perInstant && on.now() === instant ? 1 : 0));
    },
    watch(fd, mask) {
      poller.watch(fd, mask);
      // The descriptor may be ready already, or not open (reported as ERROR by the next pass).
      if (mask !== 0) requestPass(0);
    },
    requestIteration() {
      if (iteration === undefined && scheduler !== undefined) iteration = scheduler.schedule(iterate, 1);
    },
    close() {
      pending?.unsubscribe();
      iteration?.unsubscribe();
      stopListening?.();
      pending = iteration = stopListening = target = scheduler = undefined;
    },
  };
}
