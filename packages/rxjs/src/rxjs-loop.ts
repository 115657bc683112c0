import { InvalidArgumentError, assertOptionalCallback, type EventLoopImpl, type LoopOptions } from "@evloop/core";
import { contractOf, createKernel, type Registrations } from "@evloop/core/kernel";
import { Observable, Subject, asyncScheduler, config, type SchedulerAction, type SchedulerLike, type Subscription } from "rxjs";
import { nativeReadiness } from "./native-readiness.ts";
import type { ReadinessSource } from "./readiness-source.ts";

/** Options of {@link createRxjsLoop}. */
export interface RxjsLoopOptions extends LoopOptions {
  /**
   * Where timers run and what the loop's clock is (`scheduler.now()`): `asyncScheduler` by
   * default; a `TestScheduler` or `VirtualTimeScheduler` for tests on virtual time. It must run
   * work later, never inside `schedule()` (so not `queueScheduler`).
   */
  readonly scheduler?: SchedulerLike;
  /**
   * Where descriptors' readiness comes from: `nativeReadiness()` (real descriptors on Node's
   * loop) by default; `virtualReadiness(fds)` for virtual descriptors in tests. A source serves
   * one loop.
   */
  readonly readiness?: ReadinessSource;
}

/** The contract served by an RxJS scheduler (timers) and a {@link ReadinessSource} (descriptors). */
export interface RxjsLoop extends EventLoopImpl {
  /** The scheduler the loop's timers run on. */
  readonly scheduler: SchedulerLike;
  /** What the loop holds right now. */
  registrations(): Registrations;
  /**
   * What the loop holds, as it changes: like a `BehaviorSubject`, it gives the current snapshot
   * on subscription, then a new one after every call that may have changed the watches or timers
   * (and after a pass in which a callback removed its watch by returning `-1`); it completes when
   * the loop closes. Snapshots are made only while someone subscribes. For dashboards, and for
   * tests that assert what a driver registered.
   */
  readonly registrations$: Observable<Registrations>;
  /**
   * Removes every watch and timer, cancels the loop's scheduled work and closes its readiness
   * source. Free callbacks run before it returns, or, when it is called from one of the loop's
   * callbacks, at the end of that pass.
   */
  close(): void;
}

const inUse = new WeakSet<ReadinessSource>();

/**
 * Reports what a pass threw with no `onError` to take it, the way RxJS reports errors nobody
 * handles: to `config.onUnhandledError` when set, else as an uncaught exception. Never by throwing
 * into the scheduler: an RxJS scheduler whose action throws drops every other queued action.
 */
function raise(error: unknown): void {
  const report = config.onUnhandledError;
  if (report) {
    try {
      report(error);
      return;
    } catch (failure) {
      error = failure;
    }
  }
  queueMicrotask(() => {
    throw error;
  });
}

/**
 * Serves the contract with timers on an RxJS scheduler and descriptors from a readiness source,
 * on the kernel every evloop loop shares. One scheduler action is armed for the earliest timer at
 * a time; a timer that is due at once (`0` ms, or late) fires on the readiness source's next
 * iteration instead, once per iteration. Without `onError`, what callbacks threw goes to RxJS's
 * `config.onUnhandledError`, else is raised as an uncaught exception (from a microtask).
 *
 * ```ts
 * registerEventImpl(createRxjsLoop()); // asyncScheduler, real descriptors
 * const loop = createRxjsLoop({ scheduler: testScheduler, readiness: virtualReadiness(fds) }); // a test
 * ```
 */
