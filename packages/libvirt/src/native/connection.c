/*
 * Connections, domains and lifecycle events: the few libvirt calls the package's API needs.
 *
 * Why it looks the way it does:
 * - Every call runs synchronously on the calling JavaScript thread, as libvirt's C API does, so
 *   the event calls libvirt makes underneath reach the loop synchronously too (event-impl.c).
 * - A connection and its domains are externals with finalizers, but closing is explicit: a
 *   connection records its domains, and close() frees them all before virConnectClose, so that
 *   the driver really closes then (and removes its watches and timers) rather than whenever the
 *   last domain object happens to be collected.
 * - The C records outlive libvirt's objects: a domain record keeps its connection record alive
 *   (refs), since the two finalizers may run in either order. Both belong to one environment and
 *   are touched on its thread only.
 * - While events are subscribed, the connection's JavaScript value is held strongly, so a
 *   connection nobody references keeps delivering to its subscribers. The subscription record
 *   is shared with libvirt, which frees its part through the free callback, from any thread.
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

static const napi_type_tag CONN_TAG = {0x6c69627669727431ULL, 0x636f6e6e65637431ULL};
static const napi_type_tag DOM_TAG = {0x6c69627669727431ULL, 0x646f6d61696e3031ULL};

typedef struct lv_conn lv_conn;

typedef struct lv_dom {
  virDomainPtr ptr; /* NULL once its connection closed */
  lv_conn* conn;
  struct lv_dom* prev;
  struct lv_dom* next;
} lv_dom;

typedef struct lv_sub {
  pthread_t thread; /* of the environment that subscribed: the only one whose JavaScript it calls */
  lv_env* e;
  napi_ref emit; /* NULL once deregistered */
  int holders;   /* this file and libvirt: freed when both let go */
} lv_sub;

struct lv_conn {
  virConnectPtr ptr; /* NULL once closed */
  lv_dom* domains;
  lv_sub* sub;
  int callback_id;
  napi_ref self; /* the connection's value, held while events are subscribed */
  int refs;      /* the connection's value and each domain record */
};

static void conn_release(lv_conn* c) {
  if (--c->refs == 0) free(c);
}

static void sub_release(lv_sub* s) {
  if (__atomic_sub_fetch(&s->holders, 1, __ATOMIC_ACQ_REL) == 0) free(s);
}

/* libvirt's free callback for the subscription: it may not call libvirt, and may run anywhere. */
static void sub_freed(void* opaque) { sub_release(opaque); }

/* Delivers one lifecycle event to the subscriber's emit function. libvirt calls this from the
 * dispatch of its event timer, which the loop runs on the subscribing thread. */
static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void* opaque) {
  lv_sub* s = opaque;
  if (!pthread_equal(pthread_self(), s->thread) || lv_in_finalizer || s->emit == NULL) return 0;
  lv_env* e = s->e;
  napi_env env = e->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return 0;
  napi_value fn, argv[4], result, buffer;
  void* data;
  if (napi_get_reference_value(env, s->emit, &fn) == napi_ok && fn != NULL &&
      napi_create_arraybuffer(env, VIR_UUID_BUFLEN, &data, &buffer) == napi_ok) {
    if (virDomainGetUUID(dom, data) < 0) memset(data, 0, VIR_UUID_BUFLEN);
    const char* name = virDomainGetName(dom);
    napi_create_int32(env, event, &argv[0]);
    napi_create_int32(env, detail, &argv[1]);
    napi_create_string_utf8(env, name != NULL ? name : "", NAPI_AUTO_LENGTH, &argv[2]);
    napi_create_typedarray(env, napi_uint8_array, VIR_UUID_BUFLEN, buffer, 0, &argv[3]);
    lv_call(e, fn, 4, argv, &result);
  }
  napi_close_handle_scope(env, scope);
  return 0;
}

