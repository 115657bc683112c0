import { refusal } from "@evloop/core/kernel";
import { createUvPoller, type UvPoller } from "@evloop/native";
import type { ReadinessSource, ReadinessTarget } from "./readiness-source.ts";

/**
 * Real descriptors on Node's own loop, through `@evloop/native`'s `uv_poll` poller, the way
 * `@evloop/libuv` watches them: every descriptor that became ready in one iteration of Node's
 * loop arrives in one batch, after the poll phase. One iteration is one turn of Node's loop: a
 * requested iteration runs from `setImmediate`, in the check phase that follows. The default
 * source of {@link createRxjsLoop}.
 */
export function nativeReadiness(): ReadinessSource {
  let poller: UvPoller | undefined;
  let target: ReadinessTarget | undefined;
  let immediate: NodeJS.Immediate | undefined;
  const iterate = (): void => {
    immediate = undefined;
    target?.iteration();
  };

  return {
    start(to) {
      target = to;
      // The poller's own timer is unused: the loop's timers run on its RxJS scheduler.
      poller = createUvPoller(
        (fds, events, count) => to.ready(fds, events, count),
        () => {},
      );
    },
    watch(fd, mask) {
      if (poller === undefined) throw new Error("nativeReadiness: watch() before start()");
      try {
        poller.watch(fd, mask);
      } catch (error) {
        throw refusal(fd, error);
      }
    },
    requestIteration() {
      immediate ??= setImmediate(iterate);
    },
    close() {
      target = undefined;
      if (immediate !== undefined) clearImmediate(immediate);
      immediate = undefined;
      poller?.close();
    },
  };
}
