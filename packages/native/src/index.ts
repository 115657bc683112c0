/**
 * @evloop/native: the one place for native code in evloop. Internal plumbing for the adapters
 * (`@evloop/libuv` uses the poller, `@evloop/poll` the waiter); it has no dependency on `@evloop/core`.
 * @module @evloop/native
 */
export { createUvPoller } from "./uv-poller.ts";
export type { ReadyCallback, TimerCallback, UvPoller, UvPollerOptions } from "./uv-poller.ts";
export { createFdWaiter } from "./fd-waiter.ts";
export type { FdWaiter, FdWaiterOptions } from "./fd-waiter.ts";
export { pipe, socketpair } from "./descriptors.ts";
