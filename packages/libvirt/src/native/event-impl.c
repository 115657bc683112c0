/*
 * libvirt's event implementation (virEventRegisterImpl), forwarded to an evloop EventLoopImpl in
 * JavaScript.
 *
 * Why it looks the way it does:
 * - libvirt takes one implementation per process and ignores later registrations, so the six
 *   shims are registered once, at the first claim, and forward to whichever environment claimed
 *   them (its bridge function in event-impl.ts, which forwards to the loop of the moment).
 * - libvirt needs a watch or timer id back at once, as a positive C int that is never reused. An
 *   evloop loop's ids are positive integers too, but JavaScript numbers: the shared kernel's ids
 *   pass 2^31 once a slot has been reused 128 times. So ids are allocated here (1, 2, 3, ...,
 *   never reused) and each record keeps the loop's own id next to it.
 * - On the claiming environment's JavaScript thread (libvirt called from JavaScript, the case of
 *   every call this package makes, and of the dispatch itself) the shims call the bridge
 *   synchronously. From any other thread (libvirt used from a worker, or by another library) they
 *   cannot: they record the call, queue it and return at once (an add returns its new id, a
 *   remove 0 or -1 from the record's state), and a threadsafe function applies the queue, in
 *   order, on the JavaScript thread. A JavaScript-thread call applies the queue first, so the
 *   loop sees every call in the order libvirt made them.
 * - The loop calls back with the ids this file gave it (dispatchHandle, dispatchTimeout), and
 *   libvirt's callback gets the id libvirt was given. A record that libvirt removed is never
 *   dispatched again, even when a loop still holds it (removed from another thread, queue not
 *   yet applied).
 * - libvirt's free callback runs from the loop's own free callback, which the contract runs once,
 *   after removal, from a clean stack: never inside removeHandle/removeTimeout (libvirt would
 *   deadlock) and never inside the removed item's callback. A record the loop let go of while
 *   libvirt still holds it (the loop was closed) keeps libvirt's free callback until libvirt
 *   removes it; its free callback then runs from a setImmediate (bridge op DEFER_FREE).
 * - No lock is held while calling JavaScript or a libvirt callback: both may call back in.
 */
#include "common.h"

#include <stdint.h>
#include <stdlib.h>

enum { KIND_HANDLE = 0, KIND_TIMER = 1 };
enum { REC_PENDING = 0, REC_LIVE = 1, REC_REMOVED = 2 };
/* The bridge's operations; event-impl.ts has the same numbers. */
enum { OP_ADD = 1, OP_UPDATE = 2, OP_REMOVE = 3, OP_DEFER_FREE = 4 };

typedef struct rec {
  int id;
  int kind;
  int fd;
  int value;  /* events of a watch, interval of a timer */
  int state;  /* REC_PENDING until the loop has it (queued add), REC_REMOVED once libvirt removed it */
  int orphan; /* the loop does not hold it (refused the add, or was closed): free it ourselves */
  double js_id;
  virEventHandleCallback hcb;
  virEventTimeoutCallback tcb;
  void* opaque;
  virFreeCallback ff;
  struct rec* next; /* hash chain */
} rec;

typedef struct op {
  int op;
  int id;
  struct op* next;
} op;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static rec** buckets;
static size_t nbuckets;
static size_t nrecs;
static int next_id = 1;
static op* q_head;
static op* q_tail;
static lv_env* owner;  /* the environment whose loop serves libvirt, or NULL */
static int wake_pending;
static int registered; /* virEventRegisterImpl was called */

/* Counters for tests and dashboards (libvirtEventImplStats). */
static struct {
  double handles_added;
  double timers_added;
  double freed;       /* records retired: each one exactly once */
  double ff_calls;    /* libvirt free callbacks run (a record may have none) */
  double dropped;     /* dispatches for records libvirt had already removed */
  double unexpected;  /* free callbacks from a loop for unknown or never-removed records */
} st;

/* ---- the table, locked by mu ---- */

static rec* find(int id) {
  if (nbuckets == 0) return NULL;
  for (rec* r = buckets[(unsigned)id & (nbuckets - 1)]; r != NULL; r = r->next)
    if (r->id == id) return r;
  return NULL;
}

