/* pipe() and socketpair() for tests and examples: both ends non-blocking and close-on-exec. */
#include "common.h"

#ifndef _WIN32
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

static napi_value pair_result(napi_env env, int fds[2]) {
  napi_value array, a, b;
  EV_CHECK(env, napi_create_array_with_length(env, 2, &array));
  EV_CHECK(env, napi_create_int32(env, fds[0], &a));
  EV_CHECK(env, napi_create_int32(env, fds[1], &b));
  EV_CHECK(env, napi_set_element(env, array, 0, a));
  EV_CHECK(env, napi_set_element(env, array, 1, b));
  return array;
}

static napi_value make_pipe(napi_env env, napi_callback_info info) {
  (void)info;
  int fds[2];
  const char* syscall;
  int err = ev_pipe_cloexec_nonblock(fds, &syscall);
  if (err != 0) {
    ev_throw_sys_error(env, err, syscall);
    return NULL;
  }
  return pair_result(env, fds);
}

static napi_value make_socketpair(napi_env env, napi_callback_info info) {
  (void)info;
  int fds[2];
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
  /* Atomic flags, so a child spawned by another thread never inherits the ends. */
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
  if ((err = ev_set_cloexec_nonblock(fds[0])) != 0 || (err = ev_set_cloexec_nonblock(fds[1])) != 0) {
    close(fds[0]);
    close(fds[1]);
    ev_throw_sys_error(env, err, "fcntl");
    return NULL;
  }
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
