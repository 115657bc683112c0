import {
  DomainEventDetail,
  DomainEventType,
  DriverError,
  HandleEvent,
  InvalidArgumentError,
  OutOfRangeError,
  createNotifier,
  domainLifecycleEvent,
  type DomainLifecycleEvent,
  type Driver,
  type DriverContext,
  type ErrorHandler,
  type EventLoopImpl,
  type Notifier,
  type NotifyingConnection,
  type Subscription,
} from "@evloop/core";
import { describeExit, type DomainProcess, type ProcessExit, type Spawn } from "./child.ts";
import { DomainError, canonicalUuid, validateDefinition, type DomainDefinition, type ValidDefinition } from "./definition.ts";
import { spawnProcess } from "./spawn-process.ts";

/** A lifecycle event of the process driver: libvirt's, plus how the child ended for STOPPED and CRASHED. */
export interface ProcessLifecycleEvent extends DomainLifecycleEvent {
  /** The exit code or signal of the child, on STOPPED and CRASHED events. */
  readonly exit?: ProcessExit;
}

/** Where a domain is in its life. */
export type DomainState =
  /** Defined and not running. */
  | "shutoff"
  /** Its child is being spawned, or runs and has not written its first status line yet (see `ready`). */
  | "starting"
  /** Its child runs. */
  | "running"
  /** Its child is stopped with SIGSTOP. */
  | "paused"
  /** The driver asked its child to end and waits for it to. */
  | "stopping";

/** What {@link ProcessConnection.lookup} tells about a domain. */
export interface DomainInfo {
  /** The domain's name. */
  readonly name: string;
  /** The canonical uuid. */
  readonly uuid: string;
  /** Where the domain is in its life now. */
  readonly state: DomainState;
  /** Whether the daemon starts it at start-up. */
  readonly autostart: boolean;
  /** The child's process id while it runs (a simulated child has none). */
  readonly pid?: number;
  /** The last status line the child wrote to its monitor channel. */
  readonly status?: string;
  /** How the child ended the last time it ran. */
  readonly lastExit?: ProcessExit;
}

/** Options of {@link createProcessDriver}. */
export interface ProcessDriverOptions {
  /** The driver's name, under which it is registered and run: a non-empty string (default `"process"`). */
  readonly name?: string;
  /**
   * The domains the driver keeps from the start, as a hypervisor reads its configuration: they
   * raise no DEFINED event. Those with `autostart` are started when the driver starts up. An
   * array (default none).
   */
  readonly domains?: readonly DomainDefinition[];
  /**
   * How a domain's child is started: real child processes by default ({@link spawnProcess}),
   * {@link simulatedSpawn} for simulated ones on a virtual loop.
   */
  readonly spawn?: Spawn;
  /**
   * How long the driver's shutdown waits for a child to end after SIGTERM before it sends
   * SIGKILL, and then again before it gives up on it, in milliseconds of the loop's clock
   * (default 5000).
   */
  readonly shutdownTimeoutMs?: number;
  /**
   * Receives the failures nobody awaits: an autostarted domain that could not start, and what a
   * subscriber threw. A function; without it they are raised as uncaught exceptions from a
   * microtask.
   */
  readonly onError?: ErrorHandler;
}

/**
 * A connection to the process driver (the seed's `virConnectPtr`). Its `notifications` deliver
 * every lifecycle event of every domain while the connection is open: pass it to
 * `virConnectNotify(conn, cb)`, subscribe to it, or hand it to RxJS's `from()`. Domains are named
 * by name or uuid; a request that cannot be met throws a {@link DomainError} and changes nothing.
 */
