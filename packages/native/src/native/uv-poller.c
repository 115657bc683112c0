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
 * - A number that is not open at watch() gets no handle and no record, only an entry in the
 *   registry's list of ERRORs owed, delivered with the next batch: any number up to INT32_MAX is
 *   accepted, and only open descriptors take table slots.
 * - uv_poll_init sets O_NONBLOCK on the descriptor, that is on its open file description, which a
 *   watched stdin or inherited descriptor shares with other processes. A record notes whether it
 *   was off before, and turns it off again when it lets go of the file (see ev_rec_release_flags).
 */
#include "common.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <poll.h>
#endif

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
  ev_rec base; /* first: the registry and the dirty list hold &rec->base */
  poll_box* box;
};

struct poller {
  napi_env env;
  uv_loop_t* loop;
  napi_ref self_ref;
  napi_ref on_ready_ref;
  napi_ref on_timer_ref;
  ev_reports reports;
  napi_async_context async_ctx;
  napi_async_cleanup_hook_handle cleanup_hook;
  ev_registry reg;   /* records, the sweep's list, the batch being gathered */
  ev_rec_list dirty; /* records whose uv_poll_start libuv has not carried out yet */
  uv_timer_t timer;
  uint64_t timer_due_ns; /* when the armed timer is due by uv_hrtime() */
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
  ev_registry_free(&p->reg);
  free(p->dirty.items);
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

/* The sweep's list: the sweep timer runs only while something is on it. */
static void active_add(poller_t* p, prec_t* rec) {
  if (!ev_rec_list_add(&p->reg.active, &rec->base)) return; /* out of memory: not swept, still polled */
  if (p->reg.active.len == 1 && p->sweep_ms > 0) uv_timer_start(&p->sweep, on_sweep, (uint64_t)p->sweep_ms, (uint64_t)p->sweep_ms);
}

static void active_remove(poller_t* p, prec_t* rec) {
  ev_rec_list_remove(&p->reg.active, &rec->base);
  if (p->reg.active.len == 0) uv_timer_stop(&p->sweep);
}

/* Called after every successful uv_poll_start: libuv registers the descriptor with epoll only in
 * its next poll phase, so it must still be open then (see on_prepare). */
static void dirty_add(poller_t* p, prec_t* rec) {
#ifndef _WIN32 /* no deferred epoll_ctl there, and no identity to check */
  if (!ev_rec_list_add(&p->dirty, &rec->base)) return; /* out of memory: unchecked, as before this check existed */
  uv_prepare_start(&p->prepare, on_prepare); /* nothing when already started */
#else
  (void)p;
  (void)rec;
#endif
}

/* A released handle has nothing left for libuv to register: off the list. */
static void dirty_remove(poller_t* p, prec_t* rec) {
  ev_rec_list_remove(&p->dirty, &rec->base);
  if (p->dirty.len == 0) uv_prepare_stop(&p->prepare);
}

/* Has the check handle deliver what is due. From outside the poll phase (watch(), the sweep, the
 * pre-poll check) the loop must not block in its next poll before the check handle runs, so an
 * idle handle is started too. */
static void flush_soon(poller_t* p, int outside_poll) {
  uv_check_start(&p->check, on_check);
  if (outside_poll) uv_idle_start(&p->idle, noop_idle);
}

/* Queues rec for the next flush. */
static void queue_push(poller_t* p, prec_t* rec, int outside_poll) {
  if (ev_queue_push(&p->reg, &rec->base)) flush_soon(p, outside_poll);
}

/* Stops polling and lets the handle go (closed asynchronously, freed in its close callback).
 * uv_poll_stop is synchronous: the caller may close the descriptor right after. O_NONBLOCK, which
 * uv_poll_init turned on, goes back to what it was when the file was first polled. */
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
  rec->base.state = REC_IDLE;
  ev_rec_release_flags(&rec->base);
}

/* After an error (libuv's or the sweep's) the handle is stopped but kept: the record stays,
 * STOPPED, until watch() registers the descriptor again, and its flags are let go of now. */
