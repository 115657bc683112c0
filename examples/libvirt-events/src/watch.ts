// A Node application watching the real libvirt: Node's own loop serves libvirt's watches and
// timers, and the domain lifecycle events arrive as an RxJS observable. Meanwhile the program
// destroys and starts the domain, and prints each event as it arrives.
import { describeDomainEvent, type DomainLifecycleEvent } from "@evloop/core";
import { createLibuvLoop } from "@evloop/libuv";
import { openConnection, registerLibvirtEventImpl, unregisterLibvirtEventImpl } from "@evloop/libvirt";
import { fromNotifications, ofDomain } from "@evloop/rxjs";
import { firstValueFrom, take, tap, toArray } from "rxjs";

/** Options of {@link watchDomainEvents}. */
export interface WatchOptions {
  /** The libvirt URI (default `test:///default`: libvirt's test driver, in process). */
  readonly uri?: string;
  /** The domain to destroy and start (default `test`, the test driver's running domain). */
  readonly domain?: string;
  /** How many destroy/start cycles (default 2). */
  readonly cycles?: number;
  /** The pause before each action, in milliseconds (default 50). */
  readonly pauseMs?: number;
  /** Where lines go (default `console.log`). */
  readonly print?: (line: string) => void;
}

/** One event as a line: `test      STOPPED   DESTROYED`. */
export function formatEvent(event: DomainLifecycleEvent): string {
  const [type, detail] = describeDomainEvent(event.type, event.detail);
  return `${event.name.padEnd(9)} ${type.padEnd(9)} ${detail}`;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Watches `domain`'s lifecycle events on `uri` while destroying and starting it `cycles` times;
 * resolves with the events once all `2 × cycles` arrived, after closing the connection and the
 * loop.
 */
export async function watchDomainEvents(options: WatchOptions = {}): Promise<DomainLifecycleEvent[]> {
  const { uri = "test:///default", domain = "test", cycles = 2, pauseMs = 50, print = console.log } = options;

  // Node's own loop answers libvirt's virEventRegisterImpl.
  const loop = createLibuvLoop();
  registerLibvirtEventImpl(loop);
  const conn = openConnection(uri);
  try {
    // The events as an observable: printed as they arrive, collected until there are 2 × cycles.
    // take() then unsubscribes, and with the last subscriber gone the connection deregisters
    // libvirt's callback, so libvirt's event timer leaves the loop.
    const events = firstValueFrom(
      fromNotifications(conn).pipe(
        ofDomain(domain),
        tap((event) => print(formatEvent(event))),
        take(cycles * 2),
        toArray(),
      ),
    );

    const dom = conn.lookupDomain(domain);
    print(`watching ${dom.name} (${dom.uuidString}) on ${uri}`);
    for (let i = 0; i < cycles; i++) {
      await sleep(pauseMs);
      dom.destroy();
      await sleep(pauseMs);
      dom.create();
    }
    return await events;
  } finally {
    conn.close();
    // Closing the loop runs the free callbacks libvirt is still owed, so libvirt holds nothing on
    // it and it can be unregistered.
    loop.close();
    unregisterLibvirtEventImpl();
  }
}
