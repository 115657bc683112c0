/*
 * UvPoller: descriptors and one timer on the calling environment's libuv loop.
 *
 * Why it looks the way it does:
 * - The loop comes from napi_get_uv_event_loop, never uv_default_loop, so a worker thread gets
 *   its own loop and pollers in several threads run at once.
 * - By default poll callbacks never call JavaScript. They OR what they saw into the descriptor's
 *   record and queue the descriptor once; a uv_check handle then hands the whole batch to
 *   JavaScript in one napi_make_callback per loop iteration. Crossing into JavaScript is the cost
 *   that matters, and libuv may report a level-triggered descriptor up to 48 times per iteration.
 * - With batch off, a poll callback calls JavaScript itself, once per report: the bare uv_poll
 *   binding that benchmarks measure the batched contract against. Only the reports made outside
 *   the poll phase (not open at watch(), the sweep) still go through the check handle, which
 *   keeps one path for them and changes nothing about what a benchmark measures.
 * - The queue holds descriptor numbers, not record pointers: a record removed (watch(fd, 0))
 *   before the flush is simply not found, or a newer record for the same number is found with
 *   nothing pending, so records can be freed at once and nothing stale is ever reported.
 * - A descriptor closed without watch(fd, 0) is silently dropped by epoll and its number may be
 *   reused: a sweep on an unref'd timer compares each polled descriptor's (st_dev, st_ino) with
 *   what it was when polling started and reports ERROR once when it is gone or changed.
 * - uv_poll_start only queues the kernel registration (always an EPOLL_CTL_ADD: it stops the
 *   handle first) until the loop's next poll phase, and libuv aborts the process when that
 *   epoll_ctl fails, as it does for a descriptor closed in between. So every handle started since
 *   the last poll phase is on a "dirty" list, and a uv_prepare handle (run right before the poll
 *   phase, with no JavaScript in between) fstats each one: a descriptor that is gone, or whose
 *   number now names another file, is stopped (which takes it off libuv's queue) and released
 *   before libuv touches it, and reported as ERROR once in that iteration's batch. The prepare
 *   handle is unref'd and runs only while the list is non-empty.
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

typedef struct poller poller_t;
typedef struct prec prec_t;

/* A uv_poll_t lives apart from its record so a record can be freed (or given a new handle)
 * while the old handle waits for its close callback. */
typedef struct poll_box {
  uv_poll_t handle;
  poller_t* poller;
  prec_t* rec; /* NULL once detached: late callbacks are ignored */
} poll_box;

struct prec {
  int fd;
  int mask;    /* interest, as given to watch() */
  int pending; /* event bits seen since the last flush */
  int queued;  /* fd is in the flush queue */
  int state;   /* REC_IDLE, REC_ACTIVE or REC_STOPPED */
  int active_index;
  int dirty_index; /* index in the dirty list (started since the last pre-poll check), or -1 */
  ev_identity id;
  poll_box* box;
};

struct poller {
  napi_env env;
  uv_loop_t* loop;
  napi_ref self_ref;
  napi_ref on_ready_ref;
  napi_ref on_timer_ref;
  napi_ref fds_ref;
  napi_ref events_ref;
  napi_async_context async_ctx;
  napi_async_cleanup_hook_handle cleanup_hook;
  prec_t** table;
  int table_cap;
  prec_t** active;
  int active_len;
  int active_cap;
  ev_int_list queue;
  prec_t** dirty; /* records whose uv_poll_start libuv has not carried out yet */
  int dirty_len;
  int dirty_cap;
  uv_timer_t timer;
  uv_timer_t sweep;
  uv_check_t check;
  uv_idle_t idle;
  uv_prepare_t prepare; /* checks the dirty list before the poll phase; active only while it is non-empty */
  int sweep_ms;
  int batch; /* 0: each poll callback calls onReady itself (per-descriptor mode) */
  int refd;
  int closed;
  int open_handles;
  int handles_done;
  int wrapper_gone;
  int refs_released;
};

static void poller_free(poller_t* p) {
  free(p->table);
  free(p->active);
  free(p->dirty);
  ev_int_list_free(&p->queue);
  free(p);
}

/* Runs when the last handle is closed: only then may the async cleanup hook go (an environment
 * being torn down waits for it) and, once JavaScript let go of the object, the memory. */