static int insert(rec* r) {
  if (nrecs + 1 > nbuckets) {
    size_t n = nbuckets ? nbuckets * 2 : 64;
    rec** grown = calloc(n, sizeof *grown);
    if (grown == NULL) return 0;
    for (size_t i = 0; i < nbuckets; i++) {
      for (rec* x = buckets[i]; x != NULL;) {
        rec* next = x->next;
        x->next = grown[(unsigned)x->id & (n - 1)];
        grown[(unsigned)x->id & (n - 1)] = x;
        x = next;
      }
    }
    free(buckets);
    buckets = grown;
    nbuckets = n;
  }
  rec** head = &buckets[(unsigned)r->id & (nbuckets - 1)];
  r->next = *head;
  *head = r;
  nrecs++;
  return 1;
}

static void count_added(int kind) {
  if (kind == KIND_HANDLE) st.handles_added++;
  else st.timers_added++;
}

static void unlink_rec(rec* r) {
  for (rec** p = &buckets[(unsigned)r->id & (nbuckets - 1)]; *p != NULL; p = &(*p)->next) {
    if (*p == r) {
      *p = r->next;
      nrecs--;
      return;
    }
  }
}

/* Positive, never reused while libvirt could still hold it: after INT_MAX ids it wraps to 1 and
 * skips ids in use, as libvirt's own loops never needed to. */
static int alloc_id(void) {
  int id;
  do {
    id = next_id;
    next_id = next_id == INT32_MAX ? 1 : next_id + 1;
  } while (find(id) != NULL);
  return id;
}

static int enqueue(int kind_of_op, int id) {
  op* o = malloc(sizeof *o);
  if (o == NULL) return 0;
  o->op = kind_of_op;
  o->id = id;
  o->next = NULL;
  if (q_tail != NULL) q_tail->next = o;
  else q_head = o;
  q_tail = o;
  if (!wake_pending && owner != NULL && owner->wake != NULL) {
    wake_pending = napi_call_threadsafe_function(owner->wake, NULL, napi_tsfn_nonblocking) == napi_ok;
  }
  return 1;
}

static op* dequeue(void) {
  op* o = q_head;
  if (o != NULL) {
    q_head = o->next;
    if (q_head == NULL) q_tail = NULL;
  }
  return o;
}

/* Whether the calling thread may call the owner's JavaScript now; call with mu held. */
static int on_js_thread(void) { return owner != NULL && pthread_equal(pthread_self(), owner->thread) && !lv_in_finalizer; }

/* ---- calling the bridge, on the owner's JavaScript thread, without mu ---- */

/* bridge(op, kind, id, loopId, a, b): the loop's id for OP_ADD (-1 when the loop refused),
 * removeHandle/removeTimeout's result for OP_REMOVE, 0 otherwise. */
static double bridge(lv_env* e, int kind_of_op, int kind, int id, double js_id, int a, int b) {
  napi_env env = e->env;
  napi_handle_scope scope;
  double out = -1;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return -1;
  napi_value fn, argv[6], result;
  if (napi_get_reference_value(env, e->bridge, &fn) == napi_ok && fn != NULL) {
    napi_create_int32(env, kind_of_op, &argv[0]);
    napi_create_int32(env, kind, &argv[1]);
    napi_create_int32(env, id, &argv[2]);
    napi_create_double(env, js_id, &argv[3]);
    napi_create_int32(env, a, &argv[4]);
    napi_create_int32(env, b, &argv[5]);
    if (lv_call(e, fn, 6, argv, &result) == napi_ok) napi_get_value_double(env, result, &out);
  }
  napi_close_handle_scope(env, scope);
  return out;
}

/* Removes r from the loop, or has its free callback run soon when the loop does not hold it. */
static void remove_from_loop(lv_env* e, int id) {
  pthread_mutex_lock(&mu);
  rec* r = find(id);
  if (r == NULL) {
    pthread_mutex_unlock(&mu);
    return;
  }
  int kind = r->kind;
  int orphan = r->orphan;
  double js_id = r->js_id;
  pthread_mutex_unlock(&mu);
  if (!orphan && bridge(e, OP_REMOVE, kind, id, js_id, 0, 0) == 0) return;
  pthread_mutex_lock(&mu);
  r = find(id);
  if (r != NULL) r->orphan = 1;
  pthread_mutex_unlock(&mu);
  bridge(e, OP_DEFER_FREE, kind, id, 0, 0, 0);
}

