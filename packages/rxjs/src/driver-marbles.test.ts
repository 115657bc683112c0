import {
  DomainEventType,
  HandleEvent,
  createNotifier,
  describeDomainEvent,
  domainLifecycleEvent,
  type DomainLifecycleEvent,
  type EventLoopImpl,
  type NotifyingConnection,
} from "@evloop/core";
import type { Registrations } from "@evloop/core/kernel";
import { VirtualFds } from "@evloop/poll";
import { filter, map } from "rxjs";
import { TestScheduler } from "rxjs/testing";
import { describe, expect, it } from "vitest";
import { fromHandle } from "./from-handle.ts";
import { fromNotifications } from "./notifications.ts";
import { createRxjsLoop } from "./rxjs-loop.ts";
import { virtualReadiness } from "./virtual-readiness.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const UUIDS: Record<string, string> = { web: "4dea22b3-1d52-d8f3-2516-782e98ab3fa0", db: "4dea22b3-1d52-d8f3-2516-782e98ab3fa1" };

interface Monitor extends NotifyingConnection<DomainLifecycleEvent> {
  close(): void;
}

/**
 * The kind of driver the package is for, written against the contract only: it watches its
 * daemon socket for lifecycle lines ("STARTED web"), notifies each as a lifecycle event, and pings
 * the daemon every second. `io` reads and writes its descriptor (virtual ones here).
 */
function openMonitor(fd: number, io: Pick<VirtualFds, "read" | "write" | "close">, loop: EventLoopImpl): Monitor {
  const notifications = createNotifier<DomainLifecycleEvent>();
  let buffered = "";
  const watch = loop.addHandle(fd, HandleEvent.READABLE, () => {
    buffered += text(io.read(fd));
    for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
      const [type, name] = buffered.slice(0, nl).split(" ") as [keyof typeof DomainEventType, string];
      buffered = buffered.slice(nl + 1);
      notifications.emit(domainLifecycleEvent({ type: DomainEventType[type], detail: 0, name, uuid: UUIDS[name] as string }));
    }
  });
  const keepalive = loop.addTimeout(1000, () => void io.write(fd, "PING\n"));
  return {
    notifications,
    close() {
      loop.removeHandle(watch);
      loop.removeTimeout(keepalive);
      io.close(fd);
      notifications.complete();
    },
  };
}

describe("a driver tested with TestScheduler.run and virtual descriptors", () => {
  it("asserts its notifications, its keepalive and its registrations as marbles, with no real waiting", () => {
    const testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    const fds = new VirtualFds();
    const loop = createRxjsLoop({ scheduler: testScheduler, readiness: virtualReadiness(fds) });
    const started = performance.now();

    testScheduler.run(({ cold, expectObservable }) => {
      const [driverEnd, daemonEnd] = fds.socketpair();
      const monitor = openMonitor(driverEnd, fds, loop);
      // The daemon's side: the lines it sends, and when.
      cold("2s a 999ms b 999ms c", { a: "STARTED web\n", b: "STARTED db\n", c: "STOPPED web\n" }).subscribe((line) => fds.write(daemonEnd, line));
      testScheduler.schedule(() => monitor.close(), 4500);

      // Watches plus timers, first so that it sees the pings' watch being added.
      const held = (r: Registrations) => r.handles.length + r.timers.length;
      expectObservable(loop.registrations$.pipe(map(held))).toBe("(ab) 4496ms (cde)", { a: 2, b: 3, c: 2, d: 1, e: 0 });

      const events = fromNotifications(monitor).pipe(map((e) => describeDomainEvent(e.type, e.detail)[0] + " " + e.name));
      expectObservable(events).toBe("2s a 999ms b 999ms c 499ms |", { a: "STARTED web", b: "STARTED db", c: "STOPPED web" });

      // What reaches the daemon: a ping a second, then the hangup when the driver closes.
      const pings = fromHandle(daemonEnd, HandleEvent.READABLE, { loop, hangup: "complete" }).pipe(
        map(() => text(fds.read(daemonEnd))),
        filter((received) => received !== ""),
      );
      expectObservable(pings).toBe("1s p 999ms p 999ms p 999ms p 499ms |", { p: "PING\n" });
    });

    expect(loop.registrations()).toEqual({ handles: [], timers: [] });
    // 4.5 s of the driver's life took no real time.
    expect(performance.now() - started).toBeLessThan(1000);
    loop.close();
  });
});
