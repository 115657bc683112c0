// The connection API on libvirt's test driver: queries, the domain actions with the lifecycle
// events each one produces, libvirt's errors as LibvirtError, and what a closed connection does.
import { spawnSync } from "node:child_process";
import { DomainEventDetail, DomainEventType, InvalidArgumentError, formatUuid, type DomainLifecycleEvent } from "@evloop/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  DomainState,
  LibvirtError,
  LibvirtErrorCode,
  libvirtAvailable,
  libvirtVersion,
  openConnection,
  registerLibvirtEventImpl,
  unregisterLibvirtEventImpl,
  type LibvirtConnection,
} from "./index.ts";
import { LOOPS, idle, libvirtInstalled, until, type TestLoop } from "./test/helpers.ts";

const VIR_FROM_TEST = 12;
const T = DomainEventType;
const D = DomainEventDetail;

/** A transient domain for the test driver. */
const xml = (name: string, uuid: string) =>
  `<domain type="test"><name>${name}</name><uuid>${uuid}</uuid><memory>8192</memory><os><type>hvm</type></os></domain>`;

/** What `run` throws, as a LibvirtError. */
function libvirtErrorOf(run: () => unknown): LibvirtError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(LibvirtError);
    return error as LibvirtError;
  }
  throw new Error("did not throw");
}

