/**
 * @evloop/libuv: the evloop contract on Node's own event loop. An application writes
 * `registerEventImpl(createLibuvLoop())` and every driver's descriptors and timers are served by
 * the loop Node already runs.
 * @module @evloop/libuv
 */
export { createLibuvLoop, type LibuvLoop, type LibuvLoopOptions } from "./libuv-loop.ts";
