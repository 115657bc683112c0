// libvirt used from a worker thread while the main thread's loop serves it: the worker's
// destroy/start calls make libvirt arm its event timer from the worker's thread, so every event
// the main thread receives went through the queued path (threadsafe function) of the C shims.
// The worker loads the addon directly (its raw functions), so this runs from source.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { DomainEventType, type DomainLifecycleEvent } from "@evloop/core";
import { afterEach, describe, expect, it } from "vitest";
import { packageRoot } from "./binding.ts";
import { libvirtEventImplStats, openConnection, registerLibvirtEventImpl, unregisterLibvirtEventImpl } from "./index.ts";
import { LOOPS, LOOP_NAMES, delta, idle, libvirtInstalled, until, type TestLoop } from "./test/helpers.ts";

const worker = (cycles: number) => `
const { parentPort } = require("node:worker_threads");
const n = require(${JSON.stringify(createRequire(import.meta.url).resolve("node-gyp-build"))})(${JSON.stringify(packageRoot)});
let owned;
try { n.claim(); owned = "claimed"; } catch (error) { owned = error.code; }
const conn = n.open("test:///default", false);
const dom = n.lookupByName(conn, "test");
for (let i = 0; i < ${cycles}; i++) {
  n.domainAction(dom.handle, 2);
  n.domainAction(dom.handle, 1);
}
n.close(conn);
parentPort.postMessage({ owned });
`;

function runWorker(cycles: number): Promise<{ owned: string }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(worker(cycles), { eval: true });
    w.once("message", resolve);
    w.once("error", reject);
  });
}

describe.skipIf(!libvirtInstalled)("libvirt called from a worker thread", () => {
  let t: TestLoop | undefined;
  afterEach(async () => {
    if (t === undefined) return;
    await until(() => idle(), t.turn);
    unregisterLibvirtEventImpl();
    t.loop.close();
    t = undefined;
  });

  it.each(LOOP_NAMES)("%s: the main thread's loop delivers every event of 500 cycles made in a worker, in order, and nothing is left", async (name) => {
    t = LOOPS[name]();
    registerLibvirtEventImpl(t.loop);
    const before = libvirtEventImplStats();
    const conn = openConnection("test:///default");
    const events: DomainLifecycleEvent[] = [];
    const subscription = conn.notifications.subscribe((e) => events.push(e));
    const done = runWorker(500);
    const turn = t.turn;
    await until(() => events.length === 1000, turn, 20_000);
    // The worker may not register a loop of its own while this thread's loop serves libvirt.
    expect(await done).toEqual({ owned: "ERR_EVLOOP_LIBVIRT_OWNED" });
    for (let i = 0; i < 5; i++) await turn();
    expect(events.map((e) => e.type)).toEqual(Array.from({ length: 500 }, () => [DomainEventType.STOPPED, DomainEventType.STARTED]).flat());
    subscription.unsubscribe();
    conn.close();
    await until(() => idle(), turn);
    expect(t.loop.registrations()).toEqual({ handles: [], timers: [] });
    expect(delta(before)).toEqual({ added: 1, freed: 1, freeCallbacksRun: 1, droppedDispatches: 0, unexpectedFrees: 0 });
  });
});
