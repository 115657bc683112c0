import { Socket } from "node:net";
import { HandleEvent } from "@evloop/core";
import { createLibuvLoop } from "@evloop/libuv";
import { createUvPoller } from "@evloop/native";
import { createPollLoop } from "@evloop/poll";
import { RoundLatch, readByte, writeTargets, type Contender } from "./harness.ts";

/** What a user writes without evloop: a net.Socket per descriptor and its 'data' events. */
export const netSocket: Contender = {
  name: "net.Socket 'data'",
  setup(pairs) {
    const latch = new RoundLatch();
    pairs.owned = true;
    const sockets = pairs.watched.map((fd) => {
      const s = new Socket({ fd, readable: true, writable: true });
      s.on("data", (chunk) => latch.hit(chunk.length));
      return s;
    });
    return {
      round(targets) {
        const done = latch.arm(targets.length);
        writeTargets(pairs, targets);
        return done;
      },
      close() {
        for (const s of sockets) s.destroy();
      },
    };
  },
};

/** The addon alone: its uv_poll callback calls JavaScript once per ready descriptor, no contract. */
export const bareAddon: Contender = {
  name: "bare addon, one call per descriptor",
  setup(pairs) {
    const latch = new RoundLatch();
    const poller = createUvPoller(
      (fds, _events, count) => {
        for (let i = 0; i < count; i++) readByte(fds[i] as number);
        latch.hit(count);
      },
      () => {},
      { batch: false },
    );
    for (const fd of pairs.watched) poller.watch(fd, HandleEvent.READABLE | HandleEvent.ERROR | HandleEvent.HANGUP);
    return {
      round(targets) {
        const done = latch.arm(targets.length);
        writeTargets(pairs, targets);
        return done;
      },
      close: () => poller.close(),
    };
  },
};

/** @evloop/libuv: the contract on Node's loop, one crossing per loop iteration. */
export const libuvLoop: Contender = {
  name: "@evloop/libuv",
  setup(pairs) {
    const latch = new RoundLatch();
    const loop = createLibuvLoop();
    for (const fd of pairs.watched)
      loop.addHandle(fd, HandleEvent.READABLE, (_w, ready) => {
        readByte(ready);
        latch.hit();
      });
    return {
      round(targets) {
        const done = latch.arm(targets.length);
        writeTargets(pairs, targets);
        return done;
      },
      close: () => loop.close(),
    };
  },
};

/** @evloop/poll's manual loop: the application runs it; it blocks in epoll_wait. */
export const pollLoop: Contender = {
  name: "@evloop/poll createPollLoop",
  setup(pairs) {
    const latch = new RoundLatch();
    const loop = createPollLoop();
    for (const fd of pairs.watched)
      loop.addHandle(fd, HandleEvent.READABLE, (_w, ready) => {
        readByte(ready);
        latch.hit();
      });
    return {
      round(targets) {
        void latch.arm(targets.length);
        writeTargets(pairs, targets);
        while (!latch.done) loop.runOnce();
      },
      close: () => loop.close(),
    };
  },
};
