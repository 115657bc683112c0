import { closeSync, readSync, writeSync } from "node:fs";
import { socketpair } from "@evloop/native";

/** One implementation under test, set up on a given set of descriptors. */
export interface Contender {
  readonly name: string;
  setup(pairs: Pairs): Instance | Promise<Instance>;
}

/** A contender ready to run rounds. */
export interface Instance {
  /** Writes one byte to the peers of `targets` and settles once each target's callback has read its byte. */
  round(targets: readonly number[]): void | Promise<void>;
  close(): void | Promise<void>;
}

/** `n` watched descriptors: both ends of n/2 socketpairs, so the limit on open files is not doubled. */
export interface Pairs {
  readonly watched: readonly number[];
  /** `peer[fd]` is the other end of `fd`'s socketpair: writing there makes `fd` readable. */
  readonly peer: Int32Array;
  /** Set by a contender that hands the descriptors to something that closes them (net.Socket). */
  owned: boolean;
  close(): void;
}

export function makePairs(n: number): Pairs {
  const watched: number[] = [];
  const peer = new Int32Array(65536);
  for (let i = 0; i < n; i += 2) {
    const [a, b] = socketpair();
    watched.push(a, b);
    peer[a] = b;
    peer[b] = a;
  }
  const pairs: Pairs = {
    watched,
    peer,
    owned: false,
    close() {
      if (!pairs.owned) for (const fd of watched) closeSync(fd);
    },
  };
  return pairs;
}

const ONE = Buffer.from([1]);
const SCRATCH = Buffer.alloc(64);

/** Makes each target readable. */
export function writeTargets(pairs: Pairs, targets: readonly number[]): void {
  for (const fd of targets) writeSync(pairs.peer[fd] as number, ONE, 0, 1);
}

/** What every callback does with its event: read the byte. */
export function readByte(fd: number): void {
  readSync(fd, SCRATCH, 0, 64, null);
}

/** A promise the callbacks settle when the round's count of reads is reached. */
export class RoundLatch {
  private remaining = 0;
  private resolve: (() => void) | undefined;
  arm(k: number): Promise<void> {
    this.remaining = k;
    return new Promise((resolve) => (this.resolve = resolve));
  }
  hit(n = 1): void {
    this.remaining -= n;
    if (this.remaining === 0) this.resolve?.();
  }
  get done(): boolean {
    return this.remaining <= 0;
  }
}

/** Per-round time in nanoseconds over `rounds` rounds of `k` targets, round-robin over the watched descriptors. */
export async function timeRounds(instance: Instance, pairs: Pairs, k: number, rounds: number, cursor: { at: number }): Promise<number> {
  const n = pairs.watched.length;
  const plans: number[][] = [];
  for (let r = 0; r < rounds; r++) {
    const targets: number[] = [];
    for (let i = 0; i < k; i++) targets.push(pairs.watched[cursor.at++ % n] as number);
    plans.push(targets);
  }
  const start = process.hrtime.bigint();
  for (const targets of plans) await instance.round(targets);
  return Number(process.hrtime.bigint() - start) / rounds;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
