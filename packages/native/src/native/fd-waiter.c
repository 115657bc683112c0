/*
 * FdWaiter: a blocking wait on descriptors for a loop driven by hand (no libuv involved).
 *
 * Linux uses epoll, level-triggered, so a wait costs what is ready rather than what is watched;
 * other systems fall back to poll(2) (define EVLOOP_FORCE_POLL to try the fallback on Linux).
 * Reports follow the libuv poller's rules so both loops agree on one contract:
 * - ERROR (EPOLLERR, POLLERR, POLLNVAL) is reported once and the descriptor stops being polled
 *   until watch() is called for it again; a level-triggered error would otherwise spin. READABLE
 *   (data buffered in a socket reset by its peer) and a hang-up's bits come with it.
 * - A hang-up (EPOLLHUP/EPOLLRDHUP) is HANGUP plus whichever of READABLE/WRITABLE is watched,
 *   as libuv does, so a pipe whose writer closed reads as READABLE|HANGUP in both loops.
 * - A descriptor that is not open at watch() is reported as ERROR by the next wait, once. It gets
 *   no record (any number up to INT32_MAX is accepted): only open descriptors take table slots.
 * - A watched descriptor is made non-blocking, as libuv does for the poller, and made blocking
 *   again when polling of it ends if that is how it was found (see ev_rec_release_flags).
 * - A descriptor closed while watched is silently dropped by epoll: a sweep compares each
 *   polled descriptor's (st_dev, st_ino) at most every sweep interval, also while blocked.
 * A pipe wakes the wait: interrupt() writes a byte to it, and another thread may write to
 * wakeFd directly. The wait drains it and never reports it.
 */
#include "common.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef _WIN32
#include <poll.h>
#include <unistd.h>
#include <sys/stat.h>
#if defined(__linux__) && !defined(EVLOOP_FORCE_POLL)
#define EV_USE_EPOLL 1
#define EV_WAIT_SYSCALL "epoll_wait"
#include <sys/epoll.h>
#else
#define EV_WAIT_SYSCALL "poll"
#endif

typedef struct wrec {
  ev_rec base;  /* first: the registry holds &rec->base */
  uint32_t gen; /* tags the epoll registration so events of an older one are recognised */
} wrec_t;

typedef struct waiter {
  napi_env env;
  ev_reports reports;
  int wake_r;
  int wake_w;
  ev_registry reg; /* records, the sweep's list, the reports of the next wait() */
  int sweep_ms;
  uint64_t last_sweep;
  int closed;
  int hook_added;
  uint32_t next_gen;
#ifdef EV_USE_EPOLL
  int epfd;
  struct epoll_event* evbuf;
  int evcap;
  int need_rebuild;
#else
  struct pollfd* pfds;
  int pfd_cap;
  int pfd_len;
  int dirty;
#endif
} waiter_t;

#define WAKE_TAG UINT64_MAX
#define MAX_EVENTS_PER_WAIT 65536

static wrec_t* lookup(waiter_t* w, int fd) { return (wrec_t*)ev_lookup(&w->reg, fd); }

/* ---- backend: kernel registration of one record ---- */

#ifdef EV_USE_EPOLL
static uint32_t epoll_events_for(int mask) {
  uint32_t events = EPOLLRDHUP; /* hang-ups are always wanted, as UV_DISCONNECT for the poller */
  if (mask & EV_READABLE) events |= EPOLLIN;
  if (mask & EV_WRITABLE) events |= EPOLLOUT;
  return events;
}

static int backend_ctl(waiter_t* w, int op, wrec_t* rec) {
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = epoll_events_for(rec->base.mask);
  ev.data.u64 = ((uint64_t)rec->gen << 32) | (uint32_t)rec->base.fd;
  return epoll_ctl(w->epfd, op, rec->base.fd, &ev) == 0 ? 0 : -errno;
}

