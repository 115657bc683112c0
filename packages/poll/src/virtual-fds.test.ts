import { HandleEvent } from "@evloop/core";
import { describe, expect, it } from "vitest";
import { VirtualFdError, VirtualFds } from "./virtual-fds.ts";

const { READABLE, WRITABLE, ERROR, HANGUP } = HandleEvent;
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe("virtual descriptors", () => {
  it("number descriptors from 3 and reuse the lowest free number at once", () => {
    const fds = new VirtualFds();
    expect(fds.pipe()).toEqual([3, 4]);
    expect(fds.socketpair()).toEqual([5, 6]);
    fds.close(4);
    expect(fds.file()).toBe(4);
  });

  it("carry bytes through a pipe in order, and readiness follows the buffer", () => {
    const fds = new VirtualFds();
    const [r, w] = fds.pipe();
    expect(fds.readiness(r)).toBe(0);
    expect(fds.readiness(w)).toBe(WRITABLE);
    fds.write(w, "hello ");
    fds.write(w, new TextEncoder().encode("world"));
    expect(fds.readiness(r)).toBe(READABLE);
    expect(text(fds.read(r, 3))).toBe("hel");
    expect(text(fds.read(r))).toBe("lo world");
    expect(fds.readiness(r)).toBe(0);
    expect(() => fds.read(r)).toThrow(expect.objectContaining({ code: "EAGAIN" }));
  });

  it("stop being WRITABLE when the peer's buffer is full, and write only what fits", () => {
    const fds = new VirtualFds({ capacity: 4 });
    const [a, b] = fds.socketpair();
    expect(fds.write(a, "abcdef")).toBe(4);
    expect(fds.readiness(a) & WRITABLE).toBe(0);
    expect(fds.write(a, "x")).toBe(0);
    fds.read(b, 2);
    expect(fds.readiness(a) & WRITABLE).toBe(WRITABLE);
  });

  it("give a reading end READABLE|HANGUP and end of file when its peer closes", () => {
    const fds = new VirtualFds();
    const [r, w] = fds.pipe();
    fds.write(w, "last");
    fds.close(w);
    expect(fds.readiness(r)).toBe(READABLE | HANGUP);
    expect(text(fds.read(r))).toBe("last");
    expect(fds.read(r).length).toBe(0);
  });

  it("give a pipe's writing end ERROR when its reader closes, and EPIPE on write", () => {
    const fds = new VirtualFds();
    const [r, w] = fds.pipe();
    fds.close(r);
    expect(fds.readiness(w) & ERROR).toBe(ERROR);
    expect(() => fds.write(w, "x")).toThrow(VirtualFdError);
    expect(() => fds.write(w, "x")).toThrow(expect.objectContaining({ code: "EPIPE" }));
  });

  it("report a number that is not open as ERROR, and refuse operations on it with EBADF", () => {
    const fds = new VirtualFds();
    expect(fds.readiness(42)).toBe(ERROR);
    for (const op of [() => fds.read(42), () => fds.write(42, "x"), () => fds.close(42)]) {
      expect(op).toThrow(expect.objectContaining({ code: "EBADF", fd: 42 }));
    }
  });

  it("refuse the wrong direction on a pipe end with EINVAL", () => {
    const fds = new VirtualFds();
    const [r, w] = fds.pipe();
    expect(() => fds.write(r, "x")).toThrow(expect.objectContaining({ code: "EINVAL" }));
    expect(() => fds.read(w)).toThrow(expect.objectContaining({ code: "EINVAL" }));
  });

  it("tell change listeners after every write, read and close, until they stop listening", () => {
    const fds = new VirtualFds();
    const [r, w] = fds.pipe();
    const seen: number[] = [];
    const stop = fds.onChange(() => seen.push(fds.version));
    fds.write(w, "x");
    fds.read(r);
    fds.close(w);
    expect(seen).toEqual([fds.version - 2, fds.version - 1, fds.version]);
    stop();
    fds.close(r);
    expect(seen).toHaveLength(3);
    expect(() => fds.onChange("nope" as unknown as () => void)).toThrow(expect.objectContaining({ code: "ERR_EVLOOP_INVALID_ARG", argument: "listener" }));
  });
});
