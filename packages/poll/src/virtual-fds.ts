import { HandleEvent, InvalidArgumentError, OutOfRangeError, assertFd, type HandleEvents } from "@evloop/core";

/** Why a virtual descriptor operation failed, with the errno name a real descriptor would give. */
export class VirtualFdError extends Error {
  /** `EBADF` (not open), `EPIPE` (peer closed), `EAGAIN` (would block) or `EINVAL` (wrong end). */
  readonly code: "EBADF" | "EPIPE" | "EAGAIN" | "EINVAL";
  /** The descriptor concerned. */
  readonly fd: number;
  constructor(code: VirtualFdError["code"], fd: number, syscall: string) {
    super(`${code}: ${syscall} on virtual fd ${fd}`);
    this.name = "VirtualFdError";
    this.code = code;
    this.fd = fd;
  }
}

type Kind = "pipe-read" | "pipe-write" | "socket" | "file";

/** One open end. Data written to an end lands in its peer's `inbox`. */
class End {
  inbox: Uint8Array[] = [];
  buffered = 0;
  peer: End | undefined;
  open = true;
  constructor(
    readonly fd: number,
    readonly kind: Kind,
  ) {}
}

const encoder = new TextEncoder();

/** Options of {@link VirtualFds}. */
export interface VirtualFdsOptions {
  /** How many bytes an end buffers before it stops being WRITABLE (default 65536, like a Linux pipe). */
  readonly capacity?: number;
}

/**
 * Descriptors that live in memory, with readiness that follows their buffers as a real kernel's
 * does: an end with buffered data is READABLE; an end whose peer can take more is WRITABLE; when
 * the peer closes, a reading end gets READABLE|HANGUP (a read returns end of file) and a pipe's
 * writing end gets ERROR. Numbers are the lowest free ones from 3, so a closed number is reused
 * by the next descriptor, exactly the situation loops must survive.
 */
export class VirtualFds {
  private readonly table: (End | undefined)[] = [];
  private readonly capacity: number;
  private changes = 0;
  private listeners: readonly (() => void)[] = [];

  constructor(options: VirtualFdsOptions = {}) {
    const capacity = options.capacity ?? 65536;
    if (!Number.isInteger(capacity) || capacity < 1) throw new OutOfRangeError("options.capacity", capacity, "an integer >= 1");
    this.capacity = capacity;
  }

  /** Counts every write, read and close, so a loop can tell whether readiness may have changed. */
  get version(): number {
    return this.changes;
  }