static void handle_closed(poller_t* p) {
  if (--p->open_handles > 0 || !p->closed) return;
  p->handles_done = 1;
  if (p->cleanup_hook != NULL) {
    napi_async_cleanup_hook_handle hook = p->cleanup_hook;
    p->cleanup_hook = NULL;
    napi_remove_async_cleanup_hook(hook);
  }
  if (p->wrapper_gone) poller_free(p);
}

static void on_box_close(uv_handle_t* handle) {
  poll_box* box = (poll_box*)handle;
  poller_t* p = box->poller;
  free(box);
  handle_closed(p);
}

static void on_fixed_close(uv_handle_t* handle) { handle_closed((poller_t*)handle->data); }

static void noop_idle(uv_idle_t* idle) { (void)idle; }

static prec_t* lookup(poller_t* p, int fd) { return fd < p->table_cap ? p->table[fd] : NULL; }

static int uv_events_for(int mask) {
  /* UV_DISCONNECT always, so a hang-up is seen even on a pipe whose writer closed (libuv then
   * reports it as READABLE only). */
  int events = UV_DISCONNECT;
  if (mask & EV_READABLE) events |= UV_READABLE;
  if (mask & EV_WRITABLE) events |= UV_WRITABLE;
  return events;
}

static void on_sweep(uv_timer_t* timer);
static void on_check(uv_check_t* check);
static void on_prepare(uv_prepare_t* prepare);
static void dispatch_one(poller_t* p, int fd, int bits);

static void active_add(poller_t* p, prec_t* rec) {
  if (p->active_len == p->active_cap) {
    int cap = p->active_cap ? p->active_cap * 2 : 64;
    prec_t** grown = realloc(p->active, (size_t)cap * sizeof(prec_t*));
    if (grown == NULL) return; /* not swept, still polled */
    p->active = grown;
    p->active_cap = cap;
  }
  rec->active_index = p->active_len;
  p->active[p->active_len++] = rec;
  if (p->active_len == 1 && p->sweep_ms > 0) uv_timer_start(&p->sweep, on_sweep, (uint64_t)p->sweep_ms, (uint64_t)p->sweep_ms);
}

static void active_remove(poller_t* p, prec_t* rec) {
  int i = rec->active_index;
  if (i < 0) return;
  prec_t* last = p->active[--p->active_len];
  p->active[i] = last;
  last->active_index = i;
  rec->active_index = -1;
  if (p->active_len == 0) uv_timer_stop(&p->sweep);
}

/* Called after every successful uv_poll_start: libuv registers the descriptor with epoll only in
 * its next poll phase, so it must still be open then (see on_prepare). */
static void dirty_add(poller_t* p, prec_t* rec) {
#ifndef _WIN32 /* no deferred epoll_ctl there, and no identity to check */
  if (rec->dirty_index >= 0) return;
  if (p->dirty_len == p->dirty_cap) {
    int cap = p->dirty_cap ? p->dirty_cap * 2 : 64;
    prec_t** grown = realloc(p->dirty, (size_t)cap * sizeof(prec_t*));
    if (grown == NULL) return; /* out of memory: unchecked, as before this check existed */
    p->dirty = grown;
    p->dirty_cap = cap;
  }
  rec->dirty_index = p->dirty_len;
  p->dirty[p->dirty_len++] = rec;
  uv_prepare_start(&p->prepare, on_prepare); /* nothing when already started */
#else
  (void)p;
  (void)rec;
#endif
}

/* A released handle has nothing left for libuv to register: off the list. */
static void dirty_remove(poller_t* p, prec_t* rec) {
  int i = rec->dirty_index;
  if (i < 0) return;
  prec_t* last = p->dirty[--p->dirty_len];
  p->dirty[i] = last;
  last->dirty_index = i;
  rec->dirty_index = -1;
  if (p->dirty_len == 0) uv_prepare_stop(&p->prepare);
}

/* Queues rec for the next flush. From outside the poll phase (watch(), the sweep) the loop must
 * not block in its next poll before the check handle runs, so an idle handle is started too. */
static void queue_push(poller_t* p, prec_t* rec, int outside_poll) {
  if (!rec->queued) {
    if (!ev_int_list_push(&p->queue, rec->fd)) return;
    rec->queued = 1;
  }
  uv_check_start(&p->check, on_check);
  if (outside_poll) uv_idle_start(&p->idle, noop_idle);
}

