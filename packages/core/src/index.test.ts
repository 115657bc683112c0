import { describe, it, expect } from "vitest";
import * as core from "./index.ts";
import * as kernel from "./kernel.ts";
import * as daemon from "./daemon.ts";

describe("@evloop/core public surface", () => {
  it("the main entry exports the contract's runtime values", () => {
    expect(Object.keys(core).sort()).toEqual(
      [
        "ALL_HANDLE_EVENTS",
        "ALWAYS_REPORTED",
        "DomainEventDetail",
        "DomainEventType",
        "DriverError",
        "HandleEvent",
        "InvalidArgumentError",
        "LoopAlreadyRegisteredError",
        "LoopClosedError",
        "NoEventLoopError",
        "NotSupportedError",
        "OutOfRangeError",
        "UnpollableDescriptorError",
        "addHandle",
        "addTimeout",
        "assertCallback",
        "assertEvents",
        "assertFd",
        "assertId",
        "assertInterval",
        "assertOptionalCallback",
        "createNotifier",
        "createSeedLoop",
        "describeDomainEvent",
        "domainLifecycleEvent",
        "formatHandleEvents",
        "formatUuid",
        "getEventImpl",
        "openDriver",
        "parseUuid",
        "registerDriver",
        "registerEventImpl",
        "registeredDrivers",
        "removeHandle",
        "removeTimeout",
        "resolveEventImpl",
        "unregisterDriver",
        "unregisterEventImpl",
        "updateHandle",
        "updateTimeout",
        "virConnectNotify",
        "virEventAddHandle",
        "virEventInitialize",
        "virEventRemoveHandle",
      ].sort(),
    );
  });

  it("the kernel is not part of the main entry (loop authors import @evloop/core/kernel)", () => {
    expect(core).not.toHaveProperty("createKernel");
    expect(kernel.createKernel).toBeTypeOf("function");
  });

  it("the daemon host is not part of the main entry, so a library cannot start drivers by accident", () => {
    expect(core).not.toHaveProperty("startDaemon");
    expect(daemon.startDaemon).toBeTypeOf("function");
  });
});
