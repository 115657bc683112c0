/* pipe() and socketpair() for tests and examples: both ends non-blocking and close-on-exec. */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* pipe2 */
#endif
#include "common.h"

#ifndef _WIN32
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

EV_UNUSED static int fix_flags(int fd) {
  int flags = fcntl(fd, F_GETFD);
  if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) != 0) return -errno;
  flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) return -errno;
  return 0;
}

static napi_value pair_result(napi_env env, int fds[2]) {
  napi_value array, a, b;
  EV_CHECK(env, napi_create_array_with_length(env, 2, &array));
  EV_CHECK(env, napi_create_int32(env, fds[0], &a));
  EV_CHECK(env, napi_create_int32(env, fds[1], &b));
  EV_CHECK(env, napi_set_element(env, array, 0, a));
  EV_CHECK(env, napi_set_element(env, array, 1, b));
  return array;
}

EV_UNUSED static napi_value fail(napi_env env, int fds[2], int err, const char* syscall) {
  close(fds[0]);
  close(fds[1]);
  ev_throw_sys_error(env, err, syscall);
  return NULL;
}

static napi_value make_pipe(napi_env env, napi_callback_info info) {
  (void)info;
  int fds[2];
#ifdef __linux__
  /* Atomic flags, so a child spawned by another thread never inherits the ends. */
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    ev_throw_sys_error(env, -errno, "pipe2");
    return NULL;
  }
#else
  int err;
  if (pipe(fds) != 0) {
    ev_throw_sys_error(env, -errno, "pipe");
    return NULL;
  }
  if ((err = fix_flags(fds[0])) != 0 || (err = fix_flags(fds[1])) != 0) return fail(env, fds, err, "fcntl");
#endif
  return pair_result(env, fds);
}

static napi_value make_socketpair(napi_env env, napi_callback_info info) {
  (void)info;
  int fds[2];
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
    ev_throw_sys_error(env, -errno, "socketpair");
    return NULL;
  }
#else
  int err;
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) {
    ev_throw_sys_error(env, -errno, "socketpair");
    return NULL;
  }
  if ((err = fix_flags(fds[0])) != 0 || (err = fix_flags(fds[1])) != 0) return fail(env, fds, err, "fcntl");
#endif
  return pair_result(env, fds);
}

#else /* _WIN32: no descriptor pairs the poller could watch (it polls sockets only there) */

static napi_value make_pipe(napi_env env, napi_callback_info info) {
  (void)info;
  ev_throw_sys_error(env, UV_ENOSYS, "pipe");
  return NULL;
}

static napi_value make_socketpair(napi_env env, napi_callback_info info) {
  (void)info;
  ev_throw_sys_error(env, UV_ENOSYS, "socketpair");
  return NULL;
}

#endif

napi_status ev_init_descriptors(napi_env env, napi_value exports) {
  napi_property_descriptor fns[] = {
      {"pipe", NULL, make_pipe, NULL, NULL, NULL, napi_enumerable, NULL},
      {"socketpair", NULL, make_socketpair, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns);
}