/* Stops polling and lets the handle go (closed asynchronously, freed in its close callback).
 * uv_poll_stop is synchronous: the caller may close the descriptor right after. */
static void release_handle(poller_t* p, prec_t* rec) {
  if (rec->box != NULL) {
    poll_box* box = rec->box;
    box->rec = NULL;
    uv_poll_stop(&box->handle);
    uv_close((uv_handle_t*)&box->handle, on_box_close);
    rec->box = NULL;
  }
  dirty_remove(p, rec);
  active_remove(p, rec);
  rec->state = REC_IDLE;
}

static void remove_rec(poller_t* p, prec_t* rec) {
  release_handle(p, rec);
  p->table[rec->fd] = NULL;
  free(rec);
}

static prec_t* new_rec(poller_t* p, int fd) {
  if (!ev_table_reserve((void***)&p->table, &p->table_cap, fd)) return NULL;
  prec_t* rec = calloc(1, sizeof *rec);
  if (rec == NULL) return NULL;
  rec->fd = fd;
  rec->active_index = -1;
  rec->dirty_index = -1;
  p->table[fd] = rec;
  return rec;
}

static void on_poll(uv_poll_t* handle, int status, int events) {
  poll_box* box = (poll_box*)handle;
  prec_t* rec = box->rec;
  if (rec == NULL) return;
  poller_t* p = box->poller;
  int bits = 0;
  if (status < 0) {
    /* libuv has already stopped the handle: report once; a later watch() starts it again. */
    bits = EV_ERROR;
    rec->state = REC_STOPPED;
    active_remove(p, rec);
  } else {
    if (events & UV_READABLE) bits |= EV_READABLE;
    if (events & UV_WRITABLE) bits |= EV_WRITABLE;
    if (events & UV_DISCONNECT) bits |= EV_HANGUP;
  }
  if (bits == 0) return;
  /* libuv reports only the events asked for, so unlike a batch (whose mask may have changed since
   * the report was queued) nothing needs filtering here. */
  if (!p->batch) {
    dispatch_one(p, rec->fd, bits);
    return;
  }
  rec->pending |= bits;
  queue_push(p, rec, 0);
}

static void on_sweep(uv_timer_t* timer) {
  poller_t* p = (poller_t*)timer->data;
  for (int i = p->active_len - 1; i >= 0; i--) {
    prec_t* rec = p->active[i];
    ev_identity id;
    int r = ev_identity_of(rec->fd, &id);
    if (r == UV_EBADF || (r == 0 && !ev_identity_equal(&id, &rec->id))) {
      uv_poll_stop(&rec->box->handle);
      rec->state = REC_STOPPED;
      active_remove(p, rec);
      rec->pending |= EV_ERROR;
      queue_push(p, rec, 1);
    }
  }
}

/* Runs right before the poll phase in which libuv carries out the registrations queued by
 * uv_poll_start (no JavaScript can run in between). A descriptor closed since its start would make
 * that epoll_ctl fail, and libuv aborts then: stop such a handle first (uv_poll_stop takes it off
 * libuv's watcher queue, so no epoll_ctl is made for it), release it and report ERROR once, in this
 * iteration's batch. A number that now names another file is treated the same way: the
 * registration would follow the wrong file. */
static void on_prepare(uv_prepare_t* prepare) {
  poller_t* p = (poller_t*)prepare->data;
  for (int i = 0; i < p->dirty_len; i++) {
    prec_t* rec = p->dirty[i];
    rec->dirty_index = -1; /* so release_handle leaves the list alone while it is walked */
    if (rec->state != REC_ACTIVE || rec->box == NULL) continue;
    ev_identity id;
    int r = ev_identity_of(rec->fd, &id);
    if (r == UV_EBADF || (r == 0 && !ev_identity_equal(&id, &rec->id))) {
      release_handle(p, rec);
      rec->pending |= EV_ERROR;
      queue_push(p, rec, 1); /* the idle handle keeps this poll phase from blocking */
    }
  }
  p->dirty_len = 0;
  uv_prepare_stop(&p->prepare);
}

/* An exception thrown by onReady/onTimer must not stay pending (it would poison every later
 * call and never reach process.on('uncaughtException')): take it and raise it as Node's own
 * callbacks do. */
static void route_exception(napi_env env, napi_status status) {
  if (status != napi_pending_exception) {
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) != napi_ok || !pending) return;
  }
  napi_value error;
  if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
}

