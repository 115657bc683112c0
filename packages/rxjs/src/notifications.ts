import { InvalidArgumentError, formatUuid, parseUuid, type DomainEventType, type DomainLifecycleEvent, type NotifyingConnection, type Subscribable } from "@evloop/core";
import { Observable, filter, type MonoTypeOperatorFunction, type OperatorFunction } from "rxjs";

/**
 * A notification source as an RxJS Observable: a connection's `notifications` (anything
 * {@link NotifyingConnection}), or a core `Subscribable` such as a `Notifier` itself. Each
 * subscription subscribes to the source and its unsubscription unsubscribes; values, errors and
 * completion pass through. A subscriber that throws loses nothing for the others (RxJS reports
 * what it threw to `config.onUnhandledError`).
 */
export function fromNotifications<E>(source: NotifyingConnection<E> | Subscribable<E>): Observable<E> {
  const notifications = (source as Partial<NotifyingConnection<E>> | null)?.notifications ?? source;
  if (typeof (notifications as Partial<Subscribable<E>> | null)?.subscribe !== "function")
    throw new InvalidArgumentError("source", source, "a Subscribable or an object with a notifications Subscribable");
  return new Observable<E>((subscriber) => (notifications as Subscribable<E>).subscribe(subscriber));
}

/**
 * Keeps the lifecycle events of the given types, for example
 * `ofType(DomainEventType.STARTED, DomainEventType.STOPPED)`; the result's `type` is narrowed to them.
 */
export function ofType<T extends DomainEventType>(...types: readonly T[]): OperatorFunction<DomainLifecycleEvent, DomainLifecycleEvent & {
  /** One of the requested `types`. */
  readonly type: T;
}> {
  const wanted = new Set<DomainEventType>(types);
  return filter((event): event is DomainLifecycleEvent & { readonly type: T } => wanted.has(event.type));
}

/**
 * Keeps the lifecycle events of the given domains, each named by its name or its uuid (any case,
 * with or without dashes).
 */
export function ofDomain(...domains: readonly string[]): MonoTypeOperatorFunction<DomainLifecycleEvent> {
  const names = new Set<string>();
  const uuids = new Set<string>();
  for (const [i, domain] of domains.entries()) {
    if (typeof domain !== "string") throw new InvalidArgumentError(`domains[${i}]`, domain, "a domain name or uuid string");
    names.add(domain);
    try {
      uuids.add(formatUuid(parseUuid(domain)));
    } catch {
      // Not a uuid: a name only.
    }
  }
  return filter((event) => names.has(event.name) || uuids.has(event.uuidString));
}
