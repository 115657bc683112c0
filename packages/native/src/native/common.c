/* Helpers shared by the poller, the waiter and the descriptor functions. */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* pipe2 */
#endif
#include "common.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#ifndef _WIN32
#include <fcntl.h>
#include <unistd.h>
#endif

int ev_identity_of(int fd, ev_identity* out) {
#ifdef _WIN32
  /* Windows polls sockets only and has no inode numbers for them: the identity sweep is off
   * there, and every socket is treated as the same "file". */
  (void)fd;
  out->dev = 0;
  out->ino = 0;
  return 0;
#else
  struct stat st;
  if (fstat(fd, &st) != 0) return -errno;
  out->dev = (uint64_t)st.st_dev;
  out->ino = (uint64_t)st.st_ino;
  return 0;
#endif
}

int ev_identity_equal(const ev_identity* a, const ev_identity* b) {
  return a->dev == b->dev && a->ino == b->ino;
}

int ev_identity_changed(int fd, const ev_identity* id) {
  ev_identity now;
  int r = ev_identity_of(fd, &now);
  return r == UV_EBADF || (r == 0 && !ev_identity_equal(&now, id));
}

static void set_string(napi_env env, napi_value obj, const char* key, const char* value) {
  napi_value v;
  if (napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v) == napi_ok) napi_set_named_property(env, obj, key, v);
}

void ev_throw_sys_error(napi_env env, int uv_err, const char* syscall) {
  const char* code = uv_err_name(uv_err);
  char message[256];
  snprintf(message, sizeof message, "%s: %s, %s", code, uv_strerror(uv_err), syscall);
  napi_value msg, code_value, err, errno_value;
  if (napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg) != napi_ok) return;
  if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_value) != napi_ok) return;
  if (napi_create_error(env, code_value, msg, &err) != napi_ok) return;
  if (napi_create_int32(env, uv_err, &errno_value) == napi_ok) napi_set_named_property(env, err, "errno", errno_value);
  set_string(env, err, "syscall", syscall);
  napi_throw(env, err);
}

void ev_throw_error(napi_env env, const char* code, const char* message) { napi_throw_error(env, code, message); }
void ev_throw_type_error(napi_env env, const char* code, const char* message) { napi_throw_type_error(env, code, message); }
void ev_throw_range_error(napi_env env, const char* code, const char* message) { napi_throw_range_error(env, code, message); }

/* 1 if `value` is of type `want`, else throws ERR_INVALID_ARG_TYPE naming it `type_name`. */
static int expect_type(napi_env env, napi_value value, napi_valuetype want, const char* name, const char* type_name) {
  napi_valuetype type;
  char message[160];
  if (napi_typeof(env, value, &type) != napi_ok) return 0;
  if (type == want) return 1;
  snprintf(message, sizeof message, "The \"%s\" argument must be of type %s", name, type_name);
  ev_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return 0;
}

int ev_get_double(napi_env env, napi_value value, const char* name, double* out) {
  return expect_type(env, value, napi_number, name, "number") && napi_get_value_double(env, value, out) == napi_ok;
}

int ev_get_int(napi_env env, napi_value value, const char* name, int64_t min, int64_t max, int64_t* out) {
  char message[160];
  double d;
  if (!ev_get_double(env, value, name, &d)) return 0;
  if (!(d >= (double)min && d <= (double)max) || floor(d) != d) {
    snprintf(message, sizeof message, "The value of \"%s\" is out of range. It must be an integer >= %lld and <= %lld. Received %g",
             name, (long long)min, (long long)max, d);
    ev_throw_range_error(env, "ERR_OUT_OF_RANGE", message);
    return 0;
  }
  *out = (int64_t)d;
  return 1;
}

int ev_get_function(napi_env env, napi_value value, const char* name) {
  return expect_type(env, value, napi_function, name, "function");
}

int ev_get_bool(napi_env env, napi_value value, const char* name, int* out) {
  bool b;
  if (!expect_type(env, value, napi_boolean, name, "boolean")) return 0;
  if (napi_get_value_bool(env, value, &b) != napi_ok) return 0;
  *out = b ? 1 : 0;
  return 1;
}

int ev_get_watch_args(napi_env env, size_t argc, const napi_value* argv, int* fd, int* mask) {
  int64_t fd64, mask64;
  if (argc < 2) {
    ev_throw_type_error(env, "ERR_MISSING_ARGS", "watch(fd, mask) needs two arguments");
    return 0;
  }
  if (!ev_get_int(env, argv[0], "fd", 0, EV_MAX_FD, &fd64)) return 0;
  if (!ev_get_int(env, argv[1], "mask", 0, EV_ALL, &mask64)) return 0;
  *fd = (int)fd64;
  *mask = (int)mask64;
  return 1;
}

