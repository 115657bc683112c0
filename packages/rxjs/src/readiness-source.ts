import type { HandleEvents } from "@evloop/core";
import type { SchedulerLike } from "rxjs";

/** What a {@link ReadinessSource} reports to the loop that started it. */
export interface ReadinessTarget {
  /**
   * Descriptors became ready: `fds[i]` had `events[i]` (`HandleEvent` bits), for
   * `i < count`, each descriptor at most once. The arrays may be reused for the next batch.
   * Call it from a clean stack, never from inside {@link ReadinessSource.watch}.
   */
  ready(fds: ArrayLike<number>, events: ArrayLike<number>, count: number): void;
  /** One iteration of the source went by since {@link ReadinessSource.requestIteration}. */
  iteration(): void;
}

/**
 * Where a {@link createRxjsLoop} loop's descriptor readiness comes from, and what one iteration of
 * that loop is. `nativeReadiness()` serves real descriptors on Node's own loop;
 * `virtualReadiness(fds)` serves `@evloop/poll`'s virtual descriptors on the loop's scheduler,
 * for tests on virtual time. A source serves one loop.
 *
 * Readiness is level-triggered: a descriptor that stays ready is reported again on every
 * iteration until it is drained.
 */
export interface ReadinessSource {
  /**
   * Sets the events wanted on `fd` to `mask`, as `KernelBackend.watchFd` from
   * `@evloop/core/kernel` states it: `0` stops watching before returning (the caller may close
   * `fd` next); a descriptor that can never block is refused with `UnpollableDescriptorError`;
   * a descriptor that is not open does not throw but is reported once as ERROR in a later batch.
   */
  watch(fd: number, mask: HandleEvents): void;
  /** Starts reporting to `target`; called once, by the loop, with the loop's scheduler, before any other method. */
  start(target: ReadinessTarget, scheduler: SchedulerLike): void;
  /**
   * Asks for one {@link ReadinessTarget.iteration} call at the source's next iteration, after
   * that iteration's readiness. Requests made before it comes are merged into one call. The loop
   * fires due-now timers (`0` ms ones) there: once per iteration, so they starve nothing.
   */
  requestIteration(): void;
  /** Stops everything; no target method is called after it returns. */
  close(): void;
}
