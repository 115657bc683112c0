/**
 * @evloop/driver-process: a daemon-only driver whose domains are child processes. Each child
 * gets a monitor channel that the driver watches through the evloop contract alone, on whichever
 * loop the application registered, and every change of a domain's state becomes a libvirt
 * lifecycle event on the connection's `notifications`.
 *
 * ```ts
 * import { registerDriver, registerEventImpl, virConnectNotify, openDriver } from "@evloop/core";
 * import { startDaemon } from "@evloop/core/daemon";
 * import { createLibuvLoop } from "@evloop/libuv";
 * import { createProcessDriver, type ProcessConnection } from "@evloop/driver-process";
 *
 * registerEventImpl(createLibuvLoop());
 * registerDriver(createProcessDriver({ domains: [{ name: "alpha", autostart: true }] }));
 * const daemon = await startDaemon();
 * const conn = await openDriver<ProcessConnection>("process");
 * virConnectNotify(conn, (event) => console.log(event.name, event.type, event.detail));
 * ```
 * @module @evloop/driver-process
 */
export { createProcessDriver, type DomainInfo, type DomainState, type ProcessConnection, type ProcessDriver, type ProcessDriverOptions, type ProcessLifecycleEvent } from "./process-driver.ts";
export {
  DomainError,
  TERMINATING_SIGNALS,
  type DomainDefinition,
  type DomainErrorReason,
  type GuestBehaviour,
  type TerminatingSignal,
  type ValidDefinition,
} from "./definition.ts";
export { describeExit, type DomainProcess, type ProcessExit, type Spawn } from "./child.ts";
export { GUEST_SCRIPT, MONITOR_FD, spawnProcess } from "./spawn-process.ts";
export { simulatedSpawn, type SimulationHost } from "./simulated-spawn.ts";
