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

/* The largest descriptor number watch() accepts: any the evloop contract allows (an int32). A
 * number is only an index while it has a record, and records exist only for descriptors that were
 * open when watched, which the kernel keeps below RLIMIT_NOFILE (at most fs.nr_open on Linux). A
 * number that is not open costs one entry in the set of ERROR reports owed (ev_registry), until the
 * next report, and never a table slot, so a wild number cannot make the tables huge. */
#define EV_MAX_FD INT32_MAX

/* Default interval of the sweep that finds descriptors closed (or reused) while watched. */
#define EV_DEFAULT_SWEEP_MS 250

/* States of a record, shared by the poller and the waiter. */
enum {
  REC_IDLE = 0,   /* no kernel registration: its handle was released */
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
/* Whether `fd` is closed (EBADF) or now names a file other than `id`: what the sweeps and the
 * poller's pre-poll check look for. Any other fstat failure counts as unchanged, so a transient
 * error never turns into an ERROR report. One fstat. */
int ev_identity_changed(int fd, const ev_identity* id);

/* Throws a Node-style system error: message "CODE: description, syscall", with `code`,
 * `errno` (negative, as Node's own errors) and `syscall` properties. */
void ev_throw_sys_error(napi_env env, int uv_err, const char* syscall);
void ev_throw_error(napi_env env, const char* code, const char* message);
void ev_throw_type_error(napi_env env, const char* code, const char* message);
void ev_throw_range_error(napi_env env, const char* code, const char* message);

/* Argument readers: they throw (and return 0) on a wrong type or range, else return 1. */
/* Any number, NaN included: only the type is checked. */
int ev_get_double(napi_env env, napi_value value, const char* name, double* out);
int ev_get_int(napi_env env, napi_value value, const char* name, int64_t min, int64_t max, int64_t* out);
int ev_get_function(napi_env env, napi_value value, const char* name);
int ev_get_bool(napi_env env, napi_value value, const char* name, int* out);
/* watch(fd, mask)'s arguments, checked the same way for the poller and the waiter: fd an integer
 * in [0, EV_MAX_FD], mask one in [0, EV_ALL]. */
int ev_get_watch_args(napi_env env, size_t argc, const napi_value* argv, int* fd, int* mask);
/* The native object behind `this` (napi_wrap'ed), or NULL after throwing a TypeError that says
 * "Value of \"this\" must be <what>". Fills argc/argv as napi_get_cb_info does. */
void* ev_unwrap(napi_env env, napi_callback_info info, size_t* argc, napi_value* argv, const char* what);

/* Allocates an Int32Array of `length` elements backed by a fresh ArrayBuffer. */
napi_status ev_new_int32_array(napi_env env, size_t length, napi_value* out);
/* The live data pointer and length of an Int32Array (length 0 once its buffer is detached). */
napi_status ev_int32_array_data(napi_env env, napi_value array, int32_t** data, size_t* length);

/* The two Int32Arrays reports are written to (entry i: fds[i] and its events[i]), shared with
 * JavaScript and reused from one report to the next. */
typedef struct ev_reports {
  napi_ref fds;
  napi_ref events;
} ev_reports;
/* The arrays JavaScript sees, in the caller's handle scope, with their data. */
typedef struct ev_reports_view {
  napi_value fds_value;
  napi_value events_value;
  int32_t* fds;
  int32_t* events;
} ev_reports_view;
napi_status ev_reports_init(napi_env env, ev_reports* reports);
/* The arrays with room for at least `need` entries, replaced by larger ones (twice the size, at
 * least 64) when they are too small. Fetched afresh every time: JavaScript may have detached
 * (transferred) a buffer. 0 when out of memory. */
int ev_reports_get(napi_env env, ev_reports* reports, size_t need, ev_reports_view* view);
void ev_reports_delete(napi_env env, ev_reports* reports);

/* Growable int queue, used for "descriptors with something to report". */
typedef struct ev_int_list {
  int* items;
  int len;
  int cap;
} ev_int_list;
int ev_int_list_push(ev_int_list* list, int value);
void ev_int_list_free(ev_int_list* list);

/* A set of descriptor numbers (any int >= 0): open addressing, linear probing, -1 for an empty
 * slot. Adding, finding and removing are O(1) on average whatever the numbers. */
typedef struct ev_fd_set {
  int* slots;
  int cap; /* 0 or a power of two */
  int len;
} ev_fd_set;

/* What the poller and the waiter keep per watched descriptor. Each embeds it as the first member
 * of its own record (the poller adds its libuv handle, the waiter its epoll tag), so the tables,
 * lists and queues below serve both. */
enum { EV_LIST_ACTIVE = 0, EV_LIST_DIRTY = 1, EV_LISTS = 2 };
typedef struct ev_rec {
  int fd;
  int mask;                 /* interest, as given to watch() */
  int pending;              /* event bits seen since the last report */
  int queued;               /* fd is in the registry's report queue */
  int state;                /* REC_IDLE, REC_ACTIVE or REC_STOPPED */
  int list_index[EV_LISTS]; /* position in each ev_rec_list (by its slot), or -1 */
  int restore_blocking;     /* polling `id` turned its O_NONBLOCK on: turn it off on release */
  ev_identity id;           /* the file polled under this number */
} ev_rec;

/* An unordered list of records, each of which knows its position (list_index[slot]), so adding
 * and removing are O(1): the records being polled (what the sweep walks), and the poller's records
 * started since the last poll phase. */
typedef struct ev_rec_list {
  ev_rec** items;
  int len;
  int cap;
  int slot; /* EV_LIST_ACTIVE or EV_LIST_DIRTY */
} ev_rec_list;
/* 0 when out of memory (the record is then not on the list), else 1; a no-op when already on it. */
int ev_rec_list_add(ev_rec_list* list, ev_rec* rec);
void ev_rec_list_remove(ev_rec_list* list, ev_rec* rec);

/* Records by descriptor number, the records being polled, and what the next report will carry. */
typedef struct ev_registry {
  ev_rec** table; /* slots only for descriptors open when watched (see EV_MAX_FD) */
  int table_cap;
  ev_rec_list active;
  ev_int_list queue; /* descriptors whose record has something pending, each once */
  /* Descriptors that were not open at watch(), each owed one ERROR report and given no record:
   * the number may be anything up to INT32_MAX. It holds only what was watched so since the last
   * report; a set, so watching such a number again owes it nothing more. */
  ev_fd_set owed;
} ev_registry;

void ev_registry_init(ev_registry* reg);
/* Frees the registry's own memory; the records are the caller's. */
void ev_registry_free(ev_registry* reg);
static inline ev_rec* ev_lookup(const ev_registry* reg, int fd) { return fd < reg->table_cap ? reg->table[fd] : NULL; }
/* A zeroed record of `size` bytes (the embedding struct's) for `fd`, in the table, on no list.
 * Only for a descriptor that is open (its number is bounded by RLIMIT_NOFILE). Any ERROR still owed
 * to the number is dropped: the new watch replaces the one it reported on. NULL when out of memory. */
ev_rec* ev_rec_new(ev_registry* reg, int fd, size_t size);
/* Takes a record (already released by its owner) out of the table and the active list, and
 * frees it. */
void ev_rec_delete(ev_registry* reg, ev_rec* rec);
/* Queues a record for the next report (once, however often it is called); 0 when out of memory. */
int ev_queue_push(ev_registry* reg, ev_rec* rec);
/* Owes one ERROR report to a descriptor that has no record (once, however often it is called);
 * 0 when out of memory. */
int ev_owe_error(ev_registry* reg, int fd);
/* Drops the ERROR owed to `fd`, if any: watch(fd, 0) for a number that was not open. */
void ev_owed_drop(ev_registry* reg, int fd);
/* How many reports the next ev_take_reports may write at most (0: nothing to report). */
static inline size_t ev_reports_due(const ev_registry* reg) { return (size_t)reg->queue.len + (size_t)reg->owed.len; }
/* Writes the reports due (at most ev_reports_due) and empties the queue and the owed list: each
 * queued record's pending bits, filtered by its current mask (ERROR and HANGUP always pass), then
 * ERROR for each descriptor owed one. A number unwatched since it was queued has no record and
 * is skipped. Returns how many entries were written. */
int ev_take_reports(ev_registry* reg, int32_t* fds, int32_t* events);
/* Drops every report due, unwritten (a poller being closed). */
void ev_registry_clear_reports(ev_registry* reg);

/* What watch(fd, mask) has to do, decided once for both watchers by the rules they share; each
 * carries it out on its own registration (a libuv handle, an epoll or poll(2) entry). */
typedef enum {
  EV_WATCH_DONE,     /* nothing more: an exception was thrown, or mask 0 for a number without a
                        record (any ERROR still owed to it has been dropped) */
  EV_WATCH_REMOVE,   /* mask 0: stop polling plan->rec and delete it, before returning */
  EV_WATCH_CHANGE,   /* the number still names the file plan->rec polls: apply the new mask */
  EV_WATCH_START,    /* the number is open: poll the file plan->id afresh (a plan->rec is stale:
                        release it first) */
  EV_WATCH_NOT_OPEN  /* not open: delete plan->rec if any, and owe the number one ERROR */
} ev_watch_action;
typedef struct ev_watch_plan {
  ev_rec* rec;    /* the number's record, or NULL */
  ev_identity id; /* the file the number names now (EV_WATCH_CHANGE, EV_WATCH_START) */
} ev_watch_plan;
/* One fstat for a non-zero mask; it throws (EV_WATCH_DONE) if fstat fails other than with EBADF. */
ev_watch_action ev_plan_watch(napi_env env, ev_registry* reg, int fd, int mask, ev_watch_plan* plan);

/* O_NONBLOCK on a watched descriptor. libuv's uv_poll_init turns it on (on the open file
 * description, which a watched stdin or inherited descriptor shares with other processes); the
 * waiter does the same so both behave alike while watching. When the record lets go of the file,
 * ev_rec_release_flags turns it off again if watching turned it on, so a descriptor is left as it
 * was found. Off Unix (sockets only) there is no flag to read, and nothing is restored. */
/* Whether O_NONBLOCK is off on `fd` (0 if it is on or cannot be read). One fcntl. */
int ev_is_blocking(int fd);
/* Turns O_NONBLOCK on or off; 0 or -errno. */
int ev_set_nonblock(int fd, int on);
/* If rec->restore_blocking: clears it and turns O_NONBLOCK off, provided rec->fd still names the
 * file rec->id (a number closed, or reused by another file, is left alone). */
void ev_rec_release_flags(ev_rec* rec);

/* Sets close-on-exec and O_NONBLOCK on `fd`; 0 or -errno. */
int ev_set_cloexec_nonblock(int fd);
/* A pipe with both ends close-on-exec and non-blocking (atomically with pipe2 where it exists, so
 * a child spawned by another thread never inherits an end). 0, or -errno with `*syscall` set to
 * the call that failed; nothing stays open on failure. Not on Windows. */
int ev_pipe_cloexec_nonblock(int fds[2], const char** syscall);

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
