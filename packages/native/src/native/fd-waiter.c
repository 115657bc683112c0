/*
 * FdWaiter: a blocking wait on descriptors for a loop driven by hand (no libuv involved).
 *
 * Linux uses epoll, level-triggered, so a wait costs what is ready rather than what is watched;
 * other systems fall back to poll(2) (define EVLOOP_FORCE_POLL to try the fallback on Linux).
 * Reports follow the libuv poller's rules so both loops agree on one contract:
 * - ERROR (EPOLLERR, POLLERR, POLLNVAL) is reported once and the descriptor stops being polled
 *   until watch() is called for it again; a level-triggered error would otherwise spin.
 * - A hang-up (EPOLLHUP/EPOLLRDHUP) is HANGUP plus whichever of READABLE/WRITABLE is watched,
 *   as libuv does, so a pipe whose writer closed reads as READABLE|HANGUP in both loops.
 * - A descriptor that is not open at watch() is reported as ERROR by the next wait, once.
 * - A descriptor closed while watched is silently dropped by epoll: a sweep compares each
 *   polled descriptor's (st_dev, st_ino) at most every sweep interval, also while blocked.
 * A pipe wakes the wait: interrupt() writes a byte to it, and another thread may write to
 * wakeFd directly. The wait drains it and never reports it.
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* pipe2 */
#endif
#include "common.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef _WIN32
#include <fcntl.h>
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
  int fd;
  int mask;
  int pending;
  int queued;
  int state;
  int active_index;
  uint32_t gen; /* tags the epoll registration so events of an older one are recognised */
  ev_identity id;
} wrec_t;

