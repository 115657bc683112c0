import { Socket } from "node:net";
import { HandleEvent, type EventLoopImpl } from "@evloop/core";
import { createLibuvLoop } from "@evloop/libuv";
import { createUvPoller } from "@evloop/native";
import { createPollLoop } from "@evloop/poll";
import { createRxjsLoop, fromHandle } from "@evloop/rxjs";
import type { Subscription } from "rxjs";
import { RoundLatch, readByte, writeTargets, type Contender, type Instance, type Pairs } from "./harness.ts";

/** A round on a loop Node runs: write, then wait for the callbacks to settle the latch. */
function nodeDriven(pairs: Pairs, latch: RoundLatch, close: () => void): Instance {
  return {
    round(targets) {
      const done = latch.arm(targets.length);
      writeTargets(pairs, targets);
      return done;
    },
    close,
  };
}

/** What a user writes without evloop: a net.Socket per descriptor and its 'data' events. */
export const netSocket: Contender = {
  name: "net.Socket 'data'",
  setup(pairs) {
    const latch = new RoundLatch();
    pairs.owned = true;
    const sockets = pairs.watched.map((fd) => new Socket({ fd, readable: true, writable: true }).on("data", (chunk) => latch.hit(chunk.length)));
    return nodeDriven(pairs, latch, () => sockets.forEach((s) => s.destroy()));
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
    return nodeDriven(pairs, latch, () => poller.close());
  },
};

/** Every watched descriptor through the contract: the callback reads its byte. */
function watchAll(loop: EventLoopImpl, pairs: Pairs, latch: RoundLatch): void {
  for (const fd of pairs.watched)
    loop.addHandle(fd, HandleEvent.READABLE, (_w, ready) => {
      readByte(ready);
      latch.hit();
    });
}

/** @evloop/libuv: the contract on Node's loop, one crossing per loop iteration. */
export const libuvLoop: Contender = {
  name: "@evloop/libuv",
  setup(pairs) {
    const latch = new RoundLatch();
    const loop = createLibuvLoop();
    watchAll(loop, pairs, latch);
    return nodeDriven(pairs, latch, () => loop.close());
  },
};

/** @evloop/poll's manual loop: the application runs it; it blocks in epoll_wait. */
export const pollLoop: Contender = {
  name: "@evloop/poll createPollLoop",
  setup(pairs) {
    const latch = new RoundLatch();
    const loop = createPollLoop();
    watchAll(loop, pairs, latch);
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

/** @evloop/rxjs createRxjsLoop: timers on asyncScheduler, descriptors from the native poller. */
export const rxjsLoop: Contender = {
  name: "@evloop/rxjs createRxjsLoop",
  setup(pairs) {
    const latch = new RoundLatch();
    const loop = createRxjsLoop();
    watchAll(loop, pairs, latch);
    return nodeDriven(pairs, latch, () => loop.close());
  },
};

/** @evloop/rxjs fromHandle: one Observable subscription per descriptor, on the libuv loop. */
export const rxjsFromHandle: Contender = {
  name: "@evloop/rxjs fromHandle on libuv",
  setup(pairs) {
    const latch = new RoundLatch();
    const loop = createLibuvLoop();
    const subscriptions: Subscription[] = pairs.watched.map((fd) =>
      fromHandle(fd, HandleEvent.READABLE, { loop }).subscribe(() => {
        readByte(fd);
        latch.hit();
      }),
    );
    return nodeDriven(pairs, latch, () => {
      for (const s of subscriptions) s.unsubscribe();
      loop.close();
    });
  },
};
