/**
 * @evloop/rxjs: evloop for RxJS applications. Every descriptor, timer and notification as an
 * Observable over any loop (`fromHandle`, `fromTimeout`, `fromNotifications`), and
 * `createRxjsLoop`, a loop whose timers run on an RxJS scheduler, so that tests run on virtual
 * time with marbles (`TestScheduler` and `virtualReadiness`).
 * @module @evloop/rxjs
 */
export { createRxjsLoop, type RxjsLoop, type RxjsLoopOptions } from "./rxjs-loop.ts";
export type { ReadinessSource, ReadinessTarget } from "./readiness-source.ts";
export { nativeReadiness } from "./native-readiness.ts";
export { virtualReadiness, type VirtualReadinessOptions } from "./virtual-readiness.ts";
export { fromHandle, HandleEventError, type FromHandleOptions, type HandleEnding } from "./from-handle.ts";
export { fromTimeout, type FromTimeoutOptions } from "./from-timeout.ts";
export { fromNotifications, ofDomain, ofType } from "./notifications.ts";
export type { Registrations } from "@evloop/core/kernel";
