/**
 * @evloop/libvirt: the real libvirt, driven by any evloop loop. `registerLibvirtEventImpl(loop)`
 * answers libvirt's `virEventRegisterImpl` with the loop the application already runs (libuv,
 * poll or rxjs), and `openConnection(uri)` opens a connection whose domain lifecycle events arrive
 * as core notifications, so `fromNotifications` and every observable operator work unchanged.
 *
 * The package builds a native addon against the system libvirt (`libvirt-dev`) at install; without
 * it the package installs, and its functions throw `LibvirtUnavailableError`.
 * @module @evloop/libvirt
 */
export {
  getLibvirtEventImpl,
  libvirtEventImplStats,
  registerLibvirtEventImpl,
  unregisterLibvirtEventImpl,
  type LibvirtEventImplOptions,
  type LibvirtEventImplStats,
  type LibvirtTimer,
  type LibvirtWatch,
} from "./event-impl.ts";
export {
  DomainState,
  libvirtVersion,
  openConnection,
  type DomainInfo,
  type LibvirtConnection,
  type LibvirtDomain,
  type ListDomainsOptions,
  type OpenConnectionOptions,
} from "./connection.ts";
export { LibvirtError, LibvirtErrorCode, LibvirtEventImplBusyError, type LibvirtErrorInit } from "./errors.ts";
export { LibvirtUnavailableError, available as libvirtAvailable } from "./binding.ts";