static int backend_add(waiter_t* w, wrec_t* rec) {
  rec->gen = ++w->next_gen;
  return backend_ctl(w, EPOLL_CTL_ADD, rec);
}
static int backend_mod(waiter_t* w, wrec_t* rec) { return backend_ctl(w, EPOLL_CTL_MOD, rec); }
static void backend_del(waiter_t* w, wrec_t* rec) {
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  /* Fails harmlessly when the descriptor is already closed (the kernel dropped it) or is
   * another file now (ENOENT); a registration that outlives its number is caught by its tag. */
  epoll_ctl(w->epfd, EPOLL_CTL_DEL, rec->base.fd, &ev);
}
#else
static int backend_add(waiter_t* w, wrec_t* rec) {
  struct stat st;
  /* poll(2) calls regular files always ready; refuse them as epoll and libuv do. */
  if (fstat(rec->base.fd, &st) != 0) return -errno;
  if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) return UV_EPERM;
  rec->gen = ++w->next_gen;
  w->dirty = 1;
  return 0;
}
static int backend_mod(waiter_t* w, wrec_t* rec) {
  (void)rec;
  w->dirty = 1;
  return 0;
}
static void backend_del(waiter_t* w, wrec_t* rec) {
  (void)rec;
  w->dirty = 1;
}
#endif

/* Ends polling of the record's file. O_NONBLOCK, turned on when polling started, goes back to
 * what it was then. */
static void unregister(waiter_t* w, wrec_t* rec, int new_state) {
  if (rec->base.state == REC_ACTIVE) {
    backend_del(w, rec);
    ev_rec_list_remove(&w->reg.active, &rec->base);
  }
  rec->base.state = new_state;
  ev_rec_release_flags(&rec->base);
}

static void remove_rec(waiter_t* w, wrec_t* rec) {
  unregister(w, rec, REC_IDLE);
  ev_rec_delete(&w->reg, &rec->base);
}

static wrec_t* new_rec(waiter_t* w, int fd) { return (wrec_t*)ev_rec_new(&w->reg, fd, sizeof(wrec_t)); }

/* Reports an error once and stops polling the descriptor until it is watched again. */
static void report_error(waiter_t* w, wrec_t* rec) {
  unregister(w, rec, REC_STOPPED);
  rec->base.pending |= EV_ERROR;
  ev_queue_push(&w->reg, &rec->base);
}

static void sweep(waiter_t* w) {
  w->last_sweep = ev_now_ms();
  for (int i = w->reg.active.len - 1; i >= 0; i--) {
    wrec_t* rec = (wrec_t*)w->reg.active.items[i];
    if (ev_identity_changed(rec->base.fd, &rec->base.id)) report_error(w, rec);
  }
}

static void drain_wake(waiter_t* w) {
  char buf[256];
  while (read(w->wake_r, buf, sizeof buf) > 0) {
  }
}

/* The same translation as libuv's: an error ends polling; a full hang-up also makes the watched
 * directions ready (a read or write would not block); a read-side hang-up is HANGUP alone. An
 * error keeps READABLE and a hang-up's bits, reported once with the ERROR: a socket reset by its
 * peer may still hold data to read, and that READABLE would otherwise be lost. */
static void record_events(waiter_t* w, wrec_t* rec, int err, int hup, int rdhup, int in, int out) {
  int bits = 0;
  if (hup) bits |= EV_HANGUP | (rec->base.mask & (EV_READABLE | EV_WRITABLE));
  if (rdhup) bits |= EV_HANGUP;
  if (in) bits |= EV_READABLE;
  if (out && !err) bits |= EV_WRITABLE; /* with an error a write fails at once: nothing more to say */
  bits &= rec->base.mask | EV_HANGUP;
  if (err) {
    rec->base.pending |= bits;
    report_error(w, rec);
    return;
  }
  if (bits == 0) return;
  rec->base.pending |= bits;
  ev_queue_push(&w->reg, &rec->base);
}

