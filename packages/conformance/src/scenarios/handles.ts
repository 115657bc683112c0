import assert from "node:assert/strict";
import type { Scenario } from "../scenario.ts";
import {
  ERROR,
  ERROR_OR_HANGUP,
  READABLE,
  WRITABLE,
  assertId,
  drain,
  fmt,
  handleLog,
  never,
  readyPipe,
  runUntil,
  show,
  spin,
  type Fire,
} from "./support.ts";

/** Fails unless every fire of a watch came with exactly `events` (and the watch's own id and fd). */
function assertFires(fires: readonly Fire[], watch: number, fd: number, events: number, what: string): void {
  for (const [i, fire] of fires.entries()) {
    assert.equal(fire.watch, watch, `${what}: call ${i + 1} got watch ${fire.watch}, not its own id ${watch}`);
    assert.equal(fire.fd, fd, `${what}: call ${i + 1} got fd ${fire.fd}, not the watched fd ${fd}`);
    assert.equal(fire.events, events, `${what}: call ${i + 1} got ${fmt(fire.events)}, expected ${fmt(events)}`);
  }
}

/** Scenarios on watching descriptors: readiness, masks, several watches per fd, closed peers, bad descriptors. */
export const handleScenarios: readonly Scenario[] = [
  {
    id: "handles.readable-level-triggered",
    title: "a readable fd fires on every pass until it is drained",
    rule: "Watches are level-triggered: a readable fd keeps firing every pass until drained; cb(watch, fd, events) gets the watch's id, the fd and READABLE.",
    async run(f) {
      const loop = f.createLoop({});
      const [r, w] = readyPipe(f, loop);
      const reader = handleLog();
      const watch = loop.addHandle(r, READABLE, reader.cb);
      assertId(watch, "addHandle");
      // The write end of the same pipe is always writable: it fires once per pass, a pass counter.
      const passes = handleLog();
      const counter = loop.addHandle(w, WRITABLE, passes.cb);
      await runUntil(f, loop, () => passes.count >= 10, "10 passes ran");
      assert.ok(reader.count >= passes.count - 1, `the readable fd fired ${reader.count} times in ${passes.count} passes: not level-triggered`);
      assertFires(reader.fires, watch, r, READABLE, "the READABLE watch");

      drain(f, loop, r);
      const before = reader.count;
      const atPass = passes.count;
      await runUntil(f, loop, () => passes.count >= atPass + 5, "5 more passes ran");
      assert.equal(reader.count, before, "the watch kept firing after its fd was drained");

      f.write(loop, w, "again");
      await runUntil(f, loop, () => reader.count > before, "the watch fired again for new data");
      assert.equal(loop.removeHandle(counter), 0);
      assert.equal(loop.removeHandle(watch), 0);
    },
  },
  {
    id: "handles.writable",
    title: "a pipe's write end fires WRITABLE, and only that",
    rule: "`cb(watch, fd, events)` gets the ready bits the watch asked for (plus ERROR and HANGUP when they occur).",
    async run(f) {
      const loop = f.createLoop({});
      const [, w] = f.pipe(loop);
      const writer = handleLog();
      const watch = loop.addHandle(w, WRITABLE, writer.cb);
      await runUntil(f, loop, () => writer.count >= 3, "the WRITABLE watch fired 3 times");
      assertFires(writer.fires, watch, w, WRITABLE, "the WRITABLE watch");
      assert.equal(loop.removeHandle(watch), 0);
    },
  },
  {
    id: "handles.same-fd-twice",
    title: "one fd watched twice, READABLE and WRITABLE: each watch gets only its bits",
    rule: "The same fd may be watched more than once, with different masks; each watch gets the ready bits it asked for.",
    async run(f) {
      const loop = f.createLoop({});
      const [a, b] = f.socketpair(loop);
      f.write(loop, b, "hello");
      const reader = handleLog();
      const writer = handleLog();
      const readWatch = loop.addHandle(a, READABLE, reader.cb);
      const writeWatch = loop.addHandle(a, WRITABLE, writer.cb);
      assertId(readWatch, "addHandle");
      assertId(writeWatch, "addHandle");
      assert.notEqual(readWatch, writeWatch, "two watches on one fd got the same id");
      await runUntil(f, loop, () => reader.count >= 3 && writer.count >= 3, "both watches fired 3 times");
      assertFires(reader.fires, readWatch, a, READABLE, "the READABLE watch");
      assertFires(writer.fires, writeWatch, a, WRITABLE, "the WRITABLE watch");
      assert.equal(loop.removeHandle(readWatch), 0);
      assert.equal(loop.removeHandle(writeWatch), 0);
    },
  },
  {
    id: "handles.remove-one-of-two",
    title: "removing one of two watches on an fd leaves the other working",
    rule: "The same fd may be watched more than once; removeHandle removes that watch only.",
    async run(f) {
      const loop = f.createLoop({});
      const [a, b] = f.socketpair(loop);
      const reader = handleLog();
      const writer = handleLog();
      const readWatch = loop.addHandle(a, READABLE, reader.cb);
      const writeWatch = loop.addHandle(a, WRITABLE, writer.cb);
      await runUntil(f, loop, () => writer.count >= 2, "the WRITABLE watch fired");

      // Removing the WRITABLE watch shrinks what the fd is watched for: READABLE must survive.
      assert.equal(loop.removeHandle(writeWatch), 0);
      const writes = writer.count;
      f.write(loop, b, "data");
      await runUntil(f, loop, () => reader.count >= 2, "the remaining READABLE watch fired after the other watch was removed");
      assertFires(reader.fires, readWatch, a, READABLE, "the READABLE watch");
      assert.equal(writer.count, writes, "the removed WRITABLE watch fired");

      // And the other way round: a new WRITABLE watch survives the removal of the READABLE one,
      // although the fd is still readable.
      const writer2 = handleLog();
      const writeWatch2 = loop.addHandle(a, WRITABLE, writer2.cb);
      assert.equal(loop.removeHandle(readWatch), 0);
      const reads = reader.count;
      await runUntil(f, loop, () => writer2.count >= 3, "the remaining WRITABLE watch fired after the READABLE one was removed");
      assertFires(writer2.fires, writeWatch2, a, WRITABLE, "the second WRITABLE watch");
      assert.equal(reader.count, reads, "the removed READABLE watch fired");
      assert.equal(loop.removeHandle(writeWatch2), 0);
    },
  },
  {
    id: "handles.update-to-zero-and-back",
    title: "updateHandle(watch, 0) stops dispatch, even of ERROR/HANGUP; re-enabling resumes it",
    rule: "updateHandle(watch, events): 0 keeps the watch but stops its dispatch.",
    async run(f) {
      const loop = f.createLoop({});
      const [r, w] = readyPipe(f, loop);
      const reader = handleLog();
      const watch = loop.addHandle(r, READABLE, reader.cb);
      await runUntil(f, loop, () => reader.count >= 2, "the watch fired");

      loop.updateHandle(watch, 0);
      const disabledAt = reader.count;
      await spin(f, loop, 5);
      assert.equal(reader.count, disabledAt, "a watch updated to 0 still fired although its fd stayed readable");

      // ERROR and HANGUP are reported to enabled watches only.
      f.close(loop, w);
      await spin(f, loop, 5);
      assert.equal(reader.count, disabledAt, `a watch updated to 0 fired after its peer closed (${show(reader.fires.slice(disabledAt).map((x) => fmt(x.events)))})`);

      loop.updateHandle(watch, READABLE);
      await runUntil(f, loop, () => reader.count > disabledAt, "the watch fired again after updateHandle(watch, READABLE)");
      assert.equal(loop.removeHandle(watch), 0, "the disabled watch was not kept: removeHandle did not find it");
    },
  },
  {
    id: "handles.disabled-at-add",
    title: "a watch added with events 0 does not fire until it is enabled",
    rule: "updateHandle(watch, events): 0 keeps the watch but stops its dispatch (a watch may be added with 0).",
    async run(f) {
      const loop = f.createLoop({});
      const [r] = readyPipe(f, loop);
      const reader = handleLog();
      const watch = loop.addHandle(r, 0, reader.cb);
      assertId(watch, "addHandle(fd, 0, cb)");
      await spin(f, loop, 5);
      assert.equal(reader.count, 0, "a watch added with events 0 fired");
      loop.updateHandle(watch, READABLE);
      await runUntil(f, loop, () => reader.count >= 1, "the watch fired once enabled");
      assertFires(reader.fires, watch, r, READABLE, "the enabled watch");
      assert.equal(loop.removeHandle(watch), 0);
    },
  },
  {
    id: "handles.update-changes-mask",
    title: "updateHandle switches what a watch is dispatched for",
    rule: "updateHandle(watch, events) changes what the watch wants; its callback then gets the new bits.",
    async run(f) {
      const loop = f.createLoop({});
      const [a, b] = f.socketpair(loop);
      const log = handleLog();
      const watch = loop.addHandle(a, READABLE, log.cb);
      await spin(f, loop, 3);
      assert.equal(log.count, 0, "a READABLE watch on a socket with nothing to read fired");

      loop.updateHandle(watch, WRITABLE);
      await runUntil(f, loop, () => log.count >= 2, "the watch fired after being updated to WRITABLE");
      assertFires(log.fires, watch, a, WRITABLE, "the watch updated to WRITABLE");

      loop.updateHandle(watch, READABLE);
      const atUpdate = log.count;
      await spin(f, loop, 3);
      const stale = log.fires.slice(atUpdate);
      assert.ok(stale.length === 0, `the watch updated back to READABLE still fired: ${show(stale.map((x) => fmt(x.events)))}`);
      f.write(loop, b, "x");
      await runUntil(f, loop, () => log.count > atUpdate, "the watch fired READABLE after data arrived");
      assertFires(log.fires.slice(atUpdate), watch, a, READABLE, "the watch updated back to READABLE");
      assert.equal(loop.removeHandle(watch), 0);
    },
  },
  {
    id: "handles.callback-returns-minus-one",
    title: "a callback returning -1 removes its watch",
    rule: "A callback that returns -1 has its watch removed.",
    async run(f) {
      const loop = f.createLoop({});
      const [r] = readyPipe(f, loop);
      const log = handleLog(() => -1);
      const watch = loop.addHandle(r, READABLE, log.cb);
      await runUntil(f, loop, () => log.count >= 1, "the watch fired");
      await spin(f, loop, 5);
      assert.equal(log.count, 1, "a watch whose callback returned -1 fired again (its fd stayed readable)");
      assert.equal(loop.removeHandle(watch), -1, "removeHandle found the watch whose callback returned -1");
    },
  },
  {
    id: "handles.remove-twice",
    title: "removeHandle returns 0, then -1; unknown ids return -1",
    rule: "removeHandle(watch) returns 0, or -1 when unknown or already removed.",
    async run(f) {
      const loop = f.createLoop({});
      const [r] = f.pipe(loop);
      const watch = loop.addHandle(r, READABLE, () => {});
      assert.equal(loop.removeHandle(watch), 0, "first removeHandle");
      assert.equal(loop.removeHandle(watch), -1, "second removeHandle of the same watch");
      assert.equal(loop.removeHandle(0), -1, "removeHandle(0): ids are positive, 0 is never one");
      assert.equal(loop.removeHandle(-1), -1, "removeHandle(-1)");
    },
  },
  {
    id: "handles.update-unknown-is-noop",
    title: "updateHandle of a removed or unknown watch does nothing, and does not revive it",
    rule: "updateHandle(watch, events): an unknown watch is a no-op.",
    async run(f) {
      const loop = f.createLoop({});
      const [r] = readyPipe(f, loop);
      const log = handleLog();
      const watch = loop.addHandle(r, READABLE, log.cb);
      assert.equal(loop.removeHandle(watch), 0);
      loop.updateHandle(watch, READABLE);
      loop.updateHandle(watch, READABLE | WRITABLE);
      loop.updateHandle(0, READABLE);
      loop.updateHandle(-1, READABLE);
      await spin(f, loop, 5);
      assert.equal(log.count, 0, "a removed watch fired after updateHandle was called on it");
      assert.equal(loop.removeHandle(watch), -1, "updateHandle revived a removed watch");
    },
  },
  {
    id: "handles.peer-closed-pipe-read-end",
    title: "a pipe's read end gets HANGUP or ERROR when the write end closes",
    rule: "A peer closed gives the watch ERROR and/or HANGUP.",
    async run(f) {
      const loop = f.createLoop({});
      const [r, w] = f.pipe(loop);
      const log = handleLog();
      const watch = loop.addHandle(r, READABLE, log.cb);
      f.close(loop, w);
      await runUntil(f, loop, () => log.fires.some((x) => (x.events & ERROR_OR_HANGUP) !== 0), "the read end reported ERROR or HANGUP");
      for (const fire of log.fires) assert.equal(fire.events & ~(READABLE | ERROR_OR_HANGUP), 0, `the read end got ${fmt(fire.events)}`);
      assert.equal(loop.removeHandle(watch), 0);
    },
  },
  {
    id: "handles.peer-closed-pipe-write-end",
    title: "a pipe's write end gets ERROR or HANGUP when the read end closes",
    rule: "A peer closed gives the watch ERROR and/or HANGUP.",
    async run(f) {
      const loop = f.createLoop({});
      const [r, w] = f.pipe(loop);
      const log = handleLog();
      const watch = loop.addHandle(w, WRITABLE, log.cb);
      f.close(loop, r);
      await runUntil(f, loop, () => log.fires.some((x) => (x.events & ERROR_OR_HANGUP) !== 0), "the write end reported ERROR or HANGUP");
      for (const fire of log.fires) assert.equal(fire.events & ~(WRITABLE | ERROR_OR_HANGUP), 0, `the write end got ${fmt(fire.events)}`);
      assert.equal(loop.removeHandle(watch), 0);
    },
  },
  {
    id: "handles.peer-closed-socketpair",
    title: "a socket gets HANGUP or ERROR when its peer closes",
    rule: "A peer closed gives the watch ERROR and/or HANGUP.",
    async run(f) {
      const loop = f.createLoop({});
      const [a, b] = f.socketpair(loop);
      const log = handleLog();
      const watch = loop.addHandle(a, READABLE, log.cb);
      f.close(loop, b);
      await runUntil(f, loop, () => log.fires.some((x) => (x.events & ERROR_OR_HANGUP) !== 0), "the socket reported ERROR or HANGUP");
      assert.equal(loop.removeHandle(watch), 0);
    },
  },
  {
    id: "handles.error-hangup-always-reported",
    title: "ERROR/HANGUP reach a watch that asked only for the other direction",
    rule: "ERROR and HANGUP are reported whether or not they were asked for; events holds only the bits asked for plus ERROR and HANGUP.",
    async run(f) {
      const loop = f.createLoop({});
      // A pipe's read end watched for WRITABLE and a write end watched for READABLE: what they
      // asked for never comes on Linux (some BSDs make pipes bidirectional, hence no check of
      // that), so only ERROR or HANGUP can tell them their peer closed.
      const [r1, w1] = f.pipe(loop);
      const [r2, w2] = f.pipe(loop);
      const readEnd = handleLog();
      const writeEnd = handleLog();
      const readWatch = loop.addHandle(r1, WRITABLE, readEnd.cb);
      const writeWatch = loop.addHandle(w2, READABLE, writeEnd.cb);
      f.close(loop, w1);
      f.close(loop, r2);
      const told = (log: typeof readEnd) => log.fires.some((x) => (x.events & ERROR_OR_HANGUP) !== 0);
      await runUntil(f, loop, () => told(readEnd) && told(writeEnd), "both watches got ERROR or HANGUP for their closed peer");
      for (const [what, log, asked] of [
        ["the read end watched for WRITABLE", readEnd, WRITABLE],
        ["the write end watched for READABLE", writeEnd, READABLE],
      ] as const) {
        for (const fire of log.fires) assert.equal(fire.events & ~(asked | ERROR_OR_HANGUP), 0, `${what} got ${fmt(fire.events)}: bits it did not ask for`);
      }
      assert.equal(loop.removeHandle(readWatch), 0);
      assert.equal(loop.removeHandle(writeWatch), 0);
    },
  },
  {
    id: "handles.not-open-fd",
    title: "a number that is not an open fd is accepted and reported ERROR a bounded number of times",
    rule: "A number that is not an open descriptor is accepted and its watch gets ERROR (once, not a busy loop of ERRORs).",
    async run(f) {
      const loop = f.createLoop({});
      // Made before the number is chosen, so no descriptor opened later can take it.
      const [pr, pw] = f.pipe(loop);
      const fd = f.notOpen(loop);
      const log = handleLog();
      const watch = loop.addHandle(fd, READABLE, log.cb);
      assertId(watch, `addHandle of ${fd}, which is not open`);
      const passes = handleLog();
      const counter = loop.addHandle(pw, WRITABLE, passes.cb);
      await runUntil(f, loop, () => log.count >= 1 && passes.count >= 10, "the watch on a descriptor that is not open got an event, and 10 passes ran");
      for (const fire of log.fires) assert.notEqual(fire.events & ERROR, 0, `the watch on a descriptor that is not open got ${fmt(fire.events)}, without ERROR`);
      assert.ok(log.count <= 3, `the watch on a descriptor that is not open fired ${log.count} times in ${passes.count} passes: a busy loop of ERRORs`);
      assert.equal(loop.removeHandle(counter), 0);
      await f.runFor(loop, 50);
      assert.ok(log.count <= 3, `the watch on a descriptor that is not open fired ${log.count} times: a busy loop of ERRORs`);
      f.close(loop, pr);
      f.close(loop, pw);
      loop.removeHandle(watch);
    },
  },
  {
    id: "handles.closed-under-watch",
    title: "an fd closed without removeHandle gets ERROR, a bounded number of times",
    rule: "A descriptor closed under its watch (without removeHandle) is reported as ERROR, once, not as a busy loop.",
    async run(f) {
      const loop = f.createLoop({});
      // Every descriptor is made before the watched one is closed, so none can take its number.
      const [pr, pw] = f.pipe(loop);
      const [r, w] = f.pipe(loop);
      const log = handleLog();
      const watch = loop.addHandle(r, READABLE, log.cb);
      const passes = handleLog();
      const counter = loop.addHandle(pw, WRITABLE, passes.cb);
      await runUntil(f, loop, () => passes.count >= 2, "the loop ran");
      f.close(loop, r);
      const errored = () => log.fires.some((x) => (x.events & ERROR) !== 0);
      await runUntil(f, loop, errored, "the watch of a descriptor closed under it got ERROR");
      const atError = passes.count;
      await runUntil(f, loop, () => passes.count >= atError + 10, "10 more passes ran");
      assert.equal(loop.removeHandle(counter), 0);
      await f.runFor(loop, 50);
      const errors = log.fires.filter((x) => (x.events & ERROR) !== 0).length;
      assert.ok(errors <= 3, `the watch of a descriptor closed under it got ERROR ${errors} times: a busy loop of ERRORs`);
      assert.equal(loop.removeHandle(watch), 0);
      f.close(loop, w);
      f.close(loop, pr);
      f.close(loop, pw);
    },
  },
  {
    id: "handles.unpollable-refused",
    title: "a regular file is refused with UnpollableDescriptorError, registering nothing",
    rule: "A descriptor that cannot be polled (regular file) is refused at addHandle with UnpollableDescriptorError (code ERR_EVLOOP_UNPOLLABLE, a TypeError) and nothing is registered.",
    async run(f) {
      const loop = f.createLoop({});
      const fd = f.unpollable(loop);
      const refused = never();
      const freed = never();
      for (const events of [READABLE, READABLE, WRITABLE]) {
        // Twice with the same mask: a refused watch must not leave the fd half-registered so that
        // the next identical call succeeds.
        let returned: unknown;
        try {
          returned = loop.addHandle(fd, events, refused.fn, freed.fn);
        } catch (error) {
          const e = error as { name?: unknown; code?: unknown; argument?: unknown; value?: unknown };
          assert.ok(error instanceof TypeError, `addHandle of a regular file threw ${show(error)}, not a TypeError`);
          assert.equal(e.name, "UnpollableDescriptorError");
          assert.equal(e.code, "ERR_EVLOOP_UNPOLLABLE");
          assert.equal(e.argument, "fd");
          assert.equal(e.value, fd);
          continue;
        }
        assert.fail(`addHandle(${fd} (a regular file), ${fmt(events)}) did not throw; it returned ${show(returned)}`);
      }
      // The loop still works, and nothing of the refused calls ever runs.
      const [r] = readyPipe(f, loop);
      const log = handleLog();
      const watch = loop.addHandle(r, READABLE, log.cb);
      await runUntil(f, loop, () => log.count >= 3, "a watch added after the refusals fired");
      assert.equal(loop.removeHandle(watch), 0);
      await spin(f, loop, 3);
      assert.equal(refused.calls.length, 0, "the callback of a refused addHandle ran");
      assert.equal(freed.calls.length, 0, "the free callback of a refused addHandle ran");
    },
  },
  {
    id: "handles.unpollable-refused-when-disabled",
    title: "a regular file is refused at addHandle even with events 0",
    rule: "A descriptor that cannot be polled (regular file) is refused at addHandle with UnpollableDescriptorError and nothing is registered, whatever the events asked for.",
    async run(f) {
      const loop = f.createLoop({});
      const fd = f.unpollable(loop);
      const refused = never();
      let returned: unknown;
      try {
        // libvirt adds handles disabled and enables them later: the refusal must come here, not
        // from a later updateHandle, which the contract does not let throw it.
        returned = loop.addHandle(fd, 0, refused.fn);
      } catch (error) {
        const e = error as { name?: unknown; code?: unknown; argument?: unknown; value?: unknown };
        assert.ok(error instanceof TypeError, `addHandle of a regular file with events 0 threw ${show(error)}, not a TypeError`);
        assert.equal(e.code, "ERR_EVLOOP_UNPOLLABLE");
        assert.equal(e.value, fd);
        return;
      }
      let enabling: unknown = "did not throw";
      try {
        loop.updateHandle(returned as number, READABLE);
      } catch (error) {
        enabling = error;
      }
      assert.fail(
        `addHandle(${fd} (a regular file), 0) was accepted (returned ${show(returned)}); enabling it afterwards with updateHandle ${enabling === "did not throw" ? "did not throw" : `threw ${show(enabling)}`}`,
      );
    },
  },
];