export interface ProcessConnection extends NotifyingConnection<ProcessLifecycleEvent> {
  /** Defines a domain (DEFINED ADDED). A duplicate name or uuid, or a malformed definition, is refused. */
  define(definition: DomainDefinition): DomainInfo;
  /** Removes a domain that is shut off (UNDEFINED REMOVED). */
  undefine(domain: string): void;
  /**
   * Starts a shut-off domain's child; resolves once it is ready (see
   * {@link DomainDefinition.ready}) and STARTED BOOTED was delivered. Rejects with reason
   * `spawn-failed`, and raises no event, when the program cannot be executed or its child ends
   * before it is ready.
   */
  start(domain: string): Promise<DomainInfo>;
  /** Freezes a running domain's child with SIGSTOP (SUSPENDED PAUSED). */
  suspend(domain: string): void;
  /** Continues a paused domain's child with SIGCONT (RESUMED UNPAUSED). */
  resume(domain: string): void;
  /**
   * Asks a running or paused domain to shut down (SIGTERM); resolves with how the child ended,
   * once its STOPPED or CRASHED event was delivered. There is no time limit: {@link destroy} ends
   * a child that ignores the request.
   */
  shutdown(domain: string): Promise<ProcessExit>;
  /** Kills a domain's child with SIGKILL; resolves with how it ended, after its event (STOPPED DESTROYED). */
  destroy(domain: string): Promise<ProcessExit>;
  /** Tells about one domain. */
  lookup(domain: string): DomainInfo;
  /** Tells about every domain, in definition order. */
  list(): DomainInfo[];
  /** Closes the connection: its `notifications` complete. Domains keep running. */
  close(): void;
  /** Whether the connection is closed (by {@link close}, or by the driver's shutdown). */
  readonly closed: boolean;
}

/** The process driver: daemon-only, with `startup`, `shutdown` and `open`. */
export interface ProcessDriver extends Driver<ProcessConnection> {
  readonly daemonOnly: true;
  startup(context: DriverContext): void;
  shutdown(): Promise<void>;
  open(context: DriverContext): ProcessConnection;
}

/** One domain, with its child while it has one. */
interface Domain {
  definition: ValidDefinition;
  state: DomainState;
  child?: DomainProcess;
  /** While the driver watches the child's monitor channel: stops watching it and closes it. */
  release?: () => void;
  /** While a start waits for its spawn: settles once the child is watched, or could not be spawned. */
  spawning?: Promise<void>;
  /** While a started child has not become ready: reports it STARTED, at its first status line or at once. */
  becameReady?: () => void;
  /** Settles once the child's end was reported. */
  ended?: Promise<ProcessExit>;
  /** What the driver asked the running child to do, to tell a requested end from a crash. */
  asked: Set<"shutdown" | "destroy">;
  status?: string;
  lastExit?: ProcessExit;
}

const { READABLE, ERROR, HANGUP } = HandleEvent;

/** How a child's end reads as a lifecycle event. */
function endEvent(exit: ProcessExit, asked: ReadonlySet<"shutdown" | "destroy">): [DomainEventType, number] {
  if (exit.signal === "SIGKILL" && asked.has("destroy")) return [DomainEventType.STOPPED, DomainEventDetail.STOPPED.DESTROYED];
  if (exit.code === 0 || (exit.signal === "SIGTERM" && asked.has("shutdown"))) return [DomainEventType.STOPPED, DomainEventDetail.STOPPED.SHUTDOWN];
  // A signal nobody here sent, or a non-zero exit: the guest crashed.
  return [DomainEventType.CRASHED, DomainEventDetail.CRASHED.PANICKED];
}

/** `suspend` and `resume`: the state each needs, the signal it sends, the state it leads to, and its event. */
const PAUSING = {
  suspend: { from: "running", signal: "SIGSTOP", to: "paused", type: DomainEventType.SUSPENDED, detail: DomainEventDetail.SUSPENDED.PAUSED },
  resume: { from: "paused", signal: "SIGCONT", to: "running", type: DomainEventType.RESUMED, detail: DomainEventDetail.RESUMED.UNPAUSED },
} as const;

/** Checks the options of {@link createProcessDriver}; returns them with their defaults. */
function checkOptions(options: ProcessDriverOptions) {
  if (typeof options !== "object" || options === null) throw new InvalidArgumentError("options", options, "an object or undefined");
  const { name = "process", spawn = spawnProcess, shutdownTimeoutMs = 5000, onError, domains = [] } = options;
  if (typeof name !== "string" || name === "") throw new InvalidArgumentError("options.name", name, "a non-empty string");
  if (typeof spawn !== "function") throw new InvalidArgumentError("options.spawn", spawn, "a function");
  if (!Number.isInteger(shutdownTimeoutMs)) throw new InvalidArgumentError("options.shutdownTimeoutMs", shutdownTimeoutMs, "an integer");
  if (shutdownTimeoutMs < 0) throw new OutOfRangeError("options.shutdownTimeoutMs", shutdownTimeoutMs, ">= 0");
  if (onError !== undefined && typeof onError !== "function") throw new InvalidArgumentError("options.onError", onError, "a function or undefined");
  if (!Array.isArray(domains)) throw new InvalidArgumentError("options.domains", domains, "an array of domain definitions or undefined");
  const report: ErrorHandler =
    onError ??
    ((error) =>
      queueMicrotask(() => {
        throw error;
      }));
  return { name, spawn, shutdownTimeoutMs, report, domains };
}