#ifdef EV_USE_EPOLL
/* Replaces the epoll instance: the only way to get rid of a registration whose descriptor
 * number was closed while another copy of the file stayed open (a dup, a child process). */
static void rebuild(waiter_t* w) {
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) return;
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN;
  ev.data.u64 = WAKE_TAG;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, w->wake_r, &ev) != 0) {
    close(epfd);
    return;
  }
  close(w->epfd);
  w->epfd = epfd;
  for (int i = w->reg.active.len - 1; i >= 0; i--) {
    wrec_t* rec = (wrec_t*)w->reg.active.items[i];
    if (backend_add(w, rec) != 0) report_error(w, rec);
  }
  w->need_rebuild = 0;
}

/* One kernel wait; returns -errno on failure, else 1 if woken by the wake pipe, else 0. */
static int wait_once(waiter_t* w, int timeout) {
  int n = epoll_wait(w->epfd, w->evbuf, w->evcap, timeout);
  if (n < 0) return -errno;
  int woke = 0;
  for (int i = 0; i < n; i++) {
    struct epoll_event* e = &w->evbuf[i];
    if (e->data.u64 == WAKE_TAG) {
      drain_wake(w);
      woke = 1;
      continue;
    }
    int fd = (int)(uint32_t)(e->data.u64 & 0xffffffffu);
    uint32_t gen = (uint32_t)(e->data.u64 >> 32);
    wrec_t* rec = lookup(w, fd);
    if (rec == NULL || rec->base.state != REC_ACTIVE || rec->gen != gen) {
      w->need_rebuild = 1; /* a registration that outlived its descriptor */
      continue;
    }
    uint32_t x = e->events;
    record_events(w, rec, (x & EPOLLERR) != 0, (x & EPOLLHUP) != 0, (x & EPOLLRDHUP) != 0, (x & EPOLLIN) != 0,
                  (x & EPOLLOUT) != 0);
  }
  if (n == w->evcap && w->evcap < MAX_EVENTS_PER_WAIT) {
    struct epoll_event* grown = realloc(w->evbuf, (size_t)w->evcap * 2 * sizeof *grown);
    if (grown != NULL) {
      w->evbuf = grown;
      w->evcap *= 2;
    }
  }
  if (w->need_rebuild) rebuild(w);
  return woke;
}
#else
static int wait_once(waiter_t* w, int timeout) {
  if (w->dirty) {
    int need = w->reg.active.len + 1;
    if (need > w->pfd_cap) {
      struct pollfd* grown = realloc(w->pfds, (size_t)need * 2 * sizeof *grown);
      if (grown == NULL) return UV_ENOMEM;
      w->pfds = grown;
      w->pfd_cap = need * 2;
    }
    w->pfds[0].fd = w->wake_r;
    w->pfds[0].events = POLLIN;
    for (int i = 0; i < w->reg.active.len; i++) {
      ev_rec* rec = w->reg.active.items[i];
      w->pfds[i + 1].fd = rec->fd;
      w->pfds[i + 1].events = (short)(((rec->mask & EV_READABLE) ? POLLIN : 0) | ((rec->mask & EV_WRITABLE) ? POLLOUT : 0));
    }
    w->pfd_len = need;
    w->dirty = 0;
  }
  int n = poll(w->pfds, (nfds_t)w->pfd_len, timeout);
  if (n < 0) return -errno;
  int woke = 0;
  if (n > 0 && w->pfds[0].revents) {
    drain_wake(w);
    woke = 1;
  }
  for (int i = 1; n > 0 && i < w->pfd_len; i++) {
    short x = w->pfds[i].revents;
    if (x == 0) continue;
    wrec_t* rec = lookup(w, w->pfds[i].fd);
    if (rec == NULL || rec->base.state != REC_ACTIVE) continue;
    /* poll(2) goes by number: a number closed and reused would report the new file's events.
     * Poll already costs what is watched, so one fstat per ready descriptor is cheap here. */
    if (ev_identity_changed(rec->base.fd, &rec->base.id)) {
      report_error(w, rec);
      continue;
    }
    record_events(w, rec, (x & (POLLERR | POLLNVAL)) != 0, (x & POLLHUP) != 0, 0, (x & POLLIN) != 0,
                  (x & POLLOUT) != 0);
  }
  return woke;
}
#endif

