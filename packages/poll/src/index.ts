/**
 * @evloop/poll: loops an application drives itself. `createVirtualLoop` is deterministic, on
 * virtual descriptors and a virtual clock, for tests.
 * @module @evloop/poll
 */
export { createVirtualLoop, type IdleResult, type VirtualLoop, type VirtualLoopOptions } from "./virtual-loop.ts";
export { VirtualFds, VirtualFdError, type VirtualFdsOptions } from "./virtual-fds.ts";
export { VirtualPoller } from "./virtual-poller.ts";
export { createPollLoop, type PollLoop, type PollLoopOptions, type RunOptions } from "./poll-loop.ts";
export { createVirtualClock, monotonicClock, type Clock, type VirtualClock } from "./clock.ts";