/**
 * Creates a process driver: each domain is a child process (the built-in guest, or any
 * `command`), watched through the event contract only. The driver reads the child's monitor
 * channel with `addHandle` on the daemon's loop (no stream, no `'data'` listener), learns that the
 * child went away from the channel's HANGUP, and takes the exit code or signal from the process
 * record. A child that exits while its channel stays open (it forked, and a grandchild inherited
 * descriptor 3) ends its domain all the same: the driver reads what the child wrote, lets the
 * channel go, and reports the end from the record. It reports, with the domain's name and uuid:
 *
 * | event | when |
 * |---|---|
 * | DEFINED ADDED | `define` |
 * | STARTED BOOTED | the child is ready: it wrote its first status line, or runs when `ready` is `"spawn"` (`start`, or autostart) |
 * | SUSPENDED PAUSED, RESUMED UNPAUSED | `suspend` (SIGSTOP), `resume` (SIGCONT) |
 * | STOPPED SHUTDOWN | the child exited with code 0, or ended on the SIGTERM of `shutdown` |
 * | STOPPED DESTROYED | the child ended on the SIGKILL of `destroy` |
 * | CRASHED PANICKED | any other end: a non-zero exit, or a signal the driver did not send |
 * | UNDEFINED REMOVED | `undefine` |
 *
 * Every change of state raises exactly one event, in the order the changes happened. The driver is
 * daemon-only: `startup` (run by `startDaemon`) takes the daemon's loop and, from the loop's next
 * iteration, starts the autostart domains one after another, so an application that subscribes
 * right after `openDriver` sees them start. `shutdown` asks every running domain to shut down,
 * escalates to SIGKILL after `shutdownTimeoutMs`, waits for every end and reports it, then closes
 * the connections; a child that survives SIGKILL too is given up on (its channel is let go, and
 * the shutdown fails naming it).
 *
 * A bad option throws here: an {@link InvalidArgumentError} naming it (`options.onError`,
 * `options.domains`, …), or an {@link OutOfRangeError} for a negative `options.shutdownTimeoutMs`.
 * A bad definition among `options.domains` throws a {@link DomainError}.
 */