void* ev_unwrap(napi_env env, napi_callback_info info, size_t* argc, napi_value* argv, const char* what) {
  napi_value self;
  void* data = NULL;
  char message[96];
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) return NULL;
  if (napi_unwrap(env, self, &data) != napi_ok || data == NULL) {
    snprintf(message, sizeof message, "Value of \"this\" must be %s", what);
    ev_throw_type_error(env, "ERR_INVALID_THIS", message);
    return NULL;
  }
  return data;
}

napi_status ev_new_int32_array(napi_env env, size_t length, napi_value* out) {
  napi_value buffer;
  void* data;
  napi_status s = napi_create_arraybuffer(env, length * sizeof(int32_t), &data, &buffer);
  if (s != napi_ok) return s;
  return napi_create_typedarray(env, napi_int32_array, length, buffer, 0, out);
}

napi_status ev_int32_array_data(napi_env env, napi_value array, int32_t** data, size_t* length) {
  void* raw = NULL;
  size_t len = 0;
  napi_status s = napi_get_typedarray_info(env, array, NULL, &len, &raw, NULL, NULL);
  if (s != napi_ok) return s;
  if (raw == NULL) len = 0;
  *data = (int32_t*)raw;
  *length = len;
  return napi_ok;
}

napi_status ev_reports_init(napi_env env, ev_reports* reports) {
  napi_value fds, events;
  napi_status s;
  if ((s = ev_new_int32_array(env, 64, &fds)) != napi_ok) return s;
  if ((s = ev_new_int32_array(env, 64, &events)) != napi_ok) return s;
  if ((s = napi_create_reference(env, fds, 1, &reports->fds)) != napi_ok) return s;
  if ((s = napi_create_reference(env, events, 1, &reports->events)) != napi_ok) {
    napi_delete_reference(env, reports->fds);
    return s;
  }
  return napi_ok;
}

static int replace_array(napi_env env, napi_ref* ref, size_t length) {
  napi_value array;
  napi_ref fresh;
  if (ev_new_int32_array(env, length, &array) != napi_ok) return 0;
  if (napi_create_reference(env, array, 1, &fresh) != napi_ok) return 0;
  napi_delete_reference(env, *ref);
  *ref = fresh;
  return 1;
}

/* The current arrays and their lengths (0 for a detached buffer). */
static int fetch_view(napi_env env, ev_reports* reports, ev_reports_view* view, size_t* fds_len, size_t* events_len) {
  return napi_get_reference_value(env, reports->fds, &view->fds_value) == napi_ok &&
         napi_get_reference_value(env, reports->events, &view->events_value) == napi_ok &&
         ev_int32_array_data(env, view->fds_value, &view->fds, fds_len) == napi_ok &&
         ev_int32_array_data(env, view->events_value, &view->events, events_len) == napi_ok;
}

int ev_reports_get(napi_env env, ev_reports* reports, size_t need, ev_reports_view* view) {
  size_t fds_len = 0, events_len = 0;
  if (!fetch_view(env, reports, view, &fds_len, &events_len)) return 0;
  if (fds_len >= need && events_len >= need) return 1;
  size_t cap = fds_len * 2 > need ? fds_len * 2 : need;
  if (cap < 64) cap = 64;
  if (!replace_array(env, &reports->fds, cap) || !replace_array(env, &reports->events, cap)) return 0;
  return fetch_view(env, reports, view, &fds_len, &events_len);
}

void ev_reports_delete(napi_env env, ev_reports* reports) {
  napi_delete_reference(env, reports->fds);
  napi_delete_reference(env, reports->events);
}

int ev_int_list_push(ev_int_list* list, int value) {
  if (list->len == list->cap) {
    int cap = list->cap ? list->cap * 2 : 64;
    int* items = realloc(list->items, (size_t)cap * sizeof(int));
    if (items == NULL) return 0;
    list->items = items;
    list->cap = cap;
  }
  list->items[list->len++] = value;
  return 1;
}

void ev_int_list_free(ev_int_list* list) {
  free(list->items);
  list->items = NULL;
  list->len = list->cap = 0;
}

/* The slot a number hashes to (murmur3's finalizer), so runs of consecutive numbers spread out. */
static int fd_home(const ev_fd_set* set, int fd) {
  uint32_t x = (uint32_t)fd;
  x ^= x >> 16;
  x *= 0x85ebca6bu;
  x ^= x >> 13;
  x *= 0xc2b2ae35u;
  x ^= x >> 16;
  return (int)(x & (uint32_t)(set->cap - 1));
}