/* ---- JavaScript side ---- */

static void waiter_release(waiter_t* w) {
  if (w->closed) return;
  w->closed = 1;
  for (int fd = 0; fd < w->reg.table_cap; fd++) {
    ev_rec* rec = w->reg.table[fd];
    if (rec == NULL) continue;
    ev_rec_release_flags(rec); /* the epoll set goes with the waiter; the flags go back */
    free(rec);
  }
  ev_registry_free(&w->reg);
#ifdef EV_USE_EPOLL
  close(w->epfd);
  free(w->evbuf);
  w->evbuf = NULL;
#else
  free(w->pfds);
  w->pfds = NULL;
#endif
  close(w->wake_r);
  close(w->wake_w);
}

static void waiter_env_cleanup(void* data) {
  waiter_t* w = (waiter_t*)data;
  w->hook_added = 0;
  waiter_release(w);
}

static void waiter_finalize(napi_env env, void* data, void* hint) {
  (void)hint;
  waiter_t* w = (waiter_t*)data;
  if (w->hook_added) napi_remove_env_cleanup_hook(env, waiter_env_cleanup, w);
  waiter_release(w);
  ev_reports_delete(env, &w->reports);
  free(w);
}

static waiter_t* unwrap(napi_env env, napi_callback_info info, size_t* argc, napi_value* argv, int require_open) {
  waiter_t* w = (waiter_t*)ev_unwrap(env, info, argc, argv, "an FdWaiter");
  if (w != NULL && require_open && w->closed) {
    ev_throw_error(env, "ERR_EVLOOP_CLOSED", "The waiter is closed");
    return NULL;
  }
  return w;
}

#ifdef EV_USE_EPOLL
#define EV_REGISTER_SYSCALL "epoll_ctl"
#else
#define EV_REGISTER_SYSCALL "poll"
#endif

/* Not open: one ERROR from the next wait(), and no record, since the number may be anything up
 * to INT32_MAX (see EV_MAX_FD). */
static void owe_error(napi_env env, waiter_t* w, wrec_t* rec, int fd) {
  if (rec != NULL) remove_rec(w, rec);
  if (!ev_owe_error(&w->reg, fd)) ev_throw_sys_error(env, UV_ENOMEM, "watch");
}

/* New, stopped, closed, or the number now names another file: registers it afresh. */
static void register_afresh(napi_env env, waiter_t* w, wrec_t* rec, int fd, int mask, const ev_identity* id) {
  if (rec != NULL) unregister(w, rec, REC_IDLE);
  if (rec == NULL) rec = new_rec(w, fd);
  if (rec == NULL) {
    ev_throw_sys_error(env, UV_ENOMEM, "watch");
    return;
  }
  rec->base.mask = mask;
  rec->base.pending = 0; /* anything still pending described the previous file */
  int err = backend_add(w, rec);
  if (err == UV_EBADF) {
    owe_error(env, w, rec, fd); /* closed since the fstat */
    return;
  }
  if (err != 0) {
    remove_rec(w, rec); /* registering nothing */
    ev_throw_sys_error(env, err, EV_REGISTER_SYSCALL);
    return;
  }
  rec->base.id = *id;
  rec->base.state = REC_ACTIVE;
  /* Non-blocking while watched, as libuv makes the poller's descriptors; undone on release. */
  rec->base.restore_blocking = ev_is_blocking(fd) && ev_set_nonblock(fd, 1) == 0;
  ev_rec_list_add(&w->reg.active, &rec->base); /* out of memory: polled, not swept */
}