static int replace_array(napi_env env, napi_ref* ref, size_t length) {
  napi_value array;
  if (ev_new_int32_array(env, length, &array) != napi_ok) return 0;
  napi_ref fresh;
  if (napi_create_reference(env, array, 1, &fresh) != napi_ok) return 0;
  napi_delete_reference(env, *ref);
  *ref = fresh;
  return 1;
}

/* The report arrays, with room for at least `need` entries, in the caller's handle scope. Fetched
 * fresh every time: JavaScript may have detached (transferred) a buffer. 0 when out of memory. */
static int report_arrays(poller_t* p, size_t need, napi_value* fds_value, napi_value* events_value, int32_t** fds,
                         int32_t** events) {
  napi_env env = p->env;
  size_t fds_len = 0, events_len = 0;
  napi_get_reference_value(env, p->fds_ref, fds_value);
  napi_get_reference_value(env, p->events_ref, events_value);
  ev_int32_array_data(env, *fds_value, fds, &fds_len);
  ev_int32_array_data(env, *events_value, events, &events_len);
  if (fds_len >= need && events_len >= need) return 1;
  size_t cap = fds_len * 2 > need ? fds_len * 2 : need;
  if (cap < 64) cap = 64;
  if (!replace_array(env, &p->fds_ref, cap) || !replace_array(env, &p->events_ref, cap)) return 0;
  napi_get_reference_value(env, p->fds_ref, fds_value);
  napi_get_reference_value(env, p->events_ref, events_value);
  ev_int32_array_data(env, *fds_value, fds, &fds_len);
  ev_int32_array_data(env, *events_value, events, &events_len);
  return 1;
}

static void call_on_ready(poller_t* p, napi_value fds_value, napi_value events_value, int count) {
  napi_env env = p->env;
  napi_value fn, recv, argv[3];
  napi_get_reference_value(env, p->on_ready_ref, &fn);
  napi_get_reference_value(env, p->self_ref, &recv);
  argv[0] = fds_value;
  argv[1] = events_value;
  napi_create_int32(env, count, &argv[2]);
  route_exception(env, napi_make_callback(env, p->async_ctx, recv, fn, 3, argv, NULL));
}

/* Per-descriptor mode: one report, straight from the poll callback. Nothing of the record is
 * touched after the call, which may have removed it or closed the poller. */
static void dispatch_one(poller_t* p, int fd, int bits) {
  napi_env env = p->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value fds_value, events_value;
  int32_t *fds = NULL, *events = NULL;
  if (report_arrays(p, 1, &fds_value, &events_value, &fds, &events)) {
    fds[0] = fd;
    events[0] = bits;
    call_on_ready(p, fds_value, events_value, 1);
  }
  napi_close_handle_scope(env, scope);
}

static void on_check(uv_check_t* check) {
  poller_t* p = (poller_t*)check->data;
  napi_env env = p->env;
  napi_handle_scope scope;
  if (p->closed || napi_open_handle_scope(env, &scope) != napi_ok) return;

  size_t qlen = (size_t)p->queue.len;
  napi_value fds_value, events_value;
  int32_t *fds = NULL, *events = NULL;
  if (!report_arrays(p, qlen, &fds_value, &events_value, &fds, &events)) {
    napi_close_handle_scope(env, scope);
    return; /* out of memory: the batch stays queued */
  }

  int count = 0;
  for (size_t i = 0; i < qlen; i++) {
    prec_t* rec = lookup(p, p->queue.items[i]);
    if (rec == NULL) continue; /* removed since it was queued */
    int bits = rec->pending & (rec->mask | EV_ERROR | EV_HANGUP);
    rec->pending = 0;
    rec->queued = 0;
    if (bits == 0) continue;
    fds[count] = rec->fd;
    events[count] = bits;
    count++;
  }
  p->queue.len = 0;
  uv_check_stop(&p->check);
  uv_idle_stop(&p->idle);

  if (count > 0) call_on_ready(p, fds_value, events_value, count);
  napi_close_handle_scope(env, scope);
}

