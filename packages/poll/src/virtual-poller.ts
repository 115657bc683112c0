import { HandleEvent, UnpollableDescriptorError, type HandleEvents } from "@evloop/core";
import type { VirtualFds } from "./virtual-fds.ts";

interface Interest {
  mask: HandleEvents;
  /** What the number referred to when the watch began; a different one means it was closed (and maybe reused). */
  identity: object | undefined;
  /** ERROR was reported for a descriptor that is gone; it is not reported again (no busy loop). */
  reported: boolean;
}

/**
 * Watches virtual descriptors the way poll(2) watches real ones: `watch` sets the interest in a
 * descriptor, `poll` lists what is ready now, in the order the descriptors were first watched.
 * A descriptor that is not open, or was closed under the watch, is reported once as ERROR.
 * Any loop can use it as its readiness source in tests.
 */
export class VirtualPoller {
  private readonly interests = new Map<number, Interest>();
  /** The ready descriptors found by the last {@link VirtualPoller.poll}. */
  readonly fds: number[] = [];
  /** Their events, index for index. */
  readonly events: number[] = [];

  constructor(private readonly table: VirtualFds) {}

  /** Sets the events wanted on `fd` (`0` stops watching it). A regular file is refused with {@link UnpollableDescriptorError}. */
  watch(fd: number, mask: HandleEvents): void {
    if (mask === 0) {
      this.interests.delete(fd);
      return;
    }
    if (this.table.isFile(fd)) throw new UnpollableDescriptorError(fd, "EPERM");
    const identity = this.table.identity(fd);
    const known = this.interests.get(fd);
    // The same open descriptor keeps its interest; anything else (a new number, a number that now
    // names another descriptor, one already reported as ERROR) starts afresh, as a new
    // registration does on a real poller: a number that is still not open is reported again.
    if (known !== undefined && known.identity === identity && !known.reported) known.mask = mask;
    else this.interests.set(fd, { mask, identity, reported: false });
  }

  /** How many descriptors are watched. */
  get size(): number {
    return this.interests.size;
  }

  /** Fills {@link VirtualPoller.fds} and {@link VirtualPoller.events} with what is ready now; returns the count. */
  poll(): number {
    let n = 0;
    for (const [fd, interest] of this.interests) {
      let ready: HandleEvents;
      if (interest.identity === undefined || this.table.identity(fd) !== interest.identity) {
        if (interest.reported) continue;
        interest.reported = true;
        ready = HandleEvent.ERROR;
      } else ready = this.table.readiness(fd) & interest.mask;
      if (ready === 0) continue;
      this.fds[n] = fd;
      this.events[n] = ready;
      n++;
    }
    this.fds.length = n;
    this.events.length = n;
    return n;
  }
}