/* Applies the calls other threads queued, in order. */
static void drain(lv_env* e) {
  for (;;) {
    pthread_mutex_lock(&mu);
    op* o = dequeue();
    if (o == NULL) {
      pthread_mutex_unlock(&mu);
      return;
    }
    int id = o->id;
    int what = o->op;
    free(o);
    rec* r = find(id);
    if (r == NULL) { /* cannot happen: a record is freed only after its queued remove */
      pthread_mutex_unlock(&mu);
      continue;
    }
    int kind = r->kind, state = r->state, orphan = r->orphan, value = r->value, fd = r->fd;
    double js_id = r->js_id;
    if (what == OP_ADD && state == REC_REMOVED) r->orphan = 1; /* removed before the loop got it */
    pthread_mutex_unlock(&mu);
    switch (what) {
      case OP_ADD: {
        if (state == REC_REMOVED) break; /* its queued remove frees it */
        double got = bridge(e, OP_ADD, kind, id, 0, kind == KIND_HANDLE ? fd : value, value);
        pthread_mutex_lock(&mu);
        r = find(id); /* still there: only this thread frees, and only after the queued remove */
        if (got > 0) r->js_id = got;
        else r->orphan = 1; /* libvirt holds an id the loop refused: reported by the bridge */
        if (r->state == REC_PENDING) r->state = REC_LIVE;
        pthread_mutex_unlock(&mu);
        break;
      }
      case OP_UPDATE:
        if (state == REC_LIVE && !orphan) bridge(e, OP_UPDATE, kind, id, js_id, value, 0);
        break;
      case OP_REMOVE:
        remove_from_loop(e, id);
        break;
    }
  }
}

/* ---- the six shims ---- */

static int add_record(int kind, int fd, int value, virEventHandleCallback hcb, virEventTimeoutCallback tcb, void* opaque,
                      virFreeCallback ff) {
  rec* r = calloc(1, sizeof *r);
  if (r == NULL) return -1;
  r->kind = kind;
  r->fd = fd;
  r->value = value;
  r->hcb = hcb;
  r->tcb = tcb;
  r->opaque = opaque;
  r->ff = ff;
  pthread_mutex_lock(&mu);
  lv_env* e = owner;
  if (e == NULL) { /* no loop: libvirt reports it, as with no implementation registered */
    pthread_mutex_unlock(&mu);
    free(r);
    return -1;
  }
  r->id = alloc_id();
  r->state = REC_PENDING;
  if (!insert(r)) {
    pthread_mutex_unlock(&mu);
    free(r);
    return -1;
  }
  if (!on_js_thread()) {
    if (!enqueue(OP_ADD, r->id)) {
      unlink_rec(r);
      pthread_mutex_unlock(&mu);
      free(r);
      return -1;
    }
    count_added(kind);
    pthread_mutex_unlock(&mu);
    return r->id;
  }
  pthread_mutex_unlock(&mu);
  /* Published as pending before the loop has it: nothing else knows its id yet, and the loop
   * dispatches nothing added during a pass in that same pass. */
  drain(e);
  int id = r->id;
  double js_id = bridge(e, OP_ADD, kind, id, 0, kind == KIND_HANDLE ? fd : value, value);
  pthread_mutex_lock(&mu);
  if (js_id <= 0) { /* refused: libvirt reports its own error, and frees nothing it passed */
    unlink_rec(r);
    pthread_mutex_unlock(&mu);
    free(r);
    return -1;
  }
  r->js_id = js_id;
  r->state = REC_LIVE;
  count_added(kind);
  pthread_mutex_unlock(&mu);
  return id;
}

static void update_record(int kind, int id, int value) {
  pthread_mutex_lock(&mu);
  lv_env* e = owner;
  if (e == NULL) {
    pthread_mutex_unlock(&mu);
    return;
  }
  if (!on_js_thread()) {
    rec* r = find(id);
    if (r != NULL && r->kind == kind && r->state != REC_REMOVED) {
      r->value = value;
      enqueue(OP_UPDATE, id);
    }
    pthread_mutex_unlock(&mu);
    return;
  }
  pthread_mutex_unlock(&mu);
  drain(e);
  pthread_mutex_lock(&mu);
  rec* r = find(id);
  if (r == NULL || r->kind != kind || r->state != REC_LIVE || r->orphan) {
    pthread_mutex_unlock(&mu);
    return;
  }
  r->value = value;
  double js_id = r->js_id;
  pthread_mutex_unlock(&mu);
  bridge(e, OP_UPDATE, kind, id, js_id, value, 0);
}

