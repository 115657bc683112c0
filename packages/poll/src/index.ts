/**
 * @evloop/poll: loops an application drives itself. `createVirtualLoop` is deterministic, on
 * virtual descriptors and a virtual clock, for tests.
 * @packageDocumentation
 */
export { createVirtualLoop, type IdleResult, type VirtualLoop, type VirtualLoopOptions } from "./virtual-loop.ts";
export { VirtualFds, VirtualFdError, type VirtualFdsOptions } from "./virtual-fds.ts";
export { VirtualPoller } from "./virtual-poller.ts";
