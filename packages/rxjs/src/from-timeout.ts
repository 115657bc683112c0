import { OutOfRangeError, assertInterval, resolveEventImpl, type EventLoopImpl } from "@evloop/core";
import { Observable } from "rxjs";

/** Options of {@link fromTimeout}. */
export interface FromTimeoutOptions {
  /** The loop whose timer ticks; by default the registered one, looked up at each subscription. */
  readonly loop?: EventLoopImpl;
}

/**
 * Periodic ticks of one of the loop's timers: `0, 1, 2, …`, one every `intervalMs` milliseconds
 * of the loop's time (periodic without catching up, as the contract's timers), or once per loop
 * iteration with `0`. Each subscription adds its own timer and its unsubscription removes it,
 * exactly once; add `share()` to let several subscribers share one.
 *
 * @throws InvalidArgumentError or OutOfRangeError at once unless `intervalMs` is an integer >= 0.
 */
export function fromTimeout(intervalMs: number, options: FromTimeoutOptions = {}): Observable<number> {
  assertInterval(intervalMs);
  // -1 would add a disabled timer: an Observable that never emits.
  if (intervalMs < 0) throw new OutOfRangeError("intervalMs", intervalMs, ">= 0 (0 ticks on every loop iteration)");
  const { loop } = options;
  return new Observable<number>((subscriber) => {
    const impl = resolveEventImpl("fromTimeout", loop);
    let ticks = 0;
    const timer = impl.addTimeout(intervalMs, () => subscriber.next(ticks++));
    return () => void impl.removeTimeout(timer);
  });
}