static napi_value waiter_watch(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = {NULL, NULL};
  int fd, mask;
  ev_watch_plan plan;
  waiter_t* w = unwrap(env, info, &argc, argv, 1);
  if (w == NULL || !ev_get_watch_args(env, argc, argv, &fd, &mask)) return NULL;
  if (fd == w->wake_r || fd == w->wake_w) {
    ev_throw_range_error(env, "ERR_OUT_OF_RANGE", "The waiter's own wake-up descriptor cannot be watched");
    return NULL;
  }
  ev_watch_action action = ev_plan_watch(env, &w->reg, fd, mask, &plan);
  wrec_t* rec = (wrec_t*)plan.rec;
  switch (action) {
    case EV_WATCH_DONE:
      break;
    case EV_WATCH_REMOVE:
      remove_rec(w, rec);
      break;
    case EV_WATCH_CHANGE: {
      int old = rec->base.mask;
      rec->base.mask = mask;
      if ((old & (EV_READABLE | EV_WRITABLE)) == (mask & (EV_READABLE | EV_WRITABLE))) break;
      if (backend_mod(w, rec) == 0) break;
      /* Closed and reopened as the same file: register it afresh. */
      register_afresh(env, w, rec, fd, mask, &plan.id);
      break;
    }
    case EV_WATCH_START:
      register_afresh(env, w, rec, fd, mask, &plan.id);
      break;
    case EV_WATCH_NOT_OPEN:
      owe_error(env, w, rec, fd);
      break;
  }
  return NULL;
}

static napi_value waiter_wait(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1] = {NULL}, result;
  int64_t timeout;
  waiter_t* w = unwrap(env, info, &argc, argv, 1);
  if (w == NULL) return NULL;
  if (argc < 1) {
    ev_throw_type_error(env, "ERR_MISSING_ARGS", "wait(timeoutMs) needs one argument");
    return NULL;
  }
  /* -1 or Infinity waits forever; other values are rounded up to whole milliseconds, so the wait
   * never ends before the time asked for. */
  napi_valuetype type;
  double ms;
  EV_CHECK(env, napi_typeof(env, argv[0], &type));
  if (type != napi_number) {
    ev_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "The \"timeoutMs\" argument must be of type number");
    return NULL;
  }
  EV_CHECK(env, napi_get_value_double(env, argv[0], &ms));
  if (ms == -1 || ms > (double)INT32_MAX) {
    timeout = -1;
  } else if (ms >= 0) {
    timeout = (int64_t)ceil(ms);
  } else {
    ev_throw_range_error(env, "ERR_OUT_OF_RANGE", "The value of \"timeoutMs\" is out of range. It must be -1 or >= 0");
    return NULL;
  }

  uint64_t start = ev_now_ms();
  uint64_t deadline = timeout >= 0 ? start + (uint64_t)timeout : UINT64_MAX;
  int sweeping = w->sweep_ms > 0;
  if (sweeping && w->reg.active.len > 0 && start - w->last_sweep >= (uint64_t)w->sweep_ms) sweep(w);

  for (;;) {
    uint64_t now = ev_now_ms();
    int slice;
    if (ev_reports_due(&w->reg) > 0) {
      slice = 0; /* something to report already: only pick up what else is ready */
    } else if (deadline == UINT64_MAX) {
      slice = -1;
    } else {
      slice = now >= deadline ? 0 : (int)(deadline - now);
    }
    /* Blocked for long with descriptors watched: wake up for the sweep, or a descriptor closed
     * meanwhile would never be reported. */
    if (sweeping && w->reg.active.len > 0 && slice != 0) {
      uint64_t next = w->last_sweep + (uint64_t)w->sweep_ms;
      int until = next > now ? (int)(next - now) : 0;
      if (slice < 0 || until < slice) slice = until;
    }
    int r = wait_once(w, slice);
    if (r < 0 && r != UV_EINTR) {
      ev_throw_sys_error(env, r, EV_WAIT_SYSCALL);
      return NULL;
    }
    /* EINTR (a signal handler ran) just loops with the remaining time. */
    if (r == 1 || ev_reports_due(&w->reg) > 0) break;
    now = ev_now_ms();
    if (sweeping && w->reg.active.len > 0 && now - w->last_sweep >= (uint64_t)w->sweep_ms) {
      sweep(w);
      if (ev_reports_due(&w->reg) > 0) break;
    }
    if (now >= deadline) break;
  }

  /* Copy the merged reports into the exposed arrays, replacing them when too small. */
  ev_reports_view view;
  if (!ev_reports_get(env, &w->reports, ev_reports_due(&w->reg), &view)) {
    ev_throw_sys_error(env, UV_ENOMEM, "wait");
    return NULL;
  }
  int count = ev_take_reports(&w->reg, view.fds, view.events);
  EV_CHECK(env, napi_create_int32(env, count, &result));
  return result;
}