static int remove_record(int kind, int id) {
  pthread_mutex_lock(&mu);
  lv_env* e = owner;
  rec* r = find(id);
  if (r == NULL || r->kind != kind || r->state == REC_REMOVED) {
    pthread_mutex_unlock(&mu);
    return -1;
  }
  if (e == NULL) { /* the environment went away: nothing can run the free callback any more */
    r->state = REC_REMOVED;
    pthread_mutex_unlock(&mu);
    return 0;
  }
  r->state = REC_REMOVED;
  if (!on_js_thread()) {
    enqueue(OP_REMOVE, id);
    pthread_mutex_unlock(&mu);
    return 0;
  }
  pthread_mutex_unlock(&mu);
  drain(e);
  remove_from_loop(e, id);
  return 0;
}

static int add_handle(int fd, int events, virEventHandleCallback cb, void* opaque, virFreeCallback ff) {
  return add_record(KIND_HANDLE, fd, events, cb, NULL, opaque, ff);
}
static void update_handle(int watch, int events) { update_record(KIND_HANDLE, watch, events); }
static int remove_handle(int watch) { return remove_record(KIND_HANDLE, watch); }
static int add_timeout(int interval, virEventTimeoutCallback cb, void* opaque, virFreeCallback ff) {
  return add_record(KIND_TIMER, -1, interval, NULL, cb, opaque, ff);
}
static void update_timeout(int timer, int interval) { update_record(KIND_TIMER, timer, interval); }
static int remove_timeout(int timer) { return remove_record(KIND_TIMER, timer); }

/* ---- the wake-up from other threads ---- */

static void on_wake(napi_env env, napi_value js_cb, void* context, void* data) {
  if (env == NULL) return;
  lv_env* e = lv_env_of(env);
  pthread_mutex_lock(&mu);
  wake_pending = 0;
  int mine = owner == e;
  pthread_mutex_unlock(&mu);
  if (!mine) return;
  e->depth++;
  drain(e);
  lv_leave(e, NULL); /* what JavaScript threw is raised as an uncaught exception from here */
}

void lv_event_impl_env_gone(lv_env* e) {
  pthread_mutex_lock(&mu);
  if (owner == e) owner = NULL;
  napi_threadsafe_function wake = e->wake;
  e->wake = NULL;
  pthread_mutex_unlock(&mu);
  if (wake != NULL) napi_release_threadsafe_function(wake, napi_tsfn_abort);
}

/* ---- functions JavaScript calls ---- */

/* claim(): this environment serves libvirt from now on. false when records are still held (by
 * this environment's current loop, or left by one that went away); throws when another
 * environment serves libvirt. */
static napi_value js_claim(napi_env env, napi_callback_info info) {
  lv_env* e = lv_env_of(env);
  napi_value result;
  if (e->wake == NULL) {
    napi_value name;
    LV_CHECK(napi_create_string_utf8(env, "evloop-libvirt-wake", NAPI_AUTO_LENGTH, &name));
    LV_CHECK(napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, NULL, on_wake, &e->wake));
    /* Queued calls do not keep the process alive by themselves: the loop's watches and timers do. */
    LV_CHECK(napi_unref_threadsafe_function(env, e->wake));
  }
  pthread_mutex_lock(&mu);
  if (owner != NULL && owner != e) {
    pthread_mutex_unlock(&mu);
    napi_throw_error(env, "ERR_EVLOOP_LIBVIRT_OWNED",
                     "libvirt's event loop is already served by another thread (a worker or the main thread); "
                     "unregister it there first");
    return NULL;
  }
  int ok = nrecs == 0;
  int first = 0;
  if (ok) {
    owner = e;
    first = !registered;
    registered = 1;
  }
  pthread_mutex_unlock(&mu);
  if (first) virEventRegisterImpl(add_handle, update_handle, remove_handle, add_timeout, update_timeout, remove_timeout);
  LV_CHECK(napi_get_boolean(env, ok, &result));
  return result;
}

/* release(): libvirt's calls are no longer served (adds fail). false while records are held. */
static napi_value js_release(napi_env env, napi_callback_info info) {
  lv_env* e = lv_env_of(env);
  pthread_mutex_lock(&mu);
  int ok = owner != e || nrecs == 0;
  if (ok && owner == e) owner = NULL;
  pthread_mutex_unlock(&mu);
  napi_value result;
  LV_CHECK(napi_get_boolean(env, ok, &result));
  return result;
}

