/**
 * @evloop/core: the contract between a library that needs descriptor and timer events and the
 * event loop the application already runs, with its flags, typed errors, registration, the
 * seed's own names, observable notifications and driver lifecycle hooks.
 *
 * Loop authors: `@evloop/core/kernel` holds the bookkeeping every evloop loop shares.
 * Daemon hosts: `@evloop/core/daemon` starts and stops drivers.
 * @module @evloop/core
 */
export { HandleEvent, ALL_HANDLE_EVENTS, ALWAYS_REPORTED, formatHandleEvents, type HandleEvents } from "./handle-event.ts";
export type {
  EventLoopImpl,
  ErrorHandler,
  FreeCallback,
  HandleCallback,
  LoopOptions,
  TimeoutCallback,
  TimerId,
  WatchId,
} from "./event-loop.ts";
export {
  DriverError,
  InvalidArgumentError,
  LoopAlreadyRegisteredError,
  LoopClosedError,
  NoEventLoopError,
  NotSupportedError,
  OutOfRangeError,
  UnpollableDescriptorError,
  type EvloopErrorCode,
} from "./errors.ts";
export { assertCallback, assertEvents, assertFd, assertId, assertInterval, assertOptionalCallback } from "./validate.ts";
export {
  addHandle,
  addTimeout,
  getEventImpl,
  registerEventImpl,
  removeHandle,
  removeTimeout,
  resolveEventImpl,
  unregisterEventImpl,
  updateHandle,
  updateTimeout,
} from "./registry.ts";
export {
  createSeedLoop,
  virEventAddHandle,
  virEventInitialize,
  virEventRemoveHandle,
  type VirEventAddHandleImpl,
  type VirEventCallback,
  type VirEventRemoveHandleImpl,
} from "./seed.ts";
export { createNotifier, type Notifier, type NotifierOptions, type Observer, type Subscribable, type Subscription } from "./notifier.ts";
export {
  DomainEventDetail,
  DomainEventType,
  describeDomainEvent,
  domainLifecycleEvent,
  formatUuid,
  parseUuid,
  virConnectNotify,
  type DomainLifecycleEvent,
  type NotifyingConnection,
} from "./domain-event.ts";
export { openDriver, registerDriver, registeredDrivers, unregisterDriver, type Driver, type DriverContext } from "./driver.ts";
