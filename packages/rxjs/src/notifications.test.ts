import { DomainEventType, createNotifier, domainLifecycleEvent, type DomainLifecycleEvent } from "@evloop/core";
import { config, from, map, type InteropObservable } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import { fromNotifications, ofDomain, ofType } from "./notifications.ts";

const { STARTED, STOPPED, SUSPENDED } = DomainEventType;
const WEB = "4dea22b3-1d52-d8f3-2516-782e98ab3fa0";
const DB = "4dea22b3-1d52-d8f3-2516-782e98ab3fa1";
const event = (type: DomainEventType, name: string, uuid: string) => domainLifecycleEvent({ type, detail: 0, name, uuid });

afterEach(() => {
  config.onUnhandledError = null;
});

describe("notifications", () => {
  it("turn a connection's notifications into an Observable, and unsubscribing leaves the source", () => {
    const notifications = createNotifier<DomainLifecycleEvent>();
    const seen: string[] = [];
    const subscription = fromNotifications({ notifications })
      .pipe(map((e) => e.name))
      .subscribe((name) => seen.push(name));
    expect(notifications.observers).toBe(1);
    notifications.emit(event(STARTED, "web", WEB));
    subscription.unsubscribe();
    notifications.emit(event(STOPPED, "web", WEB));
    expect(seen).toEqual(["web"]);
    expect(notifications.observers).toBe(0);
  });

  it("pass a source's completion and error through", () => {
    const ended = createNotifier<number>();
    const failed = createNotifier<number>();
    const outcomes: unknown[] = [];
    fromNotifications(ended).subscribe({ complete: () => outcomes.push("complete") });
    fromNotifications(failed).subscribe({ error: (error) => outcomes.push(error) });
    ended.complete();
    const boom = new Error("connection lost");
    failed.error(boom);
    expect(outcomes).toEqual(["complete", boom]);
  });

  it("pick lifecycle events by type, narrowing the type, and by domain name or uuid in any form", () => {
    const notifications = createNotifier<DomainLifecycleEvent>();
    const transitions: string[] = [];
    const db: string[] = [];
    fromNotifications(notifications)
      .pipe(ofType(STARTED, STOPPED))
      .subscribe((e) => {
        const type: typeof STARTED | typeof STOPPED = e.type;
        transitions.push(`${type} ${e.name}`);
      });
    fromNotifications(notifications)
      .pipe(ofDomain("web", DB.toUpperCase().replaceAll("-", "")))
      .subscribe((e) => db.push(`${e.type} ${e.name}`));
    for (const e of [event(STARTED, "web", WEB), event(SUSPENDED, "db", DB), event(STOPPED, "cache", WEB.replace("a0", "ff"))]) notifications.emit(e);
    expect(transitions).toEqual([`${STARTED} web`, `${STOPPED} cache`]);
    expect(db).toEqual([`${STARTED} web`, `${SUSPENDED} db`]);
  });

  it("keep delivering to other subscribers when one throws", async () => {
    const unhandled: unknown[] = [];
    config.onUnhandledError = (error) => void unhandled.push(error);
    const notifications = createNotifier<number>();
    const boom = new Error("subscriber bug");
    fromNotifications(notifications).subscribe(() => {
      throw boom;
    });
    const seen: number[] = [];
    fromNotifications(notifications).subscribe((n) => seen.push(n));
    notifications.emit(1);
    notifications.emit(2);
    expect(seen).toEqual([1, 2]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(unhandled).toEqual([boom, boom]);
  });

  it("refuse what is not a notification source; RxJS's own from() takes a notifier too", () => {
    expect(() => fromNotifications({} as never)).toThrow(expect.objectContaining({ code: "ERR_EVLOOP_INVALID_ARG", argument: "source" }));
    expect(() => ofDomain(42 as unknown as string)).toThrow(expect.objectContaining({ argument: "domains[0]" }));
    const notifications = createNotifier<number>();
    const seen: number[] = [];
    from(notifications as unknown as InteropObservable<number>).subscribe((n) => seen.push(n));
    notifications.emit(7);
    expect(seen).toEqual([7]);
  });
});
