import { createVirtualLoop } from "@evloop/poll";
import { describe, expect, it } from "vitest";
import { createHeartbeatDriver, type Heartbeat } from "./heartbeat-driver.ts";

describe("the quick-start driver", () => {
  it("notifies every status line at the instant it was written, then the hang-up, and keeps no watch", () => {
    const loop = createVirtualLoop();
    const driver = createHeartbeatDriver(loop);
    const seen: [number, Heartbeat["line"] | null][] = [];
    driver.notifications.subscribe(({ line }) => void seen.push([loop.now(), line]));
    const [r, w] = loop.fds.pipe();
    driver.watch("dev", r, (fd) => loop.fds.read(fd));
    loop.addTimeout(10, (t) => {
      if (loop.now() <= 30) loop.fds.write(w, `at ${loop.now()}\npart`);
      else {
        loop.fds.write(w, "ial\n");
        loop.fds.close(w);
        loop.removeTimeout(t);
      }
    });
    loop.advance(100);
    expect(seen).toEqual([
      [10, "at 10"],
      [20, "partat 20"],
      [30, "partat 30"],
      [40, "partial"],
      [40, null],
    ]);
    expect(loop.registrations()).toEqual({ handles: [], timers: [] });
  });
});
