/**
 * Records keyed by ids that are positive integers and never reused, at the price of an array
 * index: an id is a slot number plus that slot's generation, which grows each time the slot is
 * taken again. Faster than a Map from counter to record, which costs as much as a whole timer
 * heap operation at 10,000 records (see docs/performance.md).
 */
const SLOTS = 2 ** 24;

export class SlotTable<T> {
  private readonly records: (T | undefined)[] = [];
  private readonly generations: number[] = [];
  private readonly vacant: number[] = [];
  private live = 0;

  /** How many records the table holds. */
  get size(): number {
    return this.live;
  }

  /** Stores `record` and returns its new id. */
  add(record: T): number {
    let slot = this.vacant.pop();
    if (slot === undefined) {
      slot = this.records.length;
      if (slot >= SLOTS) throw new RangeError(`more than ${SLOTS} live records`);
      this.generations.push(0);
    }
    this.records[slot] = record;
    this.live++;
    return (this.generations[slot] as number) * SLOTS + slot + 1;
  }

  /** The record with this id, or `undefined` once it was deleted (or for any other value). */
  get(id: number): T | undefined {
    const slot = (id - 1) % SLOTS;
    if (!(slot >= 0) || !Number.isInteger(id)) return undefined;
    return this.generations[slot] === (id - 1 - slot) / SLOTS ? this.records[slot] : undefined;
  }

  /** Deletes the record with this id; returns it, or `undefined` when there was none. */
  delete(id: number): T | undefined {
    const record = this.get(id);
    if (record === undefined) return undefined;
    const slot = (id - 1) % SLOTS;
    this.records[slot] = undefined;
    this.generations[slot] = (this.generations[slot] as number) + 1;
    this.vacant.push(slot);
    this.live--;
    return record;
  }

  /** Every live record, in slot order. */
  *values(): IterableIterator<T> {
    for (const record of this.records) if (record !== undefined) yield record;
  }
}
