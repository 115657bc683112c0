/*
 * Shared declarations of evloop's native addon.
 *
 * The addon is plain C on Node-API (version 8, for async cleanup hooks), so one binary serves
 * every Node version from 20 on and prebuildify's `--napi` builds can ship in the tarball.
 * Nothing here is global: each environment (main thread, every worker) gets its own objects,
 * and every object keeps its own state.
 */
#ifndef EVLOOP_NATIVE_COMMON_H
#define EVLOOP_NATIVE_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <node_api.h>
#include <uv.h>

/* Event bits: libvirt's virEventHandleType values, used by every evloop package. */
#define EV_READABLE 1
#define EV_WRITABLE 2
#define EV_ERROR 4
#define EV_HANGUP 8
#define EV_ALL (EV_READABLE | EV_WRITABLE | EV_ERROR | EV_HANGUP)

/* Descriptor numbers index plain arrays; anything above this is refused as out of range so a
 * wild number cannot make the tables huge. Real descriptors stay far below it. */
#define EV_MAX_FD (1 << 24)

/* Default interval of the sweep that finds descriptors closed (or reused) while watched. */
#define EV_DEFAULT_SWEEP_MS 250

/* Records are looked up by descriptor number. States shared by the poller and the waiter. */
enum {
  REC_IDLE = 0,   /* no kernel registration: the fd was not open, or its handle was released */
  REC_ACTIVE = 1, /* registered and polling */
  REC_STOPPED = 2 /* stopped after an error or the sweep; a later watch() registers it again */
};

/* The identity of an open file: a number closed and reused gets a different one. */
typedef struct ev_identity {
  uint64_t dev;
  uint64_t ino;
} ev_identity;

/* 0 on success, or a negative libuv-style error code (-errno on Unix). */
int ev_identity_of(int fd, ev_identity* out);
int ev_identity_equal(const ev_identity* a, const ev_identity* b);

/* Throws a Node-style system error: message "CODE: description, syscall", with `code`,
 * `errno` (negative, as Node's own errors) and `syscall` properties. */
void ev_throw_sys_error(napi_env env, int uv_err, const char* syscall);
void ev_throw_error(napi_env env, const char* code, const char* message);
void ev_throw_type_error(napi_env env, const char* code, const char* message);
void ev_throw_range_error(napi_env env, const char* code, const char* message);

/* Argument readers: they throw (and return 0) on a wrong type or range, else return 1. */
int ev_get_int(napi_env env, napi_value value, const char* name, int64_t min, int64_t max, int64_t* out);
int ev_get_function(napi_env env, napi_value value, const char* name);
int ev_get_bool(napi_env env, napi_value value, const char* name, int* out);

/* Allocates an Int32Array of `length` elements backed by a fresh ArrayBuffer. */
napi_status ev_new_int32_array(napi_env env, size_t length, napi_value* out);
/* The live data pointer and length of an Int32Array (length 0 once its buffer is detached). */
napi_status ev_int32_array_data(napi_env env, napi_value array, int32_t** data, size_t* length);

/* Growable int queue, used for "descriptors with something to report". */
typedef struct ev_int_list {
  int* items;
  int len;
  int cap;
} ev_int_list;
int ev_int_list_push(ev_int_list* list, int value);
void ev_int_list_free(ev_int_list* list);

/* Grows a pointer table indexed by descriptor number so that index `fd` exists. */
int ev_table_reserve(void*** table, int* cap, int fd);

/* Monotonic milliseconds. */
uint64_t ev_now_ms(void);

/* Module parts. */
napi_status ev_init_uv_poller(napi_env env, napi_value exports);
napi_status ev_init_fd_waiter(napi_env env, napi_value exports);
napi_status ev_init_descriptors(napi_env env, napi_value exports);

#if defined(__GNUC__) || defined(__clang__)
#define EV_UNUSED __attribute__((unused))
#else
#define EV_UNUSED
#endif

#define EV_CHECK(env, call)                 \
  do {                                      \
    if ((call) != napi_ok) return NULL;     \
  } while (0)

#endif
