/**
 * What the heap needs of an entry (the kernel's lists of timers): when it is due, its order among
 * entries due at the same time, and its place.
 */
export interface HeapEntry {
  due: number;
  readonly seq: number;
  /** Index in the heap, or -1 when the entry is not in it. */
  heapIndex: number;
}

function before(a: HeapEntry, b: HeapEntry): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}

/**
 * A binary min-heap ordered by due time, then registration order, whose entries know their
 * index, so removing or rescheduling any entry costs O(log n) and leaves nothing stale behind.
 */
export class TimerHeap<T extends HeapEntry> {
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  /** The earliest entry, or `undefined`. */
  peek(): T | undefined {
    return this.items[0];
  }

  /** Inserts an entry that is not in the heap, or moves one that is to its new `due`. */
  set(entry: T): void {
    if (entry.heapIndex < 0) {
      entry.heapIndex = this.items.length;
      this.items.push(entry);
    }
    this.siftUp(entry.heapIndex);
    this.siftDown(entry.heapIndex);
  }

  /** Takes an entry out of the heap; a no-op when it is not in it. */
  delete(entry: T): void {
    const i = entry.heapIndex;
    if (i < 0) return;
    entry.heapIndex = -1;
    const last = this.items.pop() as T;
    if (i === this.items.length) return;
    this.items[i] = last;
    last.heapIndex = i;
    this.siftUp(i);
    this.siftDown(last.heapIndex);
  }

  private siftUp(i: number): void {
    const items = this.items;
    const entry = items[i] as T;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent] as T;
      if (!before(entry, p)) break;
      items[i] = p;
      p.heapIndex = i;
      i = parent;
    }
    items[i] = entry;
    entry.heapIndex = i;
  }

  private siftDown(i: number): void {
    const items = this.items;
    const n = items.length;
    const entry = items[i] as T;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && before(items[right] as T, items[child] as T)) child = right;
      const c = items[child] as T;
      if (!before(c, entry)) break;
      items[i] = c;
      c.heapIndex = i;
      i = child;
    }
    items[i] = entry;
    entry.heapIndex = i;
  }
}
