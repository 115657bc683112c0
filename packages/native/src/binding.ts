// Loads the compiled addon on first use, once per module instance (each worker thread has its own
// and loads its own instance of the addon). Not at import: packages such as @evloop/poll
// re-export pure-TypeScript parts next to native-backed ones, and importing them must neither
// pay for nor fail on the addon. node-gyp-build finds a prebuilt binary under
// prebuilds/<platform>-<arch>/ or the one built from source in build/Release, relative to the
// package root, which is one level above both src/ and dist/ so the same code works from source
// (tests) and from the published build.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

/** The native UvPoller class: see createUvPoller for the contract. */
export interface NativeUvPoller {
  watch(fd: number, mask: number): void;
  setTimer(ms: number): void;
  ref(): void;
  unref(): void;
  close(): void;
}

/** The native FdWaiter class: see createFdWaiter for the contract. */
export interface NativeFdWaiter {
  watch(fd: number, mask: number): void;
  wait(timeoutMs: number): number;
  interrupt(): void;
  close(): void;
  readonly fds: Int32Array;
  readonly events: Int32Array;
  readonly wakeFd: number;
  readonly backend: "epoll" | "poll";
}

/** What the addon exports. Internal: the package's public API wraps it. */
export interface NativeBinding {
  UvPoller: new (
    onReady: (fds: Int32Array, events: Int32Array, count: number) => void,
    onTimer: (now: number) => number | undefined | void,
    sweepIntervalMs?: number,
    batch?: boolean,
  ) => NativeUvPoller;
  FdWaiter: new (sweepIntervalMs?: number) => NativeFdWaiter;
  pipe(): [number, number];
  socketpair(): [number, number];
}

/** The package root: where binding.gyp, build/ and prebuilds/ live. */
export const packageRoot: string = fileURLToPath(new URL("..", import.meta.url));

let binding: NativeBinding | undefined;

/**
 * The addon, loaded by the first call in this module instance and the same object afterwards.
 * A failed load (no binary that this Node can load) throws node-gyp-build's error, and the next
 * call tries again.
 */
export function native(): NativeBinding {
  if (binding === undefined) {
    const load = createRequire(import.meta.url)("node-gyp-build") as (dir: string) => unknown;
    binding = load(packageRoot) as NativeBinding;
  }
  return binding;
}

/** Whether this module instance has loaded the addon yet. For the package's own tests only. */
export function loaded(): boolean {
  return binding !== undefined;
}