typedef struct waiter {
  napi_env env;
  napi_ref fds_ref;
  napi_ref events_ref;
  int wake_r;
  int wake_w;
  wrec_t** table;
  int table_cap;
  wrec_t** active;
  int active_len;
  int active_cap;
  ev_int_list queue;
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

static wrec_t* lookup(waiter_t* w, int fd) { return fd < w->table_cap ? w->table[fd] : NULL; }

EV_UNUSED static void set_cloexec_nonblock(int fd) {
  int flags = fcntl(fd, F_GETFD);
  if (flags >= 0) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  flags = fcntl(fd, F_GETFL);
  if (flags >= 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

static int make_wake_pipe(int fds[2]) {
#if defined(__linux__)
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return -errno;
#else
  if (pipe(fds) != 0) return -errno;
  set_cloexec_nonblock(fds[0]);
  set_cloexec_nonblock(fds[1]);
#endif
  return 0;
}

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
  ev.events = epoll_events_for(rec->mask);
  ev.data.u64 = ((uint64_t)rec->gen << 32) | (uint32_t)rec->fd;
  return epoll_ctl(w->epfd, op, rec->fd, &ev) == 0 ? 0 : -errno;
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
  epoll_ctl(w->epfd, EPOLL_CTL_DEL, rec->fd, &ev);
}
#else
static int backend_add(waiter_t* w, wrec_t* rec) {
  struct stat st;
  /* poll(2) calls regular files always ready; refuse them as epoll and libuv do. */
  if (fstat(rec->fd, &st) != 0) return -errno;
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

static void active_add(waiter_t* w, wrec_t* rec) {
  if (w->active_len == w->active_cap) {
    int cap = w->active_cap ? w->active_cap * 2 : 64;
    wrec_t** grown = realloc(w->active, (size_t)cap * sizeof(wrec_t*));
    if (grown == NULL) return;
    w->active = grown;
    w->active_cap = cap;
  }
  rec->active_index = w->active_len;
  w->active[w->active_len++] = rec;
}

static void active_remove(waiter_t* w, wrec_t* rec) {
  int i = rec->active_index;
  if (i < 0) return;
  wrec_t* last = w->active[--w->active_len];
  w->active[i] = last;
  last->active_index = i;
  rec->active_index = -1;
}

static void queue_push(waiter_t* w, wrec_t* rec) {
  if (rec->queued) return;
  if (!ev_int_list_push(&w->queue, rec->fd)) return;
  rec->queued = 1;
}

static void unregister(waiter_t* w, wrec_t* rec, int new_state) {
  if (rec->state == REC_ACTIVE) {
    backend_del(w, rec);
    active_remove(w, rec);
  }
  rec->state = new_state;
}

static void remove_rec(waiter_t* w, wrec_t* rec) {
  unregister(w, rec, REC_IDLE);
  w->table[rec->fd] = NULL;
  free(rec);
}

static wrec_t* new_rec(waiter_t* w, int fd) {
  if (!ev_table_reserve((void***)&w->table, &w->table_cap, fd)) return NULL;
  wrec_t* rec = calloc(1, sizeof *rec);
  if (rec == NULL) return NULL;
  rec->fd = fd;
  rec->active_index = -1;
  w->table[fd] = rec;
  return rec;
}

/* Reports an error once and stops polling the descriptor until it is watched again. */
static void report_error(waiter_t* w, wrec_t* rec) {
  unregister(w, rec, REC_STOPPED);
  rec->pending |= EV_ERROR;
  queue_push(w, rec);
}

static void sweep(waiter_t* w) {
  w->last_sweep = ev_now_ms();
  for (int i = w->active_len - 1; i >= 0; i--) {
    wrec_t* rec = w->active[i];
    ev_identity id;
    int r = ev_identity_of(rec->fd, &id);
    if (r == UV_EBADF || (r == 0 && !ev_identity_equal(&id, &rec->id))) report_error(w, rec);
  }
}

static void drain_wake(waiter_t* w) {
  char buf[256];
  while (read(w->wake_r, buf, sizeof buf) > 0) {
  }
}

/* The same translation as libuv's: an error ends polling; a full hang-up also makes the watched
 * directions ready (a read or write would not block); a read-side hang-up is HANGUP alone. */
static void record_events(waiter_t* w, wrec_t* rec, int err, int hup, int rdhup, int in, int out) {
  if (err) {
    report_error(w, rec);
    return;
  }
  int bits = 0;
  if (hup) bits |= EV_HANGUP | (rec->mask & (EV_READABLE | EV_WRITABLE));
  if (rdhup) bits |= EV_HANGUP;
  if (in) bits |= EV_READABLE;
  if (out) bits |= EV_WRITABLE;
  bits &= rec->mask | EV_HANGUP;
  if (bits == 0) return;
  rec->pending |= bits;
  queue_push(w, rec);
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
  for (int i = w->active_len - 1; i >= 0; i--) {
    wrec_t* rec = w->active[i];
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
    if (rec == NULL || rec->state != REC_ACTIVE || rec->gen != gen) {
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
    int need = w->active_len + 1;
    if (need > w->pfd_cap) {
      struct pollfd* grown = realloc(w->pfds, (size_t)need * 2 * sizeof *grown);
      if (grown == NULL) return UV_ENOMEM;
      w->pfds = grown;
      w->pfd_cap = need * 2;
    }
    w->pfds[0].fd = w->wake_r;
    w->pfds[0].events = POLLIN;
    for (int i = 0; i < w->active_len; i++) {
      wrec_t* rec = w->active[i];
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
    if (rec == NULL || rec->state != REC_ACTIVE) continue;
    /* poll(2) goes by number: a number closed and reused would report the new file's events.
     * Poll already costs what is watched, so one fstat per ready descriptor is cheap here. */
    ev_identity id;
    int r = ev_identity_of(rec->fd, &id);
    if (r == UV_EBADF || (r == 0 && !ev_identity_equal(&id, &rec->id))) {
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
  for (int fd = 0; fd < w->table_cap; fd++) {
    if (w->table[fd] != NULL) {
      free(w->table[fd]);
      w->table[fd] = NULL;
    }
  }
  free(w->table);
  free(w->active);
  ev_int_list_free(&w->queue);
  w->table = NULL;
  w->active = NULL;
  w->table_cap = w->active_len = w->active_cap = 0;
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
  napi_delete_reference(env, w->fds_ref);
  napi_delete_reference(env, w->events_ref);
  free(w);
}

static waiter_t* unwrap(napi_env env, napi_callback_info info, size_t* argc, napi_value* argv, int require_open) {
  napi_value self;
  void* data = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) return NULL;
  if (napi_unwrap(env, self, &data) != napi_ok || data == NULL) {
    ev_throw_type_error(env, "ERR_INVALID_THIS", "Value of \"this\" must be an FdWaiter");
    return NULL;
  }
  waiter_t* w = (waiter_t*)data;
  if (require_open && w->closed) {
    ev_throw_error(env, "ERR_EVLOOP_CLOSED", "The waiter is closed");
    return NULL;
  }
  return w;
}

static napi_value waiter_watch(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = {NULL, NULL};
  int64_t fd64, mask64;
  waiter_t* w = unwrap(env, info, &argc, argv, 1);
  if (w == NULL) return NULL;
  if (argc < 2) {
    ev_throw_type_error(env, "ERR_MISSING_ARGS", "watch(fd, mask) needs two arguments");
    return NULL;
  }
  if (!ev_get_int(env, argv[0], "fd", 0, EV_MAX_FD - 1, &fd64)) return NULL;
  if (!ev_get_int(env, argv[1], "mask", 0, EV_ALL, &mask64)) return NULL;
  int fd = (int)fd64, mask = (int)mask64;
  if (fd == w->wake_r || fd == w->wake_w) {
    ev_throw_range_error(env, "ERR_OUT_OF_RANGE", "The waiter's own wake-up descriptor cannot be watched");
    return NULL;
  }
  wrec_t* rec = lookup(w, fd);
  if (mask == 0) {
    if (rec != NULL) remove_rec(w, rec);
    return NULL;
  }

  ev_identity id;
  int r = ev_identity_of(fd, &id);
  if (r < 0 && r != UV_EBADF) {
    ev_throw_sys_error(env, r, "fstat");
    return NULL;
  }
  if (r == 0 && rec != NULL && rec->state == REC_ACTIVE && ev_identity_equal(&rec->id, &id)) {
    int old = rec->mask;
    rec->mask = mask;
    if ((old & (EV_READABLE | EV_WRITABLE)) == (mask & (EV_READABLE | EV_WRITABLE))) return NULL;
    int err = backend_mod(w, rec);
    if (err == 0) return NULL;
    /* Closed and reopened as the same file: register it afresh below. */
  }
  if (rec != NULL) unregister(w, rec, REC_IDLE);
  if (rec == NULL) rec = new_rec(w, fd);
  if (rec == NULL) {
    ev_throw_sys_error(env, UV_ENOMEM, "watch");
    return NULL;
  }
  rec->mask = mask;
  rec->pending = 0; /* anything still pending described the previous file */
  int err = r;
  if (err == 0) err = backend_add(w, rec);
  if (err == UV_EBADF) {
    /* Not open: one ERROR from the next wait(), no registration. */
    rec->pending = EV_ERROR;
    queue_push(w, rec);
    return NULL;
  }
  if (err != 0) {
    remove_rec(w, rec); /* registering nothing */
#ifdef EV_USE_EPOLL
    ev_throw_sys_error(env, err, "epoll_ctl");
#else
    ev_throw_sys_error(env, err, "poll");
#endif
    return NULL;
  }
  rec->id = id;
  rec->state = REC_ACTIVE;
  active_add(w, rec);
  return NULL;
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
  if (sweeping && w->active_len > 0 && start - w->last_sweep >= (uint64_t)w->sweep_ms) sweep(w);

  for (;;) {
    uint64_t now = ev_now_ms();
    int slice;
    if (w->queue.len > 0) {
      slice = 0; /* something to report already: only pick up what else is ready */
    } else if (deadline == UINT64_MAX) {
      slice = -1;
    } else {
      slice = now >= deadline ? 0 : (int)(deadline - now);
    }
    /* Blocked for long with descriptors watched: wake up for the sweep, or a descriptor closed
     * meanwhile would never be reported. */
    if (sweeping && w->active_len > 0 && slice != 0) {
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
    if (r == 1 || w->queue.len > 0) break;
    now = ev_now_ms();
    if (sweeping && w->active_len > 0 && now - w->last_sweep >= (uint64_t)w->sweep_ms) {
      sweep(w);
      if (w->queue.len > 0) break;
    }
    if (now >= deadline) break;
  }

  /* Copy the merged reports into the exposed arrays, replacing them when too small. */
  napi_value fds_value, events_value;
  int32_t *fds = NULL, *events = NULL;
  size_t fds_len = 0, events_len = 0;
  size_t qlen = (size_t)w->queue.len;
  EV_CHECK(env, napi_get_reference_value(env, w->fds_ref, &fds_value));
  EV_CHECK(env, napi_get_reference_value(env, w->events_ref, &events_value));
  EV_CHECK(env, ev_int32_array_data(env, fds_value, &fds, &fds_len));
  EV_CHECK(env, ev_int32_array_data(env, events_value, &events, &events_len));
  if (fds_len < qlen || events_len < qlen) {
    size_t cap = fds_len * 2 > qlen ? fds_len * 2 : qlen;
    if (cap < 64) cap = 64;
    if (!replace_array(env, &w->fds_ref, cap) || !replace_array(env, &w->events_ref, cap)) {
      ev_throw_sys_error(env, UV_ENOMEM, "wait");
      return NULL;
    }
    EV_CHECK(env, napi_get_reference_value(env, w->fds_ref, &fds_value));
    EV_CHECK(env, napi_get_reference_value(env, w->events_ref, &events_value));
    EV_CHECK(env, ev_int32_array_data(env, fds_value, &fds, &fds_len));
    EV_CHECK(env, ev_int32_array_data(env, events_value, &events, &events_len));
  }
  int count = 0;
  for (size_t i = 0; i < qlen; i++) {
    wrec_t* rec = lookup(w, w->queue.items[i]);
    if (rec == NULL || !rec->queued) continue;
    int bits = rec->pending & (rec->mask | EV_ERROR | EV_HANGUP);
    rec->pending = 0;
    rec->queued = 0;
    if (bits == 0) continue;
    fds[count] = rec->fd;
    events[count] = bits;
    count++;
  }
  w->queue.len = 0;
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

static napi_value waiter_get_fds(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  napi_value v;
  waiter_t* w = unwrap(env, info, &argc, NULL, 0);
  if (w == NULL) return NULL;
  EV_CHECK(env, napi_get_reference_value(env, w->fds_ref, &v));
  return v;
}

static napi_value waiter_get_events(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  napi_value v;
  waiter_t* w = unwrap(env, info, &argc, NULL, 0);
  if (w == NULL) return NULL;
  EV_CHECK(env, napi_get_reference_value(env, w->events_ref, &v));
  return v;
}

static napi_value waiter_get_wake_fd(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  napi_value v;
  waiter_t* w = unwrap(env, info, &argc, NULL, 0);
  if (w == NULL) return NULL;
  EV_CHECK(env, napi_create_int32(env, w->closed ? -1 : w->wake_w, &v));
  return v;
}

/* new FdWaiter(sweepIntervalMs?) */
static napi_value waiter_new(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1] = {NULL}, self, fds, events;
  int64_t sweep_ms = EV_DEFAULT_SWEEP_MS;
  EV_CHECK(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  if (argc >= 1) {
    napi_valuetype type;
    EV_CHECK(env, napi_typeof(env, argv[0], &type));
    if (type != napi_undefined && !ev_get_int(env, argv[0], "sweepIntervalMs", 0, INT32_MAX, &sweep_ms)) return NULL;
  }
  EV_CHECK(env, ev_new_int32_array(env, 64, &fds));
  EV_CHECK(env, ev_new_int32_array(env, 64, &events));

  waiter_t* w = calloc(1, sizeof *w);
  if (w == NULL) {
    ev_throw_sys_error(env, UV_ENOMEM, "FdWaiter");
    return NULL;
  }
  w->env = env;
  w->sweep_ms = (int)sweep_ms;
  w->last_sweep = ev_now_ms();
  int pipefds[2];
  int err = make_wake_pipe(pipefds);
  if (err != 0) {
    free(w);
    ev_throw_sys_error(env, err, "pipe");
    return NULL;
  }
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
    free(w);
    ev_throw_sys_error(env, err, "epoll_create1");
    return NULL;
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
    free(w);
    return NULL;
  }
  napi_create_reference(env, fds, 1, &w->fds_ref);
  napi_create_reference(env, events, 1, &w->events_ref);
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