static void on_timer(uv_timer_t* timer) {
  poller_t* p = (poller_t*)timer->data;
  napi_env env = p->env;
  napi_handle_scope scope;
  if (p->closed || napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value fn, recv;
  napi_get_reference_value(env, p->on_timer_ref, &fn);
  napi_get_reference_value(env, p->self_ref, &recv);
  route_exception(env, napi_make_callback(env, p->async_ctx, recv, fn, 0, NULL, NULL));
  napi_close_handle_scope(env, scope);
}

/* Stops everything. From an environment's teardown (from_teardown) no Node-API reference is
 * touched: the environment releases those itself. */
static void do_close(poller_t* p, int from_teardown) {
  if (p->closed) return;
  p->closed = 1;
  for (int fd = 0; fd < p->table_cap; fd++) {
    if (p->table[fd] != NULL) remove_rec(p, p->table[fd]);
  }
  p->queue.len = 0;
  uv_close((uv_handle_t*)&p->timer, on_fixed_close);
  uv_close((uv_handle_t*)&p->sweep, on_fixed_close);
  uv_close((uv_handle_t*)&p->check, on_fixed_close);
  uv_close((uv_handle_t*)&p->idle, on_fixed_close);
  uv_close((uv_handle_t*)&p->prepare, on_fixed_close);
  if (!from_teardown) {
    napi_env env = p->env;
    p->refs_released = 1;
    napi_delete_reference(env, p->on_ready_ref);
    napi_delete_reference(env, p->on_timer_ref);
    napi_delete_reference(env, p->fds_ref);
    napi_delete_reference(env, p->events_ref);
    napi_async_destroy(env, p->async_ctx);
    /* From now on the object may be collected; its finalizer frees the memory. */
    napi_delete_reference(env, p->self_ref);
  }
}

static void poller_cleanup_hook(napi_async_cleanup_hook_handle handle, void* data) {
  (void)handle; /* the same as p->cleanup_hook, removed once the handles are closed */
  do_close((poller_t*)data, 1);
}

static void poller_finalize(napi_env env, void* data, void* hint) {
  (void)hint;
  poller_t* p = (poller_t*)data;
  p->wrapper_gone = 1;
  if (!p->closed) do_close(p, 1);
  if (!p->refs_released) {
    /* Closed by the environment's teardown: the references are still ours to delete. */
    p->refs_released = 1;
    napi_delete_reference(env, p->on_ready_ref);
    napi_delete_reference(env, p->on_timer_ref);
    napi_delete_reference(env, p->fds_ref);
    napi_delete_reference(env, p->events_ref);
    napi_delete_reference(env, p->self_ref);
  }
  if (p->handles_done) poller_free(p);
}

static poller_t* unwrap(napi_env env, napi_callback_info info, size_t* argc, napi_value* argv, int require_open) {
  napi_value self;
  void* data = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) return NULL;
  if (napi_unwrap(env, self, &data) != napi_ok || data == NULL) {
    ev_throw_type_error(env, "ERR_INVALID_THIS", "Value of \"this\" must be a UvPoller");
    return NULL;
  }
  poller_t* p = (poller_t*)data;
  if (require_open && p->closed) {
    ev_throw_error(env, "ERR_EVLOOP_CLOSED", "The poller is closed");
    return NULL;
  }
  return p;
}