static int get_args(napi_env env, napi_callback_info info, size_t n, int* out) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return 0;
  for (size_t i = 0; i < n; i++) {
    if (i >= argc) {
      napi_throw_type_error(env, "ERR_EVLOOP_INVALID_ARG", "missing argument");
      return 0;
    }
    if (!lv_get_int(env, argv[i], "id", &out[i])) return 0;
  }
  return 1;
}

/* Looks up a live record of `kind` for dispatch; NULL (counted) when libvirt removed it. */
static rec* for_dispatch(int kind, int id) {
  rec* r = find(id);
  if (r != NULL && r->kind == kind && r->state == REC_LIVE) return r;
  st.dropped++;
  return NULL;
}

/* dispatchHandle(id, fd, events): the loop's watch fired. */
static napi_value js_dispatch_handle(napi_env env, napi_callback_info info) {
  int args[3];
  if (!get_args(env, info, 3, args)) return NULL;
  lv_env* e = lv_enter(env);
  pthread_mutex_lock(&mu);
  rec* r = for_dispatch(KIND_HANDLE, args[0]);
  virEventHandleCallback cb = r != NULL ? r->hcb : NULL;
  void* opaque = r != NULL ? r->opaque : NULL;
  int fd = r != NULL ? r->fd : -1;
  pthread_mutex_unlock(&mu);
  /* The record cannot be freed underneath: that takes libvirt's remove and then the loop's free
   * callback, which never runs inside the watch's own callback. */
  if (cb != NULL) cb(args[0], fd, args[2], opaque);
  return lv_leave(e, NULL);
}

/* dispatchTimeout(id): the loop's timer fired. */
static napi_value js_dispatch_timeout(napi_env env, napi_callback_info info) {
  int id;
  if (!get_args(env, info, 1, &id)) return NULL;
  lv_env* e = lv_enter(env);
  pthread_mutex_lock(&mu);
  rec* r = for_dispatch(KIND_TIMER, id);
  virEventTimeoutCallback cb = r != NULL ? r->tcb : NULL;
  void* opaque = r != NULL ? r->opaque : NULL;
  pthread_mutex_unlock(&mu);
  if (cb != NULL) cb(id, opaque);
  return lv_leave(e, NULL);
}

/* free(id): the loop's free callback for the record, or DEFER_FREE's setImmediate. */
static napi_value js_free(napi_env env, napi_callback_info info) {
  int id;
  if (!get_args(env, info, 1, &id)) return NULL;
  lv_env* e = lv_enter(env);
  pthread_mutex_lock(&mu);
  rec* r = find(id);
  if (r == NULL) {
    st.unexpected++;
    pthread_mutex_unlock(&mu);
    return lv_leave(e, NULL);
  }
  if (r->state != REC_REMOVED) {
    /* The loop let go of a record libvirt still holds (the loop was closed): libvirt's free
     * callback waits for libvirt's own remove. */
    r->orphan = 1;
    r->js_id = 0;
    pthread_mutex_unlock(&mu);
    return lv_leave(e, NULL);
  }
  unlink_rec(r);
  st.freed++;
  if (r->ff != NULL) st.ff_calls++;
  pthread_mutex_unlock(&mu);
  if (r->ff != NULL) r->ff(r->opaque);
  free(r);
  return lv_leave(e, NULL);
}

static void set_number(napi_env env, napi_value obj, const char* key, double value) {
  napi_value v;
  napi_create_double(env, value, &v);
  napi_set_named_property(env, obj, key, v);
}

/* stats(): counters and the records held, for libvirtEventImplStats. */
static napi_value js_stats(napi_env env, napi_callback_info info) {
  napi_value result, handles, timers;
  LV_CHECK(napi_create_object(env, &result));
  LV_CHECK(napi_create_array(env, &handles));
  LV_CHECK(napi_create_array(env, &timers));
  pthread_mutex_lock(&mu);
  uint32_t nh = 0, nt = 0;
  double pending = 0, queued = 0;
  for (op* o = q_head; o != NULL; o = o->next) queued++;
  for (size_t i = 0; i < nbuckets; i++) {
    for (rec* r = buckets[i]; r != NULL; r = r->next) {
      if (r->state == REC_REMOVED) {
        pending++;
        continue;
      }
      napi_value item;
      napi_create_object(env, &item);
      set_number(env, item, r->kind == KIND_HANDLE ? "watch" : "timer", r->id);
      set_number(env, item, "loopId", r->js_id);
      if (r->kind == KIND_HANDLE) {
        set_number(env, item, "fd", r->fd);
        set_number(env, item, "events", r->value);
        napi_set_element(env, handles, nh++, item);
      } else {
        set_number(env, item, "intervalMs", r->value);
        napi_set_element(env, timers, nt++, item);
      }
    }
  }
  set_number(env, result, "handlesAdded", st.handles_added);
  set_number(env, result, "timersAdded", st.timers_added);
  set_number(env, result, "freed", st.freed);
  set_number(env, result, "freeCallbacksRun", st.ff_calls);
  set_number(env, result, "pendingFrees", pending);
  set_number(env, result, "queuedCalls", queued);
  set_number(env, result, "droppedDispatches", st.dropped);
  set_number(env, result, "unexpectedFrees", st.unexpected);
  pthread_mutex_unlock(&mu);
  napi_set_named_property(env, result, "handles", handles);
  napi_set_named_property(env, result, "timers", timers);
  return result;
}

