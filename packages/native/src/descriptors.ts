import { native } from "./binding.ts";

/**
 * Creates a pipe. Both ends are non-blocking and close-on-exec; use `fs.readSync`,
 * `fs.writeSync` and `fs.closeSync` on them (a read with nothing to read throws EAGAIN).
 *
 * @returns `[readFd, writeFd]`
 * @throws Error with a system `code` (EMFILE, ...) when it cannot be created; ENOSYS on Windows.
 */
export function pipe(): [readFd: number, writeFd: number] {
  return native().pipe();
}

/**
 * Creates a connected pair of AF_UNIX stream sockets. Both are non-blocking and close-on-exec,
 * and each end both reads and writes.
 *
 * @throws Error with a system `code` when it cannot be created; ENOSYS on Windows.
 */
export function socketpair(): [number, number] {
  return native().socketpair();
}