static void stop_after_error(poller_t* p, prec_t* rec) {
  rec->base.state = REC_STOPPED;
  active_remove(p, rec);
  ev_rec_release_flags(&rec->base);
}

static void remove_rec(poller_t* p, prec_t* rec) {
  release_handle(p, rec);
  ev_rec_delete(&p->reg, &rec->base);
}

static prec_t* new_rec(poller_t* p, int fd) { return (prec_t*)ev_rec_new(&p->reg, fd, sizeof(prec_t)); }

/* What a descriptor libuv reported an error on still has to report with it: READABLE (data
 * buffered in a socket reset by its peer can still be read) and a hang-up's bits, as the waiter
 * keeps them from epoll. One poll(2) with timeout 0 on that descriptor; nothing off Unix. */
static int ready_after_error(int fd, int mask) {
#ifndef _WIN32
  struct pollfd pfd;
  pfd.fd = fd;
  pfd.events = (short)((mask & EV_READABLE) ? POLLIN : 0); /* POLLHUP comes unasked */
  pfd.revents = 0;
  int n;
  do {
    n = poll(&pfd, 1, 0);
  } while (n < 0 && errno == EINTR);
  if (n <= 0 || (pfd.revents & POLLNVAL)) return 0;
  int bits = 0;
  if (pfd.revents & POLLIN) bits |= EV_READABLE;
  if (pfd.revents & POLLHUP) bits |= EV_HANGUP | (mask & (EV_READABLE | EV_WRITABLE));
  return bits & (mask | EV_HANGUP);
#else
  (void)fd;
  (void)mask;
  return 0;
#endif
}

static void on_poll(uv_poll_t* handle, int status, int events) {
  poll_box* box = (poll_box*)handle;
  prec_t* rec = box->rec;
  if (rec == NULL) return;
  poller_t* p = box->poller;
  int bits = 0;
  if (status < 0) {
    /* libuv has already stopped the handle: report once; a later watch() starts it again. The
     * error (POLLERR: a socket reset by its peer) comes without the ready bits, so ask poll(2)
     * what the descriptor still has: data buffered before the reset is readable. */
    bits = EV_ERROR | ready_after_error(rec->base.fd, rec->base.mask);
    stop_after_error(p, rec);
  } else {
    if (events & UV_READABLE) bits |= EV_READABLE;
    if (events & UV_WRITABLE) bits |= EV_WRITABLE;
    if (events & UV_DISCONNECT) bits |= EV_HANGUP;
  }
  if (bits == 0) return;
  /* libuv reports only the events asked for, so unlike a batch (whose mask may have changed since
   * the report was queued) nothing needs filtering here. */
  if (!p->batch) {
    dispatch_one(p, rec->base.fd, bits);
    return;
  }
  rec->base.pending |= bits;
  queue_push(p, rec, 0);
}