describe.skipIf(!libvirtInstalled)("openConnection on test:///default", () => {
  let t: TestLoop;
  let conn: LibvirtConnection;
  let events: DomainLifecycleEvent[];
  let unsubscribe: () => void;
  const seen = () => events.map((e) => [e.name, e.type, e.detail]);

  beforeEach(() => {
    t = LOOPS.libuv();
    registerLibvirtEventImpl(t.loop);
    conn = openConnection("test:///default");
    events = [];
    const subscription = conn.notifications.subscribe((e) => events.push(e));
    unsubscribe = () => subscription.unsubscribe();
  });
  afterEach(async () => {
    unsubscribe();
    conn.close();
    await until(() => idle(), t.turn);
    unregisterLibvirtEventImpl();
    t.loop.close();
  });

  it("loads, and reports the libvirt it links", () => {
    expect(libvirtAvailable()).toBe(true);
    const modversion = spawnSync("pkg-config", ["--modversion", "libvirt"], { encoding: "utf8" }).stdout.trim();
    expect(libvirtVersion()).toBe(modversion);
  });

  it("lists its domains and looks one up by name or uuid", () => {
    expect(conn.uri).toBe("test:///default");
    expect(conn.closed).toBe(false);
    const all = conn.listDomains();
    expect(all.map((d) => d.name)).toEqual(["test"]);
    const [test] = all;
    expect(test?.uuid).toHaveLength(16);
    expect(test?.uuidString).toBe(formatUuid(test?.uuid as Uint8Array));
    expect(conn.lookupDomain("test").uuidString).toBe(test?.uuidString);
    expect(conn.lookupDomainByUuid(test?.uuidString as string).name).toBe("test");
    expect(conn.lookupDomainByUuid((test?.uuidString as string).replaceAll("-", "").toUpperCase()).name).toBe("test");
    expect(conn.lookupDomainByUuid(test?.uuid as Uint8Array).name).toBe("test");
    expect(conn.listDomains({ active: true }).map((d) => d.name)).toEqual(["test"]);
    expect(conn.listDomains({ active: false })).toEqual([]);
    expect(test?.xmlDesc()).toMatch(/<name>test<\/name>/);
  });

  it("destroy, create, suspend and resume change the state and each gives its lifecycle event", async () => {
    const dom = conn.lookupDomain("test");
    expect(dom.info()).toEqual({ id: expect.any(Number), state: DomainState.RUNNING, reason: expect.any(Number), active: true });
    dom.suspend();
    expect(dom.info()).toMatchObject({ state: DomainState.PAUSED, active: true });
    dom.resume();
    expect(dom.info().state).toBe(DomainState.RUNNING);
    dom.destroy();
    expect(dom.info()).toMatchObject({ id: -1, state: DomainState.SHUTOFF, active: false });
    expect(conn.listDomains({ active: false }).map((d) => d.name)).toEqual(["test"]);
    dom.create();
    expect(dom.info()).toMatchObject({ state: DomainState.RUNNING, active: true });
    await until(() => events.length === 4, t.turn);
    expect(seen()).toEqual([
      ["test", T.SUSPENDED, D.SUSPENDED.PAUSED],
      ["test", T.RESUMED, D.RESUMED.UNPAUSED],
      ["test", T.STOPPED, D.STOPPED.DESTROYED],
      ["test", T.STARTED, D.STARTED.BOOTED],
    ]);
  });

  it("creates a transient domain and defines, starts and undefines a persistent one", async () => {
    const transient = conn.createDomain(xml("brief", "11111111-2222-3333-4444-555555555555"));
    expect(transient.uuidString).toBe("11111111-2222-3333-4444-555555555555");
    expect(transient.info().active).toBe(true);
    transient.destroy();
    expect(libvirtErrorOf(() => conn.lookupDomain("brief"))).toMatchObject({ code: LibvirtErrorCode.NO_DOMAIN, domain: VIR_FROM_TEST });

    const kept = conn.defineDomain(xml("kept", "66666666-7777-8888-9999-000000000000"));
    expect(kept.info()).toMatchObject({ state: DomainState.SHUTOFF, active: false });
    kept.create();
    kept.destroy();
    kept.undefine();
    await until(() => events.length === 6, t.turn);
    expect(seen()).toEqual([
      ["brief", T.STARTED, D.STARTED.BOOTED],
      ["brief", T.STOPPED, D.STOPPED.DESTROYED],
      ["kept", T.DEFINED, D.DEFINED.ADDED],
      ["kept", T.STARTED, D.STARTED.BOOTED],
      ["kept", T.STOPPED, D.STOPPED.DESTROYED],
      ["kept", T.UNDEFINED, D.UNDEFINED.REMOVED],
    ]);
  });

  it("turns libvirt's errors into LibvirtError with libvirt's code, domain, level and message", () => {
    const missing = libvirtErrorOf(() => conn.lookupDomain("nope"));
    expect(missing).toMatchObject({ name: "LibvirtError", code: LibvirtErrorCode.NO_DOMAIN, domain: VIR_FROM_TEST, level: 2 });
    expect(missing.message).toMatch(/Domain not found/);
    const dom = conn.lookupDomain("test");
    dom.destroy();
    const VIR_FROM_DOMAIN = 20;
    expect(libvirtErrorOf(() => dom.destroy())).toMatchObject({
      code: LibvirtErrorCode.OPERATION_INVALID,
      domain: VIR_FROM_DOMAIN,
      message: "Requested operation is not valid: domain is not running",
    });
    // The test driver reports these as internal errors.
    expect(libvirtErrorOf(() => dom.suspend())).toMatchObject({ code: LibvirtErrorCode.INTERNAL_ERROR, domain: VIR_FROM_TEST, message: expect.stringMatching(/not running/) });
    dom.create();
    expect(libvirtErrorOf(() => dom.create())).toMatchObject({ code: LibvirtErrorCode.INTERNAL_ERROR, message: expect.stringMatching(/already running/) });
    expect(libvirtErrorOf(() => conn.createDomain("<domain>")).message).toMatch(/Premature end of data/);
    expect(libvirtErrorOf(() => conn.lookupDomainByUuid("00000000-0000-0000-0000-000000000000")).code).toBe(LibvirtErrorCode.NO_DOMAIN);
  });

  it("refuses arguments of the wrong type before reaching libvirt", () => {
    expect(() => openConnection(1 as unknown as string)).toThrow(InvalidArgumentError);
    expect(() => conn.lookupDomain(undefined as unknown as string)).toThrow(InvalidArgumentError);
    expect(() => conn.lookupDomainByUuid("not-a-uuid")).toThrow(InvalidArgumentError);
    expect(() => conn.lookupDomainByUuid(new Uint8Array(3))).toThrow(InvalidArgumentError);
    expect(() => conn.createDomain(null as unknown as string)).toThrow(InvalidArgumentError);
  });

  it("fails to open what libvirt cannot, with libvirt's error", () => {
    // The test driver loads its state from this file: in process, whatever else the host runs.
    const error = libvirtErrorOf(() => openConnection("test:///evloop/no/such/file.xml"));
    expect(error.message).toMatch(/evloop\/no\/such\/file\.xml/);
    expect(error).toMatchObject({ code: expect.any(Number), domain: expect.any(Number), level: 2 });
    expect(error.code).toBeGreaterThan(0);
  });

  it("read-only connections query but refuse changes", () => {
    const ro = openConnection("test:///default", { readOnly: true });
    try {
      const dom = ro.lookupDomain("test");
      expect(dom.info().active).toBe(true);
      expect(libvirtErrorOf(() => dom.destroy()).code).toBe(LibvirtErrorCode.OPERATION_DENIED);
    } finally {
      ro.close();
    }
  });

  it("close: idempotent, completes notifications, and every later call throws INVALID_CONN or INVALID_DOMAIN", () => {
    const other = openConnection("test:///default");
    const dom = other.lookupDomain("test");
    let completed = 0;
    other.notifications.subscribe({ complete: () => completed++ });
    other.close();
    other.close();
    expect(other.closed).toBe(true);
    expect(completed).toBe(1);
    other.notifications.subscribe({ complete: () => completed++ });
    expect(completed).toBe(2);
    expect(libvirtErrorOf(() => other.listDomains()).code).toBe(LibvirtErrorCode.INVALID_CONN);
    expect(libvirtErrorOf(() => other.lookupDomain("test")).code).toBe(LibvirtErrorCode.INVALID_CONN);
    expect(libvirtErrorOf(() => dom.info()).code).toBe(LibvirtErrorCode.INVALID_DOMAIN);
    expect(libvirtErrorOf(() => dom.destroy()).message).toMatch(/connection is closed/);
  });

  it("an event handler may call libvirt, unsubscribe and close the connection from inside the dispatch", async () => {
    const other = openConnection("test:///default");
    const dom = other.lookupDomain("test");
    const states: number[] = [];
    const subscription = other.notifications.subscribe(() => {
      states.push(dom.info().state);
      subscription.unsubscribe();
      other.close();
    });
    dom.destroy();
    await until(() => other.closed, t.turn);
    expect(states).toEqual([DomainState.SHUTOFF]);
    // This file's own subscription is untouched.
    await until(() => events.length === 1, t.turn);
  });
});