/* The slot holding fd, or the empty slot where it would go. */
static int fd_slot(const ev_fd_set* set, int fd) {
  int i = fd_home(set, fd);
  while (set->slots[i] != fd && set->slots[i] != -1) i = (i + 1) & (set->cap - 1);
  return i;
}

static int fd_set_grow(ev_fd_set* set) {
  int cap = set->cap ? set->cap * 2 : 16;
  int* slots = malloc((size_t)cap * sizeof(int));
  if (slots == NULL) return 0;
  memset(slots, 0xff, (size_t)cap * sizeof(int)); /* every slot -1 */
  ev_fd_set grown = {slots, cap, set->len};
  for (int i = 0; i < set->cap; i++) {
    if (set->slots[i] >= 0) slots[fd_slot(&grown, set->slots[i])] = set->slots[i];
  }
  free(set->slots);
  *set = grown;
  return 1;
}

/* 1 when added or already there, 0 when out of memory. */
static int fd_set_add(ev_fd_set* set, int fd) {
  if ((set->len + 1) * 4 > set->cap * 3 && !fd_set_grow(set)) return 0; /* at most 3/4 full */
  int i = fd_slot(set, fd);
  if (set->slots[i] == -1) {
    set->slots[i] = fd;
    set->len++;
  }
  return 1;
}

static void fd_set_remove(ev_fd_set* set, int fd) {
  if (set->len == 0) return;
  int i = fd_slot(set, fd);
  if (set->slots[i] == -1) return;
  /* Backward-shift deletion: move up each later entry of the run that would no longer be found
   * past the hole, so no tombstones are needed. */
  for (int j = (i + 1) & (set->cap - 1); set->slots[j] != -1; j = (j + 1) & (set->cap - 1)) {
    int home = fd_home(set, set->slots[j]);
    /* Whether home lies cyclically in (i, j]: then the entry is still reachable without slot i. */
    int reachable = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (!reachable) {
      set->slots[i] = set->slots[j];
      i = j;
    }
  }
  set->slots[i] = -1;
  set->len--;
}

/* Empties the set; a large table (left by a burst) is given back. */
static void fd_set_clear(ev_fd_set* set) {
  if (set->len == 0) return;
  if (set->cap > 64) {
    free(set->slots);
    set->slots = NULL;
    set->cap = 0;
  } else {
    memset(set->slots, 0xff, (size_t)set->cap * sizeof(int));
  }
  set->len = 0;
}

int ev_rec_list_add(ev_rec_list* list, ev_rec* rec) {
  if (rec->list_index[list->slot] >= 0) return 1;
  if (list->len == list->cap) {
    int cap = list->cap ? list->cap * 2 : 64;
    ev_rec** grown = realloc(list->items, (size_t)cap * sizeof(ev_rec*));
    if (grown == NULL) return 0;
    list->items = grown;
    list->cap = cap;
  }
  rec->list_index[list->slot] = list->len;
  list->items[list->len++] = rec;
  return 1;
}

void ev_rec_list_remove(ev_rec_list* list, ev_rec* rec) {
  int i = rec->list_index[list->slot];
  if (i < 0) return;
  ev_rec* last = list->items[--list->len];
  list->items[i] = last;
  last->list_index[list->slot] = i;
  rec->list_index[list->slot] = -1;
}

void ev_registry_init(ev_registry* reg) {
  memset(reg, 0, sizeof *reg);
  reg->active.slot = EV_LIST_ACTIVE;
}

void ev_registry_free(ev_registry* reg) {
  free(reg->table);
  free(reg->active.items);
  ev_int_list_free(&reg->queue);
  free(reg->owed.slots);
  ev_registry_init(reg);
}

/* Grows the table so that index `fd` exists. */
static int table_reserve(ev_registry* reg, int fd) {
  if (fd < reg->table_cap) return 1;
  int64_t next = reg->table_cap ? reg->table_cap : 64;
  while (next <= fd) next *= 2;
  if (next > INT32_MAX) next = INT32_MAX;
  if (fd >= next) return 0; /* fd == INT32_MAX: above any limit on open descriptors */
  ev_rec** grown = realloc(reg->table, (size_t)next * sizeof(ev_rec*));
  if (grown == NULL) return 0;
  memset(grown + reg->table_cap, 0, (size_t)(next - reg->table_cap) * sizeof(ev_rec*));
  reg->table = grown;
  reg->table_cap = (int)next;
  return 1;
}

ev_rec* ev_rec_new(ev_registry* reg, int fd, size_t size) {
  if (!table_reserve(reg, fd)) return NULL;
  ev_rec* rec = calloc(1, size);
  if (rec == NULL) return NULL;
  rec->fd = fd;
  for (int i = 0; i < EV_LISTS; i++) rec->list_index[i] = -1;
  reg->table[fd] = rec;
  ev_owed_drop(reg, fd);
  return rec;
}

