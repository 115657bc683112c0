/*
 * Shared declarations of @evloop/libvirt's addon: plain C on Node-API 8, linked with the system
 * libvirt (found with pkg-config).
 *
 * libvirt's event implementation is one per process (virEventRegisterImpl), so the event side
 * keeps process-wide state (event-impl.c). Everything that touches JavaScript belongs to one
 * environment (the main thread or a worker) and is reached through its lv_env.
 */
#ifndef EVLOOP_LIBVIRT_COMMON_H
#define EVLOOP_LIBVIRT_COMMON_H

#include <pthread.h>
#include <node_api.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

/* What one environment keeps. */
typedef struct lv_env {
  napi_env env;
  pthread_t thread;     /* the environment's JavaScript thread */
  napi_ref make_error;  /* (code, domain, message, level) => LibvirtError */
  napi_ref bridge;      /* the JavaScript side of the event implementation (event-impl.ts) */
  napi_threadsafe_function wake; /* runs queued event calls from other threads on this thread */
  int depth;            /* native calls from JavaScript on this thread's stack right now */
  napi_ref stashed;     /* an array of what JavaScript threw under libvirt, raised when depth returns to 0 */
} lv_env;

/*
 * Set while a finalizer runs on this thread. JavaScript must not be called from a finalizer, so
 * event calls that libvirt makes from one (closing a connection nobody closed) are queued as if
 * they came from another thread.
 */
extern __thread int lv_in_finalizer;

lv_env* lv_env_of(napi_env env);

/*
 * Every native function that JavaScript calls and that may reach libvirt brackets its work with
 * lv_enter/lv_leave. libvirt may call back into JavaScript underneath (the event implementation,
 * domain event callbacks); a JavaScript exception must never stay pending across libvirt's
 * frames, so lv_call takes it at once and lv_leave raises it when the outermost native call
 * returns to JavaScript (several together as one AggregateError).
 */
lv_env* lv_enter(napi_env env);
napi_value lv_leave(lv_env* e, napi_value result);
napi_status lv_call(lv_env* e, napi_value fn, size_t argc, const napi_value* argv, napi_value* result);

/* Throws a LibvirtError made from libvirt's last error on this thread (or `fallback`), then
 * resets it. Returns NULL for `return lv_throw_libvirt(...)`. */
napi_value lv_throw_libvirt(lv_env* e, const char* fallback);
/* Throws a LibvirtError with these fields (for states libvirt itself cannot report). */
napi_value lv_throw_error(lv_env* e, int code, const char* message);

/* Argument helpers: they throw a TypeError and return 0 on a wrong type. */
int lv_get_int(napi_env env, napi_value value, const char* name, int* out);
int lv_get_string(napi_env env, napi_value value, const char* name, char** out); /* malloc'd */

napi_status lv_init_event_impl(napi_env env, napi_value exports);
napi_status lv_init_connection(napi_env env, napi_value exports);
/* Forgets the environment in the event implementation before the environment goes away. */
void lv_event_impl_env_gone(lv_env* e);

#define LV_CHECK(call)                  \
  do {                                  \
    if ((call) != napi_ok) return NULL; \
  } while (0)

#endif
