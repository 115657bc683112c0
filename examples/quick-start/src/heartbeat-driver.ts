import { HandleEvent, addHandle, createNotifier, removeHandle, type EventLoopImpl, type Subscribable } from "@evloop/core";

/** What the heartbeat driver tells the application. */
export interface Heartbeat {
  readonly source: string;
  readonly line: string;
}

/** A tiny driver: it reads status lines from descriptors through the contract and notifies each line. */
export interface HeartbeatDriver {
  readonly notifications: Subscribable<Heartbeat | { readonly source: string; readonly line: null }>;
  /** Starts reading `fd`; `read` takes what is buffered on it. */
  watch(source: string, fd: number, read: (fd: number) => Uint8Array): void;
}

/**
 * The driver never owns a loop: it calls addHandle on whichever loop the application registered
 * (or the one it is given), and the application hears about every line through `notifications`.
 */
export function createHeartbeatDriver(loop?: EventLoopImpl): HeartbeatDriver {
  const notifications = createNotifier<Heartbeat | { source: string; line: null }>();
  const decoder = new TextDecoder();
  return {
    notifications,
    watch(source, fd, read) {
      let pending = "";
      const watch = addHandle(
        fd,
        HandleEvent.READABLE,
        (_watch, readyFd, events) => {
          if (events & HandleEvent.READABLE) {
            const bytes = read(readyFd);
            pending += decoder.decode(bytes);
            const lines = pending.split("\n");
            pending = lines.pop() ?? "";
            for (const line of lines) notifications.emit({ source, line });
            if (bytes.length > 0) return;
          }
          // End of file, hang-up or error: the source is gone.
          notifications.emit({ source, line: null });
          removeHandle(watch, loop);
        },
        undefined,
        loop,
      );
    },
  };
}
