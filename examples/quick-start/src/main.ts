// The quick start as a program. The application picks the loop (here the virtual one, so the
// demo runs the same on any machine in no time), a driver watches descriptors through the
// contract, and the application subscribes to what the driver notifies.
import { registerEventImpl } from "@evloop/core";
import { createVirtualLoop } from "@evloop/poll";
import { createHeartbeatDriver } from "./heartbeat-driver.ts";

const loop = createVirtualLoop();
registerEventImpl(loop);

const driver = createHeartbeatDriver();
driver.notifications.subscribe(({ source, line }) => {
  console.log(`${String(loop.now()).padStart(4)} ms  ${source.padEnd(6)} ${line ?? "(gone)"}`);
});

// Two "devices" that write status lines on a timer, then hang up.
for (const [source, period, beats] of [["alpha", 40, 3], ["beta", 25, 4]] as const) {
  const [readEnd, writeEnd] = loop.fds.pipe();
  driver.watch(source, readEnd, (fd) => loop.fds.read(fd));
  let n = 0;
  const timer = loop.addTimeout(period, () => {
    if (++n <= beats) loop.fds.write(writeEnd, `beat ${n}\n`);
    else {
      loop.removeTimeout(timer);
      loop.fds.close(writeEnd);
    }
  });
}

loop.advance(200);