static napi_value poller_watch(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = {NULL, NULL};
  int64_t fd64, mask64;
  poller_t* p = unwrap(env, info, &argc, argv, 1);
  if (p == NULL) return NULL;
  if (argc < 2) {
    ev_throw_type_error(env, "ERR_MISSING_ARGS", "watch(fd, mask) needs two arguments");
    return NULL;
  }
  if (!ev_get_int(env, argv[0], "fd", 0, EV_MAX_FD - 1, &fd64)) return NULL;
  if (!ev_get_int(env, argv[1], "mask", 0, EV_ALL, &mask64)) return NULL;
  int fd = (int)fd64, mask = (int)mask64;
  prec_t* rec = lookup(p, fd);

  if (mask == 0) {
    if (rec != NULL) remove_rec(p, rec);
    return NULL;
  }

  ev_identity id;
  int r = ev_identity_of(fd, &id);
  if (r < 0 && r != UV_EBADF) {
    ev_throw_sys_error(env, r, "fstat");
    return NULL;
  }
  if (r == 0 && rec != NULL && rec->state == REC_ACTIVE && ev_identity_equal(&rec->id, &id)) {
    /* The common case: a new mask for the same file, on the same handle. */
    rec->mask = mask;
    /* Re-queues the registration (libuv stops the handle first): checked again before the poll. */
    if (uv_poll_start(&rec->box->handle, uv_events_for(mask), on_poll) == 0) dirty_add(p, rec);
    return NULL;
  }
  /* New, stopped, closed, or the number now names another file: start from a fresh handle. */
  if (rec != NULL) release_handle(p, rec);

  poll_box* box = NULL;
  int err = r;
  if (err == 0) {
    box = malloc(sizeof *box);
    if (box == NULL) {
      ev_throw_sys_error(env, UV_ENOMEM, "uv_poll_init");
      return NULL;
    }
    err = uv_poll_init(p->loop, &box->handle, fd);
    if (err != 0) {
      free(box); /* a failed init leaves the handle untouched: nothing to close */
      box = NULL;
    }
  }
  if (err == UV_EBADF) {
    /* Not open: no handle, one ERROR in the next batch (never a throw, crash or busy loop). */
    if (rec == NULL) rec = new_rec(p, fd);
    if (rec == NULL) {
      ev_throw_sys_error(env, UV_ENOMEM, "watch");
      return NULL;
    }
    rec->mask = mask;
    rec->pending |= EV_ERROR;
    queue_push(p, rec, 1);
    return NULL;
  }
  if (err != 0) {
    if (rec != NULL) remove_rec(p, rec); /* registering nothing */
    ev_throw_sys_error(env, err, "uv_poll_init");
    return NULL;
  }

  if (rec == NULL) rec = new_rec(p, fd);
  box->poller = p;
  box->rec = rec;
  box->handle.data = box;
  p->open_handles++;
  if (rec == NULL) {
    uv_close((uv_handle_t*)&box->handle, on_box_close);
    ev_throw_sys_error(env, UV_ENOMEM, "watch");
    return NULL;
  }
  if (!p->refd) uv_unref((uv_handle_t*)&box->handle);
  rec->box = box;
  rec->id = id;
  rec->mask = mask;
  rec->pending = 0; /* anything still pending described the previous file */
  rec->state = REC_ACTIVE;
  err = uv_poll_start(&box->handle, uv_events_for(mask), on_poll);
  if (err != 0) {
    remove_rec(p, rec);
    ev_throw_sys_error(env, err, "uv_poll_start");
    return NULL;
  }
  active_add(p, rec);
  dirty_add(p, rec);
  return NULL;
}

static napi_value poller_set_timer(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1] = {NULL};
  int64_t ms;
  poller_t* p = unwrap(env, info, &argc, argv, 1);
  if (p == NULL) return NULL;
  if (argc < 1) {
    ev_throw_type_error(env, "ERR_MISSING_ARGS", "setTimer(ms) needs one argument");
    return NULL;
  }
  if (!ev_get_int(env, argv[0], "ms", -1, INT32_MAX, &ms)) return NULL;
  if (ms < 0) {
    uv_timer_stop(&p->timer);
  } else {
    /* The loop's cached time dates from the start of this iteration; a caller that computed `ms`
     * from the real clock after a long callback would otherwise be woken that much early. */
    uv_update_time(p->loop);
    uv_timer_start(&p->timer, on_timer, (uint64_t)ms, 0);
  }
  return NULL;
}

static void apply_ref(poller_t* p) {
  void (*fn)(uv_handle_t*) = p->refd ? uv_ref : uv_unref;
  for (int fd = 0; fd < p->table_cap; fd++) {
    prec_t* rec = p->table[fd];
    if (rec != NULL && rec->box != NULL) fn((uv_handle_t*)&rec->box->handle);
  }
  fn((uv_handle_t*)&p->timer);
  fn((uv_handle_t*)&p->idle);
}

static napi_value poller_ref(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  poller_t* p = unwrap(env, info, &argc, NULL, 0);
  if (p != NULL && !p->closed && !p->refd) {
    p->refd = 1;
    apply_ref(p);
  }
  return NULL;
}

static napi_value poller_unref(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  poller_t* p = unwrap(env, info, &argc, NULL, 0);
  if (p != NULL && !p->closed && p->refd) {
    p->refd = 0;
    apply_ref(p);
  }
  return NULL;
}

static napi_value poller_close(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  poller_t* p = unwrap(env, info, &argc, NULL, 0);
  if (p != NULL) do_close(p, 0);
  return NULL;
}