void ev_rec_delete(ev_registry* reg, ev_rec* rec) {
  ev_rec_list_remove(&reg->active, rec);
  reg->table[rec->fd] = NULL;
  free(rec);
}

int ev_queue_push(ev_registry* reg, ev_rec* rec) {
  if (rec->queued) return 1;
  if (!ev_int_list_push(&reg->queue, rec->fd)) return 0;
  rec->queued = 1;
  return 1;
}

int ev_owe_error(ev_registry* reg, int fd) { return fd_set_add(&reg->owed, fd); }

void ev_owed_drop(ev_registry* reg, int fd) { fd_set_remove(&reg->owed, fd); }

int ev_take_reports(ev_registry* reg, int32_t* fds, int32_t* events) {
  int count = 0;
  for (int i = 0; i < reg->queue.len; i++) {
    ev_rec* rec = ev_lookup(reg, reg->queue.items[i]);
    /* No record: unwatched since it was queued. Not queued: a record made since (the number was
     * unwatched and watched again) that an earlier entry for the number already reported, or that
     * has nothing yet. */
    if (rec == NULL || !rec->queued) continue;
    int bits = rec->pending & (rec->mask | EV_ERROR | EV_HANGUP);
    rec->pending = 0;
    rec->queued = 0;
    if (bits == 0) continue;
    fds[count] = rec->fd;
    events[count] = bits;
    count++;
  }
  for (int i = 0; i < reg->owed.cap && reg->owed.len > 0; i++) {
    if (reg->owed.slots[i] < 0) continue;
    fds[count] = reg->owed.slots[i];
    events[count] = EV_ERROR;
    count++;
  }
  reg->queue.len = 0;
  fd_set_clear(&reg->owed);
  return count;
}

void ev_registry_clear_reports(ev_registry* reg) {
  reg->queue.len = 0;
  fd_set_clear(&reg->owed);
}

ev_watch_action ev_plan_watch(napi_env env, ev_registry* reg, int fd, int mask, ev_watch_plan* plan) {
  plan->rec = ev_lookup(reg, fd);
  if (mask == 0) {
    if (plan->rec != NULL) return EV_WATCH_REMOVE;
    ev_owed_drop(reg, fd); /* an ERROR still owed to a number that was not open */
    return EV_WATCH_DONE;
  }
  int r = ev_identity_of(fd, &plan->id);
  if (r == UV_EBADF) return EV_WATCH_NOT_OPEN;
  if (r < 0) {
    ev_throw_sys_error(env, r, "fstat");
    return EV_WATCH_DONE;
  }
  ev_rec* rec = plan->rec;
  if (rec != NULL && rec->state == REC_ACTIVE && ev_identity_equal(&rec->id, &plan->id)) return EV_WATCH_CHANGE;
  return EV_WATCH_START;
}

#ifndef _WIN32
int ev_is_blocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  return flags >= 0 && (flags & O_NONBLOCK) == 0;
}

int ev_set_nonblock(int fd, int on) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return -errno;
  int next = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
  if (next != flags && fcntl(fd, F_SETFL, next) != 0) return -errno;
  return 0;
}

void ev_rec_release_flags(ev_rec* rec) {
  if (!rec->restore_blocking) return;
  rec->restore_blocking = 0;
  /* Only the file that was found blocking: the number may have been closed, or reused by a file
   * this record never touched. */
  ev_identity now;
  if (ev_identity_of(rec->fd, &now) == 0 && ev_identity_equal(&now, &rec->id)) ev_set_nonblock(rec->fd, 0);
}

int ev_set_cloexec_nonblock(int fd) {
  int flags = fcntl(fd, F_GETFD);
  if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) != 0) return -errno;
  return ev_set_nonblock(fd, 1);
}

int ev_pipe_cloexec_nonblock(int fds[2], const char** syscall) {
#ifdef __linux__
  *syscall = "pipe2";
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return -errno;
#else
  int err;
  *syscall = "pipe";
  if (pipe(fds) != 0) return -errno;
  if ((err = ev_set_cloexec_nonblock(fds[0])) != 0 || (err = ev_set_cloexec_nonblock(fds[1])) != 0) {
    close(fds[0]);
    close(fds[1]);
    *syscall = "fcntl";
    return err;
  }
#endif
  return 0;
}
#else
int ev_is_blocking(int fd) {
  (void)fd;
  return 0;
}

int ev_set_nonblock(int fd, int on) {
  (void)fd;
  (void)on;
  return UV_ENOSYS;
}

void ev_rec_release_flags(ev_rec* rec) { rec->restore_blocking = 0; }
#endif

uint64_t ev_now_ms(void) { return uv_hrtime() / 1000000u; }
