import { TimerHeap, type HeapEntry } from "./timer-heap.ts";

/** What the queue needs of a timer; the link fields belong to the queue. */
export interface QueueEntry<T extends QueueEntry<T>> {
  /** When it is due. Change it only together with a {@link TimerQueue.set} call. */
  due: number;
  /** Registration order: among timers due at the same time, the lower fires first. */
  readonly seq: number;
  /** The list it is queued in; change it only together with a {@link TimerQueue.set} call. */
  intervalMs: number;
  /** The queue's: the list holding the entry, `undefined` while it is not queued. */
  list: TimerList<T> | undefined;
  /** The queue's: the neighbours in that list. */
  prev: T | undefined;
  next: T | undefined;
}

/** The timers of one interval, in due order (then registration order). */
export class TimerList<T extends QueueEntry<T>> implements HeapEntry {
  /** The head's `due` and `seq`: the list's place in the heap of lists. */
  due = 0;
  seq = 0;
  heapIndex = -1;
  head: T | undefined = undefined;
  tail: T | undefined = undefined;
  constructor(readonly intervalMs: number) {}
}

function before<T extends QueueEntry<T>>(a: T, b: T): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}

/** Empty lists kept for reuse before they are dropped (a map delete and set per timer costs). */
const SPARE_LISTS = 64;

/**
 * Timers ordered by due time, then registration order: one list per interval, as Node's own
 * timers keep them, and a heap of those lists keyed by their heads.
 *
 * A periodic timer that fires is due one interval later, which puts it at the end of its own
 * list: moving it costs two link changes and one sift among the lists (a handful), where a heap
 * of all timers sifts it through every level, touching a timer object at each, and those have
 * fallen out of the CPU cache between two wake-ups of an idle process. Out-of-order inserts
 * (a timer restarted, or rescheduled from late) walk back from the tail to their place.
 */
export class TimerQueue<T extends QueueEntry<T>> {
  private readonly lists = new Map<number, TimerList<T>>();
  private readonly heap = new TimerHeap<TimerList<T>>();
  private spare = 0;

  /** How many lists are kept, spare empty ones included (at most 64 of those). */
  get listCount(): number {
    return this.lists.size;
  }

  /** The earliest timer, or `undefined`. */
  peek(): T | undefined {
    return this.heap.peek()?.head;
  }

  /** Whether `entry` is queued. */
  has(entry: T): boolean {
    return entry.list !== undefined;
  }

  /** Queues an entry, or moves a queued one to its new `due` and `intervalMs`. */
  set(entry: T): void {
    const old = entry.list;
    if (old !== undefined) this.unlink(old, entry);
    const list = old !== undefined && old.intervalMs === entry.intervalMs ? old : this.listFor(entry.intervalMs);
    this.link(list, entry);
    if (old !== undefined && old !== list) this.settle(old);
    this.settle(list);
  }

  /** Takes an entry out; a no-op when it is not queued. */
  delete(entry: T): void {
    const list = entry.list;
    if (list === undefined) return;
    this.unlink(list, entry);
    this.settle(list);
  }

  private listFor(intervalMs: number): TimerList<T> {
    let list = this.lists.get(intervalMs);
    if (list === undefined) {
      list = new TimerList<T>(intervalMs);
      this.lists.set(intervalMs, list);
    } else if (list.head === undefined) this.spare--;
    return list;
  }

  private link(list: TimerList<T>, entry: T): void {
    let after = list.tail;
    while (after !== undefined && before(entry, after)) after = after.prev;
    const next = after === undefined ? list.head : after.next;
    entry.list = list;
    entry.prev = after;
    entry.next = next;
    if (after === undefined) list.head = entry;
    else after.next = entry;
    if (next === undefined) list.tail = entry;
    else next.prev = entry;
  }

  private unlink(list: TimerList<T>, entry: T): void {
    const { prev, next } = entry;
    if (prev === undefined) list.head = next;
    else prev.next = next;
    if (next === undefined) list.tail = prev;
    else next.prev = prev;
    entry.list = entry.prev = entry.next = undefined;
  }

  /** Puts `list` where its head says in the heap of lists, or out of it once empty. */
  private settle(list: TimerList<T>): void {
    const head = list.head;
    if (head === undefined) {
      if (list.heapIndex < 0) return;
      this.heap.delete(list);
      if (++this.spare > SPARE_LISTS) this.dropSpares();
      return;
    }
    if (list.heapIndex >= 0 && list.due === head.due && list.seq === head.seq) return;
    list.due = head.due;
    list.seq = head.seq;
    this.heap.set(list);
  }

  private dropSpares(): void {
    for (const [intervalMs, list] of this.lists) if (list.head === undefined) this.lists.delete(intervalMs);
    this.spare = 0;
  }
}