/* ---- the probe: libvirt's public virEvent* wrappers, called from this or another thread, with
 * callbacks that count. For the package's tests only. ---- */

static struct {
  int timer_fires;
  int handle_fires;
  int last_events;
  int frees;
  int frees_inside_remove;
  int removing;
} probe_state;

static void probe_timeout(int timer, void* opaque) { probe_state.timer_fires++; }
static void probe_handle(int watch, int fd, int events, void* opaque) {
  probe_state.handle_fires++;
  probe_state.last_events = events;
}
static void probe_free(void* opaque) {
  probe_state.frees++;
  if (probe_state.removing) probe_state.frees_inside_remove++;
}

typedef struct probe_call {
  int op, a, b, result;
} probe_call;

static void probe_run(probe_call* c) {
  switch (c->op) {
    case 1: c->result = virEventAddTimeout(c->a, probe_timeout, NULL, probe_free); break;
    case 2: virEventUpdateTimeout(c->a, c->b); c->result = 0; break;
    case 3:
      probe_state.removing = 1;
      c->result = virEventRemoveTimeout(c->a);
      probe_state.removing = 0;
      break;
    case 4: c->result = virEventAddHandle(c->a, c->b, probe_handle, NULL, probe_free); break;
    case 5: virEventUpdateHandle(c->a, c->b); c->result = 0; break;
    case 6:
      probe_state.removing = 1;
      c->result = virEventRemoveHandle(c->a);
      probe_state.removing = 0;
      break;
    default: c->result = -2;
  }
}

static void* probe_thread(void* arg) {
  probe_run(arg);
  return NULL;
}

/* probe(op, a, b, otherThread): 1 addTimeout(a), 2 updateTimeout(a, b), 3 removeTimeout(a),
 * 4 addHandle(fd a, events b), 5 updateHandle(a, b), 6 removeHandle(a). On another thread the
 * call runs on a fresh pthread that is joined before returning. */
static napi_value js_probe(napi_env env, napi_callback_info info) {
  int args[4];
  if (!get_args(env, info, 4, args)) return NULL;
  probe_call c = {args[0], args[1], args[2], -1};
  lv_env* e = lv_enter(env);
  if (args[3]) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, probe_thread, &c) == 0) pthread_join(thread, NULL);
  } else {
    probe_run(&c);
  }
  napi_value result;
  napi_create_int32(env, c.result, &result);
  return lv_leave(e, result);
}

static napi_value js_probe_counts(napi_env env, napi_callback_info info) {
  napi_value result;
  LV_CHECK(napi_create_object(env, &result));
  set_number(env, result, "timerFires", probe_state.timer_fires);
  set_number(env, result, "handleFires", probe_state.handle_fires);
  set_number(env, result, "lastEvents", probe_state.last_events);
  set_number(env, result, "frees", probe_state.frees);
  set_number(env, result, "freesInsideRemove", probe_state.frees_inside_remove);
  return result;
}

napi_status lv_init_event_impl(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"claim", NULL, js_claim, NULL, NULL, NULL, napi_default, NULL},
      {"release", NULL, js_release, NULL, NULL, NULL, napi_default, NULL},
      {"dispatchHandle", NULL, js_dispatch_handle, NULL, NULL, NULL, napi_default, NULL},
      {"dispatchTimeout", NULL, js_dispatch_timeout, NULL, NULL, NULL, napi_default, NULL},
      {"free", NULL, js_free, NULL, NULL, NULL, napi_default, NULL},
      {"stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL},
      {"probe", NULL, js_probe, NULL, NULL, NULL, napi_default, NULL},
      {"probeCounts", NULL, js_probe_counts, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