static napi_value waiter_interrupt(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  waiter_t* w = unwrap(env, info, &argc, NULL, 1);
  if (w == NULL) return NULL;
  char byte = 1;
  /* EAGAIN means the pipe is full of wake-ups already: the next wait returns anyway. */
  while (write(w->wake_w, &byte, 1) < 0 && errno == EINTR) {
  }
  return NULL;
}

static napi_value waiter_close(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  waiter_t* w = unwrap(env, info, &argc, NULL, 0);
  if (w == NULL || w->closed) return NULL;
  if (w->hook_added) {
    napi_remove_env_cleanup_hook(env, waiter_env_cleanup, w);
    w->hook_added = 0;
  }
  waiter_release(w);
  return NULL;
}

/* The fds and events getters: the current arrays (replaced by larger ones when needed). */
static napi_value get_reports(napi_env env, napi_callback_info info, int events) {
  size_t argc = 0;
  napi_value v;
  waiter_t* w = unwrap(env, info, &argc, NULL, 0);
  if (w == NULL) return NULL;
  EV_CHECK(env, napi_get_reference_value(env, events ? w->reports.events : w->reports.fds, &v));
  return v;
}

static napi_value waiter_get_fds(napi_env env, napi_callback_info info) { return get_reports(env, info, 0); }
static napi_value waiter_get_events(napi_env env, napi_callback_info info) { return get_reports(env, info, 1); }

static napi_value waiter_get_wake_fd(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  napi_value v;
  waiter_t* w = unwrap(env, info, &argc, NULL, 0);
  if (w == NULL) return NULL;
  EV_CHECK(env, napi_create_int32(env, w->closed ? -1 : w->wake_w, &v));
  return v;
}

/* A constructor that failed before napi_wrap: nothing but the arrays and the memory to let go. */
static napi_value new_failed(napi_env env, ev_reports* reports, waiter_t* w, int err, const char* syscall) {
  ev_reports_delete(env, reports);
  free(w);
  ev_throw_sys_error(env, err, syscall);
  return NULL;
}