static int unsubscribe(napi_env env, lv_conn* c) {
  lv_sub* s = c->sub;
  if (s == NULL) return 0;
  c->sub = NULL;
  napi_delete_reference(env, s->emit);
  s->emit = NULL;
  int rc = virConnectDomainEventDeregisterAny(c->ptr, c->callback_id);
  c->callback_id = -1;
  if (c->self != NULL) napi_delete_reference(env, c->self);
  c->self = NULL;
  sub_release(s);
  return rc;
}

/* Deregisters events, frees every domain, then closes. -1 when libvirt reported a failure. */
static int close_conn(napi_env env, lv_conn* c) {
  if (c->ptr == NULL) return 0;
  int rc = unsubscribe(env, c) < 0 ? -1 : 0;
  for (lv_dom* d = c->domains; d != NULL;) {
    lv_dom* next = d->next;
    virDomainFree(d->ptr);
    d->ptr = NULL;
    d->prev = d->next = NULL;
    d = next;
  }
  c->domains = NULL;
  if (virConnectClose(c->ptr) < 0) rc = -1;
  c->ptr = NULL;
  return rc;
}

static void conn_finalize(napi_env env, void* data, void* hint) {
  lv_conn* c = data;
  lv_in_finalizer = 1;
  close_conn(env, c);
  lv_in_finalizer = 0;
  virResetLastError();
  conn_release(c);
}

static void dom_finalize(napi_env env, void* data, void* hint) {
  lv_dom* d = data;
  if (d->ptr != NULL) {
    lv_in_finalizer = 1;
    virDomainFree(d->ptr);
    lv_in_finalizer = 0;
    if (d->prev != NULL) d->prev->next = d->next;
    else d->conn->domains = d->next;
    if (d->next != NULL) d->next->prev = d->prev;
  }
  conn_release(d->conn);
  free(d);
}

/* The record behind a connection value; throws (NULL) for another value or a closed connection
 * unless `closed_ok`. */