  /**
   * Calls `listener` after every change that {@link VirtualFds.version} counts, so a loop driven
   * by someone else's clock (an RxJS scheduler) can look at readiness again instead of polling.
   * It runs synchronously inside the operation: note that readiness may have changed and look
   * later, do not read or write descriptors from it.
   * @returns a function that stops the calls.
   */
  onChange(listener: () => void): () => void {
    if (typeof listener !== "function") throw new InvalidArgumentError("listener", listener, "a function");
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** A pipe: `[readEnd, writeEnd]`. */
  pipe(): [number, number] {
    const r = this.allocate("pipe-read");
    const w = this.allocate("pipe-write");
    w.peer = r;
    r.peer = w;
    return [r.fd, w.fd];
  }

  /** Two connected stream sockets, each end readable and writable. */
  socketpair(): [number, number] {
    const a = this.allocate("socket");
    const b = this.allocate("socket");
    a.peer = b;
    b.peer = a;
    return [a.fd, b.fd];
  }

  /** A regular file: always ready, so no loop can watch it (loops refuse it, as libuv and epoll do). */
  file(): number {
    return this.allocate("file").fd;
  }

  /** Whether `fd` is open. */
  isOpen(fd: number): boolean {
    return this.table[fd] !== undefined;
  }

  /** Whether `fd` is a regular file. */
  isFile(fd: number): boolean {
    return this.table[fd]?.kind === "file";
  }

  /**
   * Writes to `fd`'s peer; returns how many bytes fitted (fewer than asked when the buffer fills,
   * `0` when it is full). Throws EPIPE when the peer is closed, EBADF when `fd` is not open.
   */
  write(fd: number, data: string | Uint8Array): number {
    const end = this.get(fd, "write");
    if (end.kind === "pipe-read") throw new VirtualFdError("EINVAL", fd, "write");
    if (end.kind === "file") return this.touch(typeof data === "string" ? encoder.encode(data).length : data.length);
    const peer = end.peer;
    if (peer === undefined || !peer.open) throw new VirtualFdError("EPIPE", fd, "write");
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    const n = Math.min(bytes.length, this.capacity - peer.buffered);
    if (n > 0) {
      peer.inbox.push(bytes.slice(0, n));
      peer.buffered += n;
    }
    return this.touch(n);
  }

  /**
   * Reads up to `max` buffered bytes. Returns an empty array at end of file (the peer closed and
   * everything was read); throws EAGAIN when nothing is buffered and the peer is open.
   */
  read(fd: number, max = Infinity): Uint8Array {
    const end = this.get(fd, "read");
    if (end.kind === "pipe-write") throw new VirtualFdError("EINVAL", fd, "read");
    if (end.kind === "file") return new Uint8Array(0);
    if (typeof max !== "number" || !(max > 0)) throw new InvalidArgumentError("max", max, "a positive number");
    if (end.buffered === 0) {
      if (end.peer?.open) throw new VirtualFdError("EAGAIN", fd, "read");
      return new Uint8Array(0);
    }
    const n = Math.min(end.buffered, max);
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const chunk = end.inbox[0] as Uint8Array;
      const take = Math.min(chunk.length, n - at);
      out.set(chunk.subarray(0, take), at);
      at += take;
      if (take === chunk.length) end.inbox.shift();
      else end.inbox[0] = chunk.subarray(take);
    }
    end.buffered -= n;
    this.touch(n);
    return out;
  }

  /** Closes `fd`; its number is free for the next descriptor. Throws EBADF when it is not open. */
  close(fd: number): void {
    const end = this.get(fd, "close");
    end.open = false;
    end.inbox = [];
    end.buffered = 0;
    this.table[fd] = undefined;
    this.touch(0);
  }

  /**
   * The events `fd` would report to poll(2) now: READABLE, WRITABLE, HANGUP and ERROR bits, or
   * `ERROR` alone when `fd` is not open.
   */
  readiness(fd: number): HandleEvents {
    const end = this.table[fd];
    if (end === undefined) return HandleEvent.ERROR;
    if (end.kind === "file") return HandleEvent.READABLE | HandleEvent.WRITABLE;
    const peerOpen = end.peer?.open === true;
    let events = 0;
    if (end.kind !== "pipe-write" && (end.buffered > 0 || !peerOpen)) events |= HandleEvent.READABLE;
    if (end.kind !== "pipe-read" && peerOpen && (end.peer as End).buffered < this.capacity) events |= HandleEvent.WRITABLE;
    if (!peerOpen) events |= end.kind === "pipe-write" ? HandleEvent.ERROR : HandleEvent.HANGUP;
    return events;
  }

  /** The identity of what `fd` refers to now, to notice a number that was closed and reused. */
  identity(fd: number): object | undefined {
    return this.table[fd];
  }

  private allocate(kind: Kind): End {
    let fd = 3;
    while (this.table[fd] !== undefined) fd++;
    const end = new End(fd, kind);
    this.table[fd] = end;
    this.touch(0);
    return end;
  }

  private get(fd: number, syscall: string): End {
    assertFd(fd);
    const end = this.table[fd];
    if (end === undefined) throw new VirtualFdError("EBADF", fd, syscall);
    return end;
  }

  private touch(n: number): number {
    this.changes++;
    for (const listener of this.listeners) listener();
    return n;
  }
}