/* new FdWaiter(sweepIntervalMs?) */
static napi_value waiter_new(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1] = {NULL}, self;
  ev_reports reports;
  int64_t sweep_ms = EV_DEFAULT_SWEEP_MS;
  EV_CHECK(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  if (argc >= 1) {
    napi_valuetype type;
    EV_CHECK(env, napi_typeof(env, argv[0], &type));
    if (type != napi_undefined && !ev_get_int(env, argv[0], "sweepIntervalMs", 0, INT32_MAX, &sweep_ms)) return NULL;
  }
  EV_CHECK(env, ev_reports_init(env, &reports));

  waiter_t* w = calloc(1, sizeof *w);
  if (w == NULL) return new_failed(env, &reports, w, UV_ENOMEM, "FdWaiter");
  w->env = env;
  w->reports = reports;
  ev_registry_init(&w->reg);
  w->sweep_ms = (int)sweep_ms;
  w->last_sweep = ev_now_ms();
  int pipefds[2];
  const char* syscall;
  int err = ev_pipe_cloexec_nonblock(pipefds, &syscall);
  if (err != 0) return new_failed(env, &reports, w, err, syscall);
  w->wake_r = pipefds[0];
  w->wake_w = pipefds[1];
#ifdef EV_USE_EPOLL
  w->evcap = 256;
  w->evbuf = malloc((size_t)w->evcap * sizeof *w->evbuf);
  w->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (w->epfd < 0 || w->evbuf == NULL) {
    err = w->epfd < 0 ? -errno : UV_ENOMEM;
    if (w->epfd >= 0) close(w->epfd);
    free(w->evbuf);
    close(w->wake_r);
    close(w->wake_w);
    return new_failed(env, &reports, w, err, "epoll_create1");
  }
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN;
  ev.data.u64 = WAKE_TAG;
  epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wake_r, &ev);
#else
  w->dirty = 1;
#endif
  if (napi_wrap(env, self, w, waiter_finalize, NULL, NULL) != napi_ok) {
    w->hook_added = 0;
    waiter_release(w);
    ev_reports_delete(env, &reports);
    free(w);
    return NULL;
  }
  /* Descriptors are released at environment teardown too (a worker that never called close). */
  if (napi_add_env_cleanup_hook(env, waiter_env_cleanup, w) == napi_ok) w->hook_added = 1;
  return self;
}

napi_status ev_init_fd_waiter(napi_env env, napi_value exports) {
  napi_value backend;
#ifdef EV_USE_EPOLL
  const char* name = "epoll";
#else
  const char* name = "poll";
#endif
  napi_status s = napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &backend);
  if (s != napi_ok) return s;
  napi_property_descriptor members[] = {
      {"watch", NULL, waiter_watch, NULL, NULL, NULL, napi_default_method, NULL},
      {"wait", NULL, waiter_wait, NULL, NULL, NULL, napi_default_method, NULL},
      {"interrupt", NULL, waiter_interrupt, NULL, NULL, NULL, napi_default_method, NULL},
      {"close", NULL, waiter_close, NULL, NULL, NULL, napi_default_method, NULL},
      {"fds", NULL, NULL, waiter_get_fds, NULL, NULL, napi_default_jsproperty, NULL},
      {"events", NULL, NULL, waiter_get_events, NULL, NULL, napi_default_jsproperty, NULL},
      {"wakeFd", NULL, NULL, waiter_get_wake_fd, NULL, NULL, napi_default_jsproperty, NULL},
      {"backend", NULL, NULL, NULL, NULL, backend, napi_enumerable, NULL},
  };
  napi_value cls;
  s = napi_define_class(env, "FdWaiter", NAPI_AUTO_LENGTH, waiter_new, NULL, sizeof members / sizeof members[0], members,
                        &cls);
  if (s != napi_ok) return s;
  return napi_set_named_property(env, exports, "FdWaiter", cls);
}

#else /* _WIN32 */

/* Windows: the blocking waiter is not provided (the libuv poller covers sockets there). */
static napi_value waiter_new(napi_env env, napi_callback_info info) {
  (void)info;
  ev_throw_sys_error(env, UV_ENOSYS, "FdWaiter");
  return NULL;
}

napi_status ev_init_fd_waiter(napi_env env, napi_value exports) {
  napi_value cls;
  napi_status s = napi_define_class(env, "FdWaiter", NAPI_AUTO_LENGTH, waiter_new, NULL, 0, NULL, &cls);
  if (s != napi_ok) return s;
  return napi_set_named_property(env, exports, "FdWaiter", cls);
}

#endif