static lv_conn* get_conn(lv_env* e, napi_value value, int closed_ok) {
  bool tagged = false;
  lv_conn* c = NULL;
  if (napi_check_object_type_tag(e->env, value, &CONN_TAG, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(e->env, value, (void**)&c) != napi_ok) {
    napi_throw_type_error(e->env, "ERR_EVLOOP_INVALID_ARG", "not a libvirt connection handle");
    return NULL;
  }
  if (c->ptr == NULL && !closed_ok) {
    lv_throw_error(e, VIR_ERR_INVALID_CONN, "the connection is closed");
    return NULL;
  }
  return c;
}

static lv_dom* get_dom(lv_env* e, napi_value value) {
  bool tagged = false;
  lv_dom* d = NULL;
  if (napi_check_object_type_tag(e->env, value, &DOM_TAG, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(e->env, value, (void**)&d) != napi_ok) {
    napi_throw_type_error(e->env, "ERR_EVLOOP_INVALID_ARG", "not a libvirt domain handle");
    return NULL;
  }
  if (d->ptr == NULL) {
    lv_throw_error(e, VIR_ERR_INVALID_DOMAIN, "the domain's connection is closed");
    return NULL;
  }
  return d;
}

/* { handle, name, uuid } for a domain pointer this file now owns (freed on failure). */
static napi_value make_domain(lv_env* e, lv_conn* c, virDomainPtr ptr) {
  napi_env env = e->env;
  lv_dom* d = calloc(1, sizeof *d);
  napi_value result, handle, name, buffer, uuid;
  void* data;
  if (d == NULL) {
    virDomainFree(ptr);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  d->ptr = ptr;
  d->conn = c;
  if (napi_create_external(env, d, dom_finalize, NULL, &handle) != napi_ok) {
    virDomainFree(ptr);
    free(d);
    return NULL;
  }
  c->refs++;
  d->next = c->domains;
  if (c->domains != NULL) c->domains->prev = d;
  c->domains = d;
  LV_CHECK(napi_type_tag_object(env, handle, &DOM_TAG));
  LV_CHECK(napi_create_object(env, &result));
  LV_CHECK(napi_set_named_property(env, result, "handle", handle));
  const char* text = virDomainGetName(ptr);
  LV_CHECK(napi_create_string_utf8(env, text != NULL ? text : "", NAPI_AUTO_LENGTH, &name));
  LV_CHECK(napi_set_named_property(env, result, "name", name));
  LV_CHECK(napi_create_arraybuffer(env, VIR_UUID_BUFLEN, &data, &buffer));
  if (virDomainGetUUID(ptr, data) < 0) memset(data, 0, VIR_UUID_BUFLEN);
  LV_CHECK(napi_create_typedarray(env, napi_uint8_array, VIR_UUID_BUFLEN, buffer, 0, &uuid));
  LV_CHECK(napi_set_named_property(env, result, "uuid", uuid));
  return result;
}

/* Missing arguments read as undefined, which the argument helpers refuse. */
#define ARGS(n)                                                \
  size_t argc = (n);                                           \
  napi_value argv[(n)];                                        \
  LV_CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL)); \
  lv_env* e = lv_enter(env)

/* open(uri, readOnly) -> connection handle */
static napi_value js_open(napi_env env, napi_callback_info info) {
  ARGS(2);
  char* uri = NULL;
  bool read_only = false;
  if (!lv_get_string(env, argv[0], "uri", &uri)) return lv_leave(e, NULL);
  napi_get_value_bool(env, argv[1], &read_only);
  lv_conn* c = calloc(1, sizeof *c);
  if (c == NULL) {
    free(uri);
    napi_throw_error(env, NULL, "out of memory");
    return lv_leave(e, NULL);
  }
  c->ptr = read_only ? virConnectOpenReadOnly(uri) : virConnectOpen(uri);
  free(uri);
  if (c->ptr == NULL) {
    free(c);
    lv_throw_libvirt(e, "virConnectOpen failed");
    return lv_leave(e, NULL);
  }
  c->refs = 1;
  c->callback_id = -1;
  napi_value handle;
  if (napi_create_external(env, c, conn_finalize, NULL, &handle) != napi_ok) {
    virConnectClose(c->ptr);
    free(c);
    return lv_leave(e, NULL);
  }
  napi_type_tag_object(env, handle, &CONN_TAG);
  return lv_leave(e, handle);
}

/* close(conn): idempotent. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  ARGS(1);
  lv_conn* c = get_conn(e, argv[0], 1);
  if (c != NULL && close_conn(env, c) < 0) lv_throw_libvirt(e, "virConnectClose failed");
  return lv_leave(e, NULL);
}

/* listDomains(conn, flags) -> [{ handle, name, uuid }] */
static napi_value js_list_domains(napi_env env, napi_callback_info info) {
  ARGS(2);
  int flags = 0;
  lv_conn* c = get_conn(e, argv[0], 0);
  if (c == NULL || !lv_get_int(env, argv[1], "flags", &flags)) return lv_leave(e, NULL);
  virDomainPtr* list = NULL;
  int n = virConnectListAllDomains(c->ptr, &list, (unsigned int)flags);
  if (n < 0) return lv_leave(e, lv_throw_libvirt(e, "virConnectListAllDomains failed"));
  napi_value result = NULL;
  int i = 0;
  if (napi_create_array_with_length(env, (size_t)n, &result) == napi_ok) {
    for (; i < n; i++) {
      napi_value item = make_domain(e, c, list[i]);
      if (item == NULL) {
        i++;
        result = NULL;
        break;
      }
      napi_set_element(env, result, (uint32_t)i, item);
    }
  }
  for (; i < n; i++) virDomainFree(list[i]);
  free(list);
  return lv_leave(e, result);
}

static napi_value domain_or_throw(lv_env* e, lv_conn* c, virDomainPtr ptr, const char* what) {
  if (ptr == NULL) return lv_throw_libvirt(e, what);
  return make_domain(e, c, ptr);
}

/* lookupByName(conn, name) */
static napi_value js_lookup_by_name(napi_env env, napi_callback_info info) {
  ARGS(2);
  char* name = NULL;
  lv_conn* c = get_conn(e, argv[0], 0);
  if (c == NULL || !lv_get_string(env, argv[1], "name", &name)) return lv_leave(e, NULL);
  virDomainPtr ptr = virDomainLookupByName(c->ptr, name);
  free(name);
  return lv_leave(e, domain_or_throw(e, c, ptr, "virDomainLookupByName failed"));
}

/* lookupByUuid(conn, uuid: Uint8Array of 16) */
static napi_value js_lookup_by_uuid(napi_env env, napi_callback_info info) {
  ARGS(2);
  lv_conn* c = get_conn(e, argv[0], 0);
  if (c == NULL) return lv_leave(e, NULL);
  napi_typedarray_type type;
  size_t length = 0;
  void* data = NULL;
  if (napi_get_typedarray_info(env, argv[1], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_uint8_array ||
      length != VIR_UUID_BUFLEN) {
    napi_throw_type_error(env, "ERR_EVLOOP_INVALID_ARG", "The \"uuid\" argument must be a Uint8Array of 16 bytes");
    return lv_leave(e, NULL);
  }
  virDomainPtr ptr = virDomainLookupByUUID(c->ptr, data);
  return lv_leave(e, domain_or_throw(e, c, ptr, "virDomainLookupByUUID failed"));
}

/* createXML(conn, xml) / defineXML(conn, xml) */
static napi_value from_xml(napi_env env, napi_callback_info info, int define) {
  ARGS(2);
  char* xml = NULL;
  lv_conn* c = get_conn(e, argv[0], 0);
  if (c == NULL || !lv_get_string(env, argv[1], "xml", &xml)) return lv_leave(e, NULL);
  virDomainPtr ptr = define ? virDomainDefineXML(c->ptr, xml) : virDomainCreateXML(c->ptr, xml, 0);
  free(xml);
  return lv_leave(e, domain_or_throw(e, c, ptr, define ? "virDomainDefineXML failed" : "virDomainCreateXML failed"));
}
static napi_value js_create_xml(napi_env env, napi_callback_info info) { return from_xml(env, info, 0); }
static napi_value js_define_xml(napi_env env, napi_callback_info info) { return from_xml(env, info, 1); }

/* domainAction(dom, action): 1 create (start), 2 destroy, 3 suspend, 4 resume, 5 undefine. */
static napi_value js_domain_action(napi_env env, napi_callback_info info) {
  ARGS(2);
  int action = 0;
  lv_dom* d = get_dom(e, argv[0]);
  if (d == NULL || !lv_get_int(env, argv[1], "action", &action)) return lv_leave(e, NULL);
  int rc;
  switch (action) {
    case 1: rc = virDomainCreate(d->ptr); break;
    case 2: rc = virDomainDestroy(d->ptr); break;
    case 3: rc = virDomainSuspend(d->ptr); break;
    case 4: rc = virDomainResume(d->ptr); break;
    case 5: rc = virDomainUndefine(d->ptr); break;
    default:
      napi_throw_range_error(env, "ERR_EVLOOP_OUT_OF_RANGE", "unknown domain action");
      return lv_leave(e, NULL);
  }
  if (rc < 0) lv_throw_libvirt(e, "domain action failed");
  return lv_leave(e, NULL);
}

/* domainInfo(dom) -> { id, state, reason, active } */
static napi_value js_domain_info(napi_env env, napi_callback_info info) {
  ARGS(1);
  lv_dom* d = get_dom(e, argv[0]);
  if (d == NULL) return lv_leave(e, NULL);
  int state = 0, reason = 0;
  if (virDomainGetState(d->ptr, &state, &reason, 0) < 0) return lv_leave(e, lv_throw_libvirt(e, "virDomainGetState failed"));
  int active = virDomainIsActive(d->ptr);
  if (active < 0) return lv_leave(e, lv_throw_libvirt(e, "virDomainIsActive failed"));
  unsigned int id = virDomainGetID(d->ptr);
  napi_value result, v;
  if (napi_create_object(env, &result) != napi_ok) return lv_leave(e, NULL);
  napi_create_int32(env, id == (unsigned int)-1 ? -1 : (int32_t)id, &v);
  napi_set_named_property(env, result, "id", v);
  napi_create_int32(env, state, &v);
  napi_set_named_property(env, result, "state", v);
  napi_create_int32(env, reason, &v);
  napi_set_named_property(env, result, "reason", v);
  napi_get_boolean(env, active == 1, &v);
  napi_set_named_property(env, result, "active", v);
  return lv_leave(e, result);
}

/* domainXml(dom) -> string */
static napi_value js_domain_xml(napi_env env, napi_callback_info info) {
  ARGS(1);
  lv_dom* d = get_dom(e, argv[0]);
  if (d == NULL) return lv_leave(e, NULL);
  char* xml = virDomainGetXMLDesc(d->ptr, 0);
  if (xml == NULL) return lv_leave(e, lv_throw_libvirt(e, "virDomainGetXMLDesc failed"));
  napi_value result;
  napi_status status = napi_create_string_utf8(env, xml, NAPI_AUTO_LENGTH, &result);
  free(xml);
  return lv_leave(e, status == napi_ok ? result : NULL);
}

/* subscribe(conn, emit): lifecycle events of every domain to emit(type, detail, name, uuid). */
static napi_value js_subscribe(napi_env env, napi_callback_info info) {
  ARGS(2);
  lv_conn* c = get_conn(e, argv[0], 0);
  if (c == NULL || c->sub != NULL) return lv_leave(e, NULL);
  lv_sub* s = calloc(1, sizeof *s);
  if (s == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return lv_leave(e, NULL);
  }
  s->thread = e->thread;
  s->e = e;
  s->holders = 2;
  if (napi_create_reference(env, argv[1], 1, &s->emit) != napi_ok) {
    free(s);
    return lv_leave(e, NULL);
  }
  int id = virConnectDomainEventRegisterAny(c->ptr, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                            VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), s, sub_freed);
  if (id < 0) { /* libvirt keeps nothing, and calls no free callback, when registration fails */
    napi_delete_reference(env, s->emit);
    free(s);
    return lv_leave(e, lv_throw_libvirt(e, "virConnectDomainEventRegisterAny failed"));
  }
  c->sub = s;
  c->callback_id = id;
  napi_create_reference(env, argv[0], 1, &c->self);
  return lv_leave(e, NULL);
}

/* unsubscribe(conn): idempotent, also on a closed connection. */
static napi_value js_unsubscribe(napi_env env, napi_callback_info info) {
  ARGS(1);
  lv_conn* c = get_conn(e, argv[0], 1);
  if (c != NULL && c->ptr != NULL && unsubscribe(env, c) < 0) lv_throw_libvirt(e, "virConnectDomainEventDeregisterAny failed");
  return lv_leave(e, NULL);
}

/* version() -> libvirt's version as major * 1,000,000 + minor * 1,000 + release */
static napi_value js_version(napi_env env, napi_callback_info info) {
  unsigned long version = 0;
  napi_value result;
  virGetVersion(&version, NULL, NULL);
  LV_CHECK(napi_create_double(env, (double)version, &result));
  return result;
}

napi_status lv_init_connection(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"listDomains", NULL, js_list_domains, NULL, NULL, NULL, napi_default, NULL},
      {"lookupByName", NULL, js_lookup_by_name, NULL, NULL, NULL, napi_default, NULL},
      {"lookupByUuid", NULL, js_lookup_by_uuid, NULL, NULL, NULL, napi_default, NULL},
      {"createXML", NULL, js_create_xml, NULL, NULL, NULL, napi_default, NULL},
      {"defineXML", NULL, js_define_xml, NULL, NULL, NULL, napi_default, NULL},
      {"domainAction", NULL, js_domain_action, NULL, NULL, NULL, napi_default, NULL},
      {"domainInfo", NULL, js_domain_info, NULL, NULL, NULL, napi_default, NULL},
      {"domainXml", NULL, js_domain_xml, NULL, NULL, NULL, napi_default, NULL},
      {"subscribe", NULL, js_subscribe, NULL, NULL, NULL, napi_default, NULL},
      {"unsubscribe", NULL, js_unsubscribe, NULL, NULL, NULL, napi_default, NULL},
      {"version", NULL, js_version, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