export function createRxjsLoop(options: RxjsLoopOptions = {}): RxjsLoop {
  const scheduler = options.scheduler ?? asyncScheduler;
  if (typeof scheduler?.schedule !== "function" || typeof scheduler.now !== "function")
    throw new InvalidArgumentError("options.scheduler", scheduler, "an RxJS SchedulerLike, with now() and schedule()");
  assertOptionalCallback(options.onError, "options.onError");
  const readiness = options.readiness ?? nativeReadiness();
  for (const method of ["watch", "start", "requestIteration", "close"] as const) {
    if (typeof readiness?.[method] !== "function") throw new InvalidArgumentError("options.readiness", readiness, `a ReadinessSource with a ${method}() method`);
  }
  if (inUse.has(readiness)) throw new InvalidArgumentError("options.readiness", readiness, "a ReadinessSource no other loop uses");
  inUse.add(readiness);

  const now = () => scheduler.now();
  /** Cancels the armed timer action. */
  let armed: Subscription | undefined;
  /** The timer action running now: re-arming it from its own work lets an AsyncAction keep its interval. */
  let running: SchedulerAction<void> | undefined;

  // The scheduler hands the running action in as `this`; fireFrom keeps it for arm().
  function fire(this: SchedulerAction<void>): void {
    fireFrom(this);
  }
  function fireFrom(action: SchedulerAction<void>): void {
    running = action;
    try {
      kernel.dispatchTimers(now());
    } catch (error) {
      raise(error);
    } finally {
      running = undefined;
    }
  }
  function arm(delay: number): void {
    const action = running;
    running = undefined;
    if (action !== undefined) armed = action.schedule(undefined, delay);
    else {
      armed?.unsubscribe();
      armed = scheduler.schedule(fire, delay);
    }
  }
  function disarm(): void {
    running = undefined;
    armed?.unsubscribe();
    armed = undefined;
  }

  const kernel = createKernel(
    {
      watchFd: (fd, mask) => readiness.watch(fd, mask),
      armTimer(deadline) {
        if (deadline === Infinity) return disarm();
        // Scheduler delays are whole time units: round up, so a timer never fires before it is due.
        const delay = Math.ceil(deadline - now());
        if (delay > 0) return arm(delay);
        // Due at once (a 0 timer, or a late one): a delay-0 action re-armed from its own work would
        // run again at the same instant forever on virtual time, and on asyncScheduler only once
        // per millisecond however fast the loop iterates. Fire once per iteration instead.
        disarm();
        readiness.requestIteration();
      },
      requestFlush: () => readiness.requestIteration(),
    },
    // Every change the kernel makes (a call, a callback's -1) reaches registrations$.
    { now, onError: options.onError, onChange: () => changed() },
  );

  const changes = new Subject<Registrations>();
  let emitting = false;
  let again = false;
  /** Set while close() empties the loop: subscribers get the empty snapshot once, at the end. */
  let closing = false;
  function changed(): void {
    if (!changes.observed || closing) return;
    // A subscriber that changes the loop from its handler gets the new snapshot after every
    // subscriber got the current one, so nobody sees them out of order.
    if (emitting) {
      again = true;
      return;
    }
    emitting = true;
    try {
      do {
        again = false;
        changes.next(kernel.registrations());
      } while (again);
    } finally {
      emitting = false;
    }
  }

  readiness.start(
    {
      ready(fds, events, count) {
        try {
          kernel.dispatchHandles(fds, events, count);
        } catch (error) {
          raise(error);
        }
      },
      iteration() {
        try {
          // Fires the timers due now, runs free callbacks: what the iteration was asked for.
          kernel.flush();
        } catch (error) {
          raise(error);
        }
      },
    },
    scheduler,
  );

  return {
    scheduler,
    ...contractOf(kernel),
    registrations: kernel.registrations,
    registrations$: new Observable<Registrations>((subscriber) => {
      // Join first, so a change made by the subscriber's own handler of the snapshot reaches it.
      const subscription = changes.subscribe(subscriber);
      subscriber.next(kernel.registrations());
      return subscription;
    }),
    close() {
      if (kernel.closed) return;
      closing = true;
      try {
        kernel.close();
      } finally {
        disarm();
        readiness.close();
        closing = false;
        changed();
        changes.complete();
      }
    },
  };
}