/* new UvPoller(onReady, onTimer, sweepIntervalMs?, batch?) */
static napi_value poller_new(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4] = {NULL, NULL, NULL, NULL}, self, fds, events, name;
  int64_t sweep_ms = EV_DEFAULT_SWEEP_MS;
  int batch = 1;
  EV_CHECK(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  if (argc < 2) {
    ev_throw_type_error(env, "ERR_MISSING_ARGS", "UvPoller needs onReady and onTimer");
    return NULL;
  }
  if (!ev_get_function(env, argv[0], "onReady") || !ev_get_function(env, argv[1], "onTimer")) return NULL;
  if (argc >= 3) {
    napi_valuetype type;
    EV_CHECK(env, napi_typeof(env, argv[2], &type));
    if (type != napi_undefined && !ev_get_int(env, argv[2], "sweepIntervalMs", 0, INT32_MAX, &sweep_ms)) return NULL;
  }
  if (argc >= 4) {
    napi_valuetype type;
    EV_CHECK(env, napi_typeof(env, argv[3], &type));
    if (type != napi_undefined && !ev_get_bool(env, argv[3], "batch", &batch)) return NULL;
  }
#ifdef _WIN32
  sweep_ms = 0; /* sockets have no file identity to compare there */
#endif

  uv_loop_t* loop;
  EV_CHECK(env, napi_get_uv_event_loop(env, &loop));
  EV_CHECK(env, ev_new_int32_array(env, 64, &fds));
  EV_CHECK(env, ev_new_int32_array(env, 64, &events));
  EV_CHECK(env, napi_create_string_utf8(env, "evloop.UvPoller", NAPI_AUTO_LENGTH, &name));

  poller_t* p = calloc(1, sizeof *p);
  if (p == NULL) {
    ev_throw_sys_error(env, UV_ENOMEM, "UvPoller");
    return NULL;
  }
  p->env = env;
  p->loop = loop;
  p->sweep_ms = (int)sweep_ms;
  p->batch = batch;
  p->refd = 1;
  if (napi_wrap(env, self, p, poller_finalize, NULL, NULL) != napi_ok) {
    free(p);
    return NULL;
  }
  /* A strong reference to itself while open, like a socket: an active poller is not collected
   * just because JavaScript dropped it. close() releases it. */
  napi_create_reference(env, self, 1, &p->self_ref);
  napi_create_reference(env, argv[0], 1, &p->on_ready_ref);
  napi_create_reference(env, argv[1], 1, &p->on_timer_ref);
  napi_create_reference(env, fds, 1, &p->fds_ref);
  napi_create_reference(env, events, 1, &p->events_ref);
  napi_async_init(env, self, name, &p->async_ctx);

  uv_timer_init(loop, &p->timer);
  uv_timer_init(loop, &p->sweep);
  uv_check_init(loop, &p->check);
  uv_idle_init(loop, &p->idle);
  uv_prepare_init(loop, &p->prepare);
  p->timer.data = p->sweep.data = p->check.data = p->idle.data = p->prepare.data = p;
  p->open_handles = 5;
  /* The sweep, the flush and the pre-poll check never keep the process alive by themselves. */
  uv_unref((uv_handle_t*)&p->sweep);
  uv_unref((uv_handle_t*)&p->check);
  uv_unref((uv_handle_t*)&p->prepare);
  /* A worker's loop must be free of our handles before it closes: the environment waits for
   * this hook until every handle's close callback ran. */
  napi_add_async_cleanup_hook(env, poller_cleanup_hook, p, &p->cleanup_hook);
  return self;
}

napi_status ev_init_uv_poller(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"watch", NULL, poller_watch, NULL, NULL, NULL, napi_default_method, NULL},
      {"setTimer", NULL, poller_set_timer, NULL, NULL, NULL, napi_default_method, NULL},
      {"ref", NULL, poller_ref, NULL, NULL, NULL, napi_default_method, NULL},
      {"unref", NULL, poller_unref, NULL, NULL, NULL, napi_default_method, NULL},
      {"close", NULL, poller_close, NULL, NULL, NULL, napi_default_method, NULL},
  };
  napi_value cls;
  napi_status s = napi_define_class(env, "UvPoller", NAPI_AUTO_LENGTH, poller_new, NULL,
                                    sizeof methods / sizeof methods[0], methods, &cls);
  if (s != napi_ok) return s;
  return napi_set_named_property(env, exports, "UvPoller", cls);
}
