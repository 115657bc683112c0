import { closeSync, readFileSync, readSync, writeSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { pipe, socketpair } from "./descriptors.ts";

const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;

/** The open flags Linux shows for a descriptor in /proc/self/fdinfo (octal). */
function flagsOf(fd: number): number {
  const line = readFileSync(`/proc/self/fdinfo/${fd}`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("flags:"));
  return parseInt((line ?? "flags: 0").slice(6).trim(), 8);
}

function expectEagain(fn: () => unknown) {
  expect(fn).toThrow(expect.objectContaining({ code: "EAGAIN" }));
}

describe("pipe()", () => {
  it("returns [readFd, writeFd] carrying bytes from the second to the first", () => {
    const [r, w] = pipe();
    try {
      expect(writeSync(w, "hello")).toBe(5);
      const buf = Buffer.alloc(16);
      expect(readSync(r, buf)).toBe(5);
      expect(buf.toString("utf8", 0, 5)).toBe("hello");
    } finally {
      closeSync(r);
      closeSync(w);
    }
  });

  it("makes both ends non-blocking: reading an empty pipe throws EAGAIN", () => {
    const [r, w] = pipe();
    try {
      expectEagain(() => readSync(r, Buffer.alloc(1)));
    } finally {
      closeSync(r);
      closeSync(w);
    }
  });

  it.runIf(process.platform === "linux")("makes both ends non-blocking and close-on-exec", () => {
    const [r, w] = pipe();
    try {
      for (const fd of [r, w]) expect(flagsOf(fd) & (O_NONBLOCK | O_CLOEXEC)).toBe(O_NONBLOCK | O_CLOEXEC);
    } finally {
      closeSync(r);
      closeSync(w);
    }
  });
});

describe("socketpair()", () => {
  it("returns two connected stream sockets, each reading what the other writes", () => {
    const [a, b] = socketpair();
    try {
      writeSync(a, "ping");
      writeSync(b, "pong");
      const buf = Buffer.alloc(8);
      expect(buf.toString("utf8", 0, readSync(b, buf))).toBe("ping");
      expect(buf.toString("utf8", 0, readSync(a, buf))).toBe("pong");
      expectEagain(() => readSync(a, buf));
    } finally {
      closeSync(a);
      closeSync(b);
    }
  });

  it.runIf(process.platform === "linux")("makes both ends non-blocking and close-on-exec", () => {
    const [a, b] = socketpair();
    try {
      for (const fd of [a, b]) expect(flagsOf(fd) & (O_NONBLOCK | O_CLOEXEC)).toBe(O_NONBLOCK | O_CLOEXEC);
    } finally {
      closeSync(a);
      closeSync(b);
    }
  });
});