export function createProcessDriver(options: ProcessDriverOptions = {}): ProcessDriver {
  const { name: driverName, spawn, shutdownTimeoutMs, report, domains: initial } = checkOptions(options);

  const domains = new Map<string, Domain>();
  const byUuid = new Map<string, Domain>();
  const events = createNotifier<ProcessLifecycleEvent>({ onError: report });
  const connections = new Set<ProcessConnection>();
  /** The daemon's loop while the driver runs (from startup until its shutdown begins). */
  let loop: EventLoopImpl | undefined;
  /** The autostart sequence of the current run: its timer until it fires; `halted` by shutdown. */
  let autostart: { timer: number | undefined; halted: boolean } | undefined;

  const fail = (domain: string, reason: DomainError["reason"], message: string, cause?: unknown): DomainError =>
    new DomainError(driverName, domain, reason, message, cause === undefined ? undefined : { cause });

  function add(definition: unknown): Domain {
    const valid = validateDefinition(driverName, definition);
    if (domains.has(valid.name)) throw fail(valid.name, "duplicate-name", "a domain with this name is already defined");
    const other = byUuid.get(valid.uuid);
    if (other !== undefined) throw fail(valid.name, "duplicate-uuid", `uuid ${valid.uuid} belongs to domain "${other.definition.name}"`);
    const domain: Domain = { definition: valid, state: "shutoff", asked: new Set() };
    domains.set(valid.name, domain);
    byUuid.set(valid.uuid, domain);
    return domain;
  }
  for (const definition of initial) add(definition);

  function find(key: string): Domain {
    if (typeof key !== "string") throw fail(String(key), "no-such-domain", "a domain is named by its name or uuid, a string");
    const domain = domains.get(key) ?? byUuid.get(canonicalUuid(key) ?? "");
    if (domain === undefined) throw fail(key, "no-such-domain", "no domain has this name or uuid");
    return domain;
  }

  function emit(domain: Domain, type: DomainEventType, detail: number, exit?: ProcessExit): void {
    const { name, uuid } = domain.definition;
    const event = domainLifecycleEvent({ type, detail, name, uuid });
    events.emit(exit === undefined ? event : Object.freeze({ ...event, exit }));
  }

  function info(domain: Domain): DomainInfo {
    const { name, uuid, autostart } = domain.definition;
    return Object.freeze({
      name,
      uuid,
      state: domain.state,
      autostart,
      ...(domain.child?.pid === undefined ? {} : { pid: domain.child.pid }),
      ...(domain.status === undefined ? {} : { status: domain.status }),
      ...(domain.lastExit === undefined ? {} : { lastExit: domain.lastExit }),
    });
  }

  function running(name: string): EventLoopImpl {
    if (loop === undefined) throw fail(name, "not-running", `the driver is not running: start it with startDaemon() from @evloop/core/daemon`);
    return loop;
  }

  function expect(domain: Domain, request: string, ...states: DomainState[]): void {
    if (!states.includes(domain.state))
      throw fail(domain.definition.name, "invalid-state", `cannot ${request} a domain that is ${domain.state} (it must be ${states.join(" or ")})`);
  }

  /**
   * Watches the child's monitor channel, and reports the child's end once its process record has
   * it. The channel is let go at its HANGUP, the sign that the child is gone. When the exit comes
   * first (the loop has not turned since, or a process the child forked holds the channel open),
   * what the child wrote is read then, and the channel is let go: either way every status line
   * is read before the end is reported, and the end is reported once.
   */
  function watchMonitor(domain: Domain, child: DomainProcess, on: EventLoopImpl): Promise<ProcessExit> {
    const decoder = new TextDecoder();
    let partial = "";
    /** Takes everything buffered now (the loop is level-triggered); returns whether the channel is at its end. */
    const drain = (): boolean => {
      try {
        for (let chunk = child.read(); chunk !== null; chunk = child.read()) {
          if (chunk.length === 0) return true;
          const lines = (partial + decoder.decode(chunk, { stream: true })).split("\n");
          partial = lines.pop() ?? "";
          const last = lines.filter((line) => line !== "").pop();
          if (last !== undefined) {
            domain.status = last;
            domain.becameReady?.();
          }
        }
        return false;
      } catch {
        // A channel that cannot be read any more (ECONNRESET, …) is as good as hung up; what the
        // child did is in its process record. A failing child must not fail the loop.
        return true;
      }
    };
    let watch: number | undefined;
    const release = (): void => {
      if (watch === undefined) return;
      const removing = watch;
      watch = undefined;
      domain.release = undefined;
      try {
        on.removeHandle(removing);
      } finally {
        child.close();
      }
    };
    watch = on.addHandle(child.monitor, READABLE, (_watch, _fd, ready) => {
      // HANGUP is how a loop says the child's end closed; ERROR and end of stream mean the same
      // for a channel only the child writes to (which bits come is the system's choice).
      if (drain() || (ready & (HANGUP | ERROR)) !== 0) release();
    });
    domain.release = release;
    return child.exited.then((exit) => {
      if (watch !== undefined) {
        drain();
        release();
      }
      // A child that never became ready never STARTED: its end is its start's failure, not an event.
      const started = domain.state !== "starting";
      const [type, detail] = endEvent(exit, domain.asked);
      domain.state = "shutoff";
      domain.child = undefined;
      domain.ended = undefined;
      domain.becameReady = undefined;
      domain.asked.clear();
      domain.lastExit = exit;
      if (started) emit(domain, type, detail, exit);
      return exit;
    });
  }

  /** Spawns and watches the child; resolves once it is ready and STARTED was delivered. */
  async function start(domain: Domain): Promise<DomainInfo> {
    const { name, ready } = domain.definition;
    const on = running(name);
    expect(domain, "start", "shutoff");
    domain.state = "starting";
    domain.status = undefined;
    let spawned!: () => void;
    domain.spawning = new Promise<void>((resolve) => (spawned = resolve));
    let ended: Promise<ProcessExit>;
    try {
      let child: DomainProcess;
      try {
        child = await spawn(domain.definition);
      } catch (cause) {
        domain.state = "shutoff";
        const why = (cause as { code?: unknown }).code === "ENOENT" ? "its program was not found" : "its child could not be started";
        throw fail(name, "spawn-failed", `cannot start: ${why} (${(cause as Error).message})`, cause);
      }
      domain.child = child;
      try {
        ended = domain.ended = watchMonitor(domain, child, on);
      } catch (cause) {
        // The loop refused the channel: a child the driver cannot watch must not run unseen.
        child.kill("SIGKILL");
        child.close();
        domain.child = undefined;
        domain.state = "shutoff";
        throw fail(name, "spawn-failed", "cannot watch its monitor channel", cause);
      }
    } finally {
      domain.spawning = undefined;
      spawned();
    }
    // STARTED is reported where the child turns ready, which is always before its end is: the
    // monitor channel is read before an end is reported.
    const outcome = new Promise<{ started: DomainInfo } | { ended: ProcessExit }>((resolve) => {
      domain.becameReady = () => {
        domain.becameReady = undefined;
        // A shutdown or destroy asked for while it was starting is under way.
        domain.state = domain.asked.size > 0 ? "stopping" : "running";
        emit(domain, DomainEventType.STARTED, DomainEventDetail.STARTED.BOOTED);
        resolve({ started: info(domain) });
      };
      void ended.then((exit) => resolve({ ended: exit }));
    });
    if (ready === "spawn") domain.becameReady?.();
    const result = await outcome;
    if ("ended" in result) throw fail(name, "spawn-failed", `cannot start: its child ended before its first status line (${describeExit(result.ended)})`);
    return result.started;
  }

  /** Suspends or resumes a domain: one signal, one change of state, one event. */
  function pauseOrContinue(domain: Domain, request: keyof typeof PAUSING): void {
    const { from, signal, to, type, detail } = PAUSING[request];
    running(domain.definition.name);
    expect(domain, request, from);
    if (!domain.child?.kill(signal)) throw fail(domain.definition.name, "invalid-state", "its child has already exited; its end is being reported");
    domain.state = to;
    emit(domain, type, detail);
  }

  /**
   * Asks a running, paused or stopping domain's child to end; returns the promise of its reported
   * end. A second request of the same kind joins the first (one end, one event), and so does any
   * request to a child that has exited already: its end is on its way, and is what it is.
   */
  function stop(domain: Domain, how: "shutdown" | "destroy"): Promise<ProcessExit> {
    if (domain.ended === undefined) expect(domain, how, "running", "paused", "stopping");
    const { child, ended } = domain as Required<Pick<Domain, "child" | "ended">>;
    if (domain.asked.has(how)) return ended;
    const paused = domain.state === "paused";
    if (!child.kill(how === "destroy" ? "SIGKILL" : "SIGTERM")) return ended;
    // A stopped process keeps SIGTERM pending: continue it so it can act on it.
    if (how === "shutdown" && paused) child.kill("SIGCONT");
    domain.asked.add(how);
    // A child that is not ready yet stays "starting": its start fails when it ends (or, should it
    // become ready first, it is "stopping" from then on).
    if (domain.state !== "starting") domain.state = "stopping";
    return ended;
  }

  /**
   * Stops a domain for the daemon's shutdown: SIGTERM, SIGKILL after the timeout, then gives up
   * after another, letting its channel go so the daemon's loop is not held by a child it cannot end.
   */
  function stopWithin(domain: Domain, on: EventLoopImpl): Promise<void> {
    const ended = stop(domain, "shutdown");
    let deadlines = 0;
    return new Promise<void>((resolve, reject) => {
      const timer = on.addTimeout(shutdownTimeoutMs, () => {
        if (++deadlines === 1) {
          stop(domain, "destroy");
          return;
        }
        on.removeTimeout(timer);
        domain.release?.();
        reject(fail(domain.definition.name, "invalid-state", `its child did not end within ${shutdownTimeoutMs} ms of SIGTERM, nor of SIGKILL`));
      });
      void ended.then(() => {
        on.removeTimeout(timer);
        resolve();
      });
    });
  }

  /** A connection's shutdown or destroy: only while the driver runs (its own shutdown stops domains itself). */
  function request(domain: Domain, how: "shutdown" | "destroy"): Promise<ProcessExit> {
    running(domain.definition.name);
    return stop(domain, how);
  }

  function open(): ProcessConnection {
    if (loop === undefined) throw new DriverError(driverName, "is not running: start it with startDaemon() from @evloop/core/daemon");
    const notifications: Notifier<ProcessLifecycleEvent> = createNotifier({ onError: report });
    const forward: Subscription = events.subscribe((event) => notifications.emit(event));
    /** A request about one domain, named by `key`: refused while the connection is closed. */
    const checked = <A extends unknown[], R>(fn: (domain: Domain, ...args: A) => R) => {
      return (key: string, ...args: A): R => {
        if (notifications.closed) throw fail(String(key), "not-running", "the connection is closed");
        return fn(find(key), ...args);
      };
    };
    /** {@link checked}, for a request answered by a promise: a refusal rejects it instead of throwing. */
    const checkedAsync = <R>(fn: (domain: Domain) => Promise<R>) => {
      const call = checked(fn);
      return async (key: string): Promise<R> => call(key);
    };
    const connection: ProcessConnection = {
      notifications,
      define(definition) {
        if (notifications.closed) throw fail(String((definition as { name?: unknown })?.name), "not-running", "the connection is closed");
        const domain = add(definition);
        emit(domain, DomainEventType.DEFINED, DomainEventDetail.DEFINED.ADDED);
        return info(domain);
      },
      undefine: checked((domain) => {
        expect(domain, "undefine", "shutoff");
        domains.delete(domain.definition.name);
        byUuid.delete(domain.definition.uuid);
        emit(domain, DomainEventType.UNDEFINED, DomainEventDetail.UNDEFINED.REMOVED);
      }),
      start: checkedAsync(start),
      suspend: checked((domain) => pauseOrContinue(domain, "suspend")),
      resume: checked((domain) => pauseOrContinue(domain, "resume")),
      shutdown: checkedAsync((domain) => request(domain, "shutdown")),
      destroy: checkedAsync((domain) => request(domain, "destroy")),
      lookup: checked(info),
      list: () => [...domains.values()].map(info),
      close() {
        forward.unsubscribe();
        connections.delete(connection);
        notifications.complete();
      },
      get closed() {
        return notifications.closed;
      },
    };
    connections.add(connection);
    return connection;
  }

  return {
    name: driverName,
    daemonOnly: true,
    startup(context) {
      const on = context.loop;
      loop = on;
      const boot = [...domains.values()].filter((d) => d.definition.autostart);
      if (boot.length === 0) return;
      const run: NonNullable<typeof autostart> = { timer: undefined, halted: false };
      autostart = run;
      // From the loop, not from here: startup runs before any application could connect, and the
      // domains' STARTED events are for the applications that subscribe once the daemon is up.
      run.timer = on.addTimeout(0, async () => {
        on.removeTimeout(run.timer as number);
        run.timer = undefined;
        // One after another, in definition order, so their events come in that order too.
        for (const domain of boot) {
          if (run.halted || domain.state !== "shutoff" || domains.get(domain.definition.name) !== domain) continue;
          // A start the daemon's shutdown cut short is no failure worth reporting.
          await start(domain).catch((error: unknown) => run.halted || report(error));
        }
      });
    },
    async shutdown() {
      const on = loop;
      if (on === undefined) return;
      // From here on the driver takes no request and autostarts nothing more. A spawn in flight
      // is awaited, so that its child is stopped with the others.
      loop = undefined;
      if (autostart !== undefined) {
        autostart.halted = true;
        if (autostart.timer !== undefined) on.removeTimeout(autostart.timer);
        autostart = undefined;
      }
      await Promise.all([...domains.values()].map((d) => d.spawning));
      const active = [...domains.values()].filter((d) => d.ended !== undefined);
      const results = await Promise.allSettled(active.map((d) => stopWithin(d, on)));
      for (const connection of [...connections]) connection.close();
      const failures = results.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
      if (failures.length === 1) throw failures[0];
      if (failures.length > 1) throw new AggregateError(failures, `${failures.length} domains did not end`);
    },
    open,
  };
}