static void on_sweep(uv_timer_t* timer) {
  poller_t* p = (poller_t*)timer->data;
  for (int i = p->reg.active.len - 1; i >= 0; i--) {
    prec_t* rec = (prec_t*)p->reg.active.items[i];
    if (ev_identity_changed(rec->base.fd, &rec->base.id)) {
      uv_poll_stop(&rec->box->handle);
      stop_after_error(p, rec);
      rec->base.pending |= EV_ERROR;
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
  for (int i = 0; i < p->dirty.len; i++) {
    prec_t* rec = (prec_t*)p->dirty.items[i];
    rec->base.list_index[EV_LIST_DIRTY] = -1; /* so release_handle leaves the list alone while it is walked */
    if (rec->base.state != REC_ACTIVE || rec->box == NULL) continue;
    if (ev_identity_changed(rec->base.fd, &rec->base.id)) {
      release_handle(p, rec);
      rec->base.pending |= EV_ERROR;
      queue_push(p, rec, 1); /* the idle handle keeps this poll phase from blocking */
    }
  }
  p->dirty.len = 0;
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

static void call_on_ready(poller_t* p, const ev_reports_view* view, int count) {
  napi_env env = p->env;
  napi_value fn, recv, argv[3];
  napi_get_reference_value(env, p->on_ready_ref, &fn);
  napi_get_reference_value(env, p->self_ref, &recv);
  argv[0] = view->fds_value;
  argv[1] = view->events_value;
  napi_create_int32(env, count, &argv[2]);
  route_exception(env, napi_make_callback(env, p->async_ctx, recv, fn, 3, argv, NULL));
}

/* Per-descriptor mode: one report, straight from the poll callback. Nothing of the record is
 * touched after the call, which may have removed it or closed the poller. */
static void dispatch_one(poller_t* p, int fd, int bits) {
  napi_env env = p->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  ev_reports_view view;
  if (ev_reports_get(env, &p->reports, 1, &view)) {
    view.fds[0] = fd;
    view.events[0] = bits;
    call_on_ready(p, &view, 1);
  }
  napi_close_handle_scope(env, scope);
}

/* The batch: what each queued record gathered, then the ERRORs owed to numbers not open at
 * watch(). */
static void on_check(uv_check_t* check) {
  poller_t* p = (poller_t*)check->data;
  napi_env env = p->env;
  napi_handle_scope scope;
  if (p->closed || napi_open_handle_scope(env, &scope) != napi_ok) return;

  ev_reports_view view;
  if (!ev_reports_get(env, &p->reports, ev_reports_due(&p->reg), &view)) {
    napi_close_handle_scope(env, scope);
    return; /* out of memory: the batch stays queued */
  }
  int count = ev_take_reports(&p->reg, view.fds, view.events);
  uv_check_stop(&p->check);
  uv_idle_stop(&p->idle);

  if (count > 0) call_on_ready(p, &view, count);
  napi_close_handle_scope(env, scope);
}

static void on_timer(uv_timer_t* timer);

/* Arms the timer for `due_ns` on uv_hrtime()'s clock. libuv counts whole milliseconds of a clock
 * read at the start of each iteration, so when something else wakes the loop it may run the timer
 * up to a millisecond before that instant: on_timer then re-arms for the rest instead of calling
 * JavaScript for nothing. `min_ms` keeps a timer re-armed from its own callback out of the timers
 * phase that is running it (libuv would run it again, forever). */
static void arm_timer(poller_t* p, uint64_t due_ns, uint64_t min_ms) {
  uv_update_time(p->loop);
  uint64_t now_ns = uv_hrtime();
  uint64_t timeout = due_ns > now_ns ? (due_ns - now_ns + 999999) / 1000000 : 0;
  p->timer_due_ns = due_ns;
  uv_timer_start(&p->timer, on_timer, timeout > min_ms ? timeout : min_ms, 0);
}

static uint64_t ms_to_ns(double ms) { return (uint64_t)ceil(ms * 1e6); }

/* onTimer(now) gets the time it fired and returns its next delay from then, which re-arms the
 * timer without another call from JavaScript: one crossing per wake-up, as Node's own timers do. */
static void on_timer(uv_timer_t* timer) {
  poller_t* p = (poller_t*)timer->data;
  uint64_t now_ns = uv_hrtime();
  if (now_ns < p->timer_due_ns) {
    arm_timer(p, p->timer_due_ns, 1);
    return;
  }
  napi_env env = p->env;
  napi_handle_scope scope;
  if (p->closed || napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value fn, recv, now, result = NULL;
  napi_get_reference_value(env, p->on_timer_ref, &fn);
  napi_get_reference_value(env, p->self_ref, &recv);
  napi_create_double(env, (double)now_ns / 1e6, &now);
  napi_status status = napi_make_callback(env, p->async_ctx, recv, fn, 1, &now, &result);
  route_exception(env, status);
  double ms;
  if (status == napi_ok && !p->closed && napi_get_value_double(env, result, &ms) == napi_ok && ms >= 0 && ms <= INT32_MAX)
    arm_timer(p, now_ns + ms_to_ns(ms), 1);
  napi_close_handle_scope(env, scope);
}

/* Stops everything. From an environment's teardown (from_teardown) no Node-API reference is
 * touched: the environment releases those itself. */
static void do_close(poller_t* p, int from_teardown) {
  if (p->closed) return;
  p->closed = 1;
  for (int fd = 0; fd < p->reg.table_cap; fd++) {
    if (p->reg.table[fd] != NULL) remove_rec(p, (prec_t*)p->reg.table[fd]);
  }
  ev_registry_clear_reports(&p->reg);
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
    ev_reports_delete(env, &p->reports);
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
    ev_reports_delete(env, &p->reports);
    napi_delete_reference(env, p->self_ref);
  }
  if (p->handles_done) poller_free(p);
}

static poller_t* unwrap(napi_env env, napi_callback_info info, size_t* argc, napi_value* argv, int require_open) {
  poller_t* p = (poller_t*)ev_unwrap(env, info, argc, argv, "a UvPoller");
  if (p != NULL && require_open && p->closed) {
    ev_throw_error(env, "ERR_EVLOOP_CLOSED", "The poller is closed");
    return NULL;
  }
  return p;
}

/* Not open: one ERROR in the next batch (never a throw, crash or busy loop), and no handle and no
 * record, since the number may be anything up to INT32_MAX (see EV_MAX_FD). */
static void owe_error(napi_env env, poller_t* p, prec_t* rec, int fd) {
  if (rec != NULL) remove_rec(p, rec);
  if (!ev_owe_error(&p->reg, fd)) {
    ev_throw_sys_error(env, UV_ENOMEM, "watch");
    return;
  }
  flush_soon(p, 1);
}

/* New, stopped, closed, or the number now names another file: polls it from a fresh handle. */
static void start_handle(napi_env env, poller_t* p, prec_t* rec, int fd, int mask, const ev_identity* id) {
  if (rec != NULL) release_handle(p, rec);
  poll_box* box = malloc(sizeof *box);
  if (box == NULL) {
    ev_throw_sys_error(env, UV_ENOMEM, "uv_poll_init");
    return;
  }
  int was_blocking = ev_is_blocking(fd); /* uv_poll_init turns O_NONBLOCK on: remember to undo it */
  int err = uv_poll_init(p->loop, &box->handle, fd);
  if (err != 0) {
    free(box); /* a failed init leaves the handle (and the flags) untouched: nothing to close */
    if (err == UV_EBADF) {
      owe_error(env, p, rec, fd); /* closed since the fstat */
      return;
    }
    if (rec != NULL) remove_rec(p, rec); /* registering nothing */
    ev_throw_sys_error(env, err, "uv_poll_init");
    return;
  }

  if (rec == NULL) rec = new_rec(p, fd);
  box->poller = p;
  box->rec = rec;
  box->handle.data = box;
  p->open_handles++;
  if (rec == NULL) {
    uv_close((uv_handle_t*)&box->handle, on_box_close);
    if (was_blocking) ev_set_nonblock(fd, 0); /* leave it as it was found */
    ev_throw_sys_error(env, UV_ENOMEM, "watch");
    return;
  }
  if (!p->refd) uv_unref((uv_handle_t*)&box->handle);
  rec->box = box;
  rec->base.id = *id;
  rec->base.restore_blocking = was_blocking;
  rec->base.mask = mask;
  rec->base.pending = 0; /* anything still pending described the previous file */
  rec->base.state = REC_ACTIVE;
  err = uv_poll_start(&box->handle, uv_events_for(mask), on_poll);
  if (err != 0) {
    remove_rec(p, rec);
    ev_throw_sys_error(env, err, "uv_poll_start");
    return;
  }
  active_add(p, rec);
  dirty_add(p, rec);
}

static napi_value poller_watch(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = {NULL, NULL};
  int fd, mask;
  ev_watch_plan plan;
  poller_t* p = unwrap(env, info, &argc, argv, 1);
  if (p == NULL || !ev_get_watch_args(env, argc, argv, &fd, &mask)) return NULL;
  ev_watch_action action = ev_plan_watch(env, &p->reg, fd, mask, &plan);
  prec_t* rec = (prec_t*)plan.rec;
  switch (action) {
    case EV_WATCH_DONE:
      break;
    case EV_WATCH_REMOVE:
      remove_rec(p, rec);
      break;
    case EV_WATCH_CHANGE:
      /* The common case: a new mask for the same file, on the same handle. */
      rec->base.mask = mask;
      /* Re-queues the registration (libuv stops the handle first): checked again before the poll. */
      if (uv_poll_start(&rec->box->handle, uv_events_for(mask), on_poll) == 0) dirty_add(p, rec);
      break;
    case EV_WATCH_START:
      start_handle(env, p, rec, fd, mask, &plan.id);
      break;
    case EV_WATCH_NOT_OPEN:
      owe_error(env, p, rec, fd);
      break;
  }
  return NULL;
}

static napi_value poller_set_timer(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1] = {NULL};
  double ms;
  poller_t* p = unwrap(env, info, &argc, argv, 1);
  if (p == NULL) return NULL;
  if (argc < 1) {
    ev_throw_type_error(env, "ERR_MISSING_ARGS", "setTimer(ms) needs one argument");
    return NULL;
  }
  if (!ev_get_double(env, argv[0], "ms", &ms)) return NULL;
  if (ms == -1) {
    uv_timer_stop(&p->timer);
  } else if (ms >= 0 && ms <= INT32_MAX) {
    arm_timer(p, uv_hrtime() + ms_to_ns(ms), 0);
  } else {
    char message[160];
    snprintf(message, sizeof message,
             "The value of \"ms\" is out of range. It must be -1 or >= 0 and <= 2147483647. Received %g", ms);
    ev_throw_range_error(env, "ERR_OUT_OF_RANGE", message);
  }
  return NULL;
}

static void apply_ref(poller_t* p) {
  void (*fn)(uv_handle_t*) = p->refd ? uv_ref : uv_unref;
  for (int fd = 0; fd < p->reg.table_cap; fd++) {
    prec_t* rec = (prec_t*)p->reg.table[fd];
    if (rec != NULL && rec->box != NULL) fn((uv_handle_t*)&rec->box->handle);
  }
  fn((uv_handle_t*)&p->timer);
  fn((uv_handle_t*)&p->idle);
}

/* ref() and unref(). */
static napi_value set_ref(napi_env env, napi_callback_info info, int refd) {
  size_t argc = 0;
  poller_t* p = unwrap(env, info, &argc, NULL, 0);
  if (p != NULL && !p->closed && p->refd != refd) {
    p->refd = refd;
    apply_ref(p);
  }
  return NULL;
}

static napi_value poller_ref(napi_env env, napi_callback_info info) { return set_ref(env, info, 1); }
static napi_value poller_unref(napi_env env, napi_callback_info info) { return set_ref(env, info, 0); }

static napi_value poller_close(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  poller_t* p = unwrap(env, info, &argc, NULL, 0);
  if (p != NULL) do_close(p, 0);
  return NULL;
}

/* new UvPoller(onReady, onTimer, sweepIntervalMs?, batch?) */
static napi_value poller_new(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4] = {NULL, NULL, NULL, NULL}, self, name;
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
  ev_reports reports;
  EV_CHECK(env, napi_get_uv_event_loop(env, &loop));
  EV_CHECK(env, napi_create_string_utf8(env, "evloop.UvPoller", NAPI_AUTO_LENGTH, &name));
  EV_CHECK(env, ev_reports_init(env, &reports));

  poller_t* p = calloc(1, sizeof *p);
  if (p == NULL) {
    ev_reports_delete(env, &reports);
    ev_throw_sys_error(env, UV_ENOMEM, "UvPoller");
    return NULL;
  }
  p->env = env;
  p->loop = loop;
  p->sweep_ms = (int)sweep_ms;
  p->batch = batch;
  p->refd = 1;
  p->reports = reports;
  ev_registry_init(&p->reg);
  p->dirty.slot = EV_LIST_DIRTY;
  if (napi_wrap(env, self, p, poller_finalize, NULL, NULL) != napi_ok) {
    ev_reports_delete(env, &reports);
    free(p);
    return NULL;
  }
  /* A strong reference to itself while open, like a socket: an active poller is not collected
   * just because JavaScript dropped it. close() releases it. */
  napi_create_reference(env, self, 1, &p->self_ref);
  napi_create_reference(env, argv[0], 1, &p->on_ready_ref);
  napi_create_reference(env, argv[1], 1, &p->on_timer_ref);
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
