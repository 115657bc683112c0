/*
 * Entry point: one module instance per environment (main thread and every worker), each with its
 * own lv_env. Also the exception discipline shared by the other files.
 */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>

__thread int lv_in_finalizer = 0;

lv_env* lv_env_of(napi_env env) {
  lv_env* e = NULL;
  napi_get_instance_data(env, (void**)&e);
  return e;
}

lv_env* lv_enter(napi_env env) {
  lv_env* e = lv_env_of(env);
  e->depth++;
  return e;
}

napi_value lv_leave(lv_env* e, napi_value result) {
  if (--e->depth > 0 || e->stashed == NULL) return result;
  napi_env env = e->env;
  napi_value list, error = NULL;
  uint32_t n = 0;
  napi_status status = napi_get_reference_value(env, e->stashed, &list);
  napi_delete_reference(env, e->stashed);
  e->stashed = NULL;
  if (status != napi_ok || napi_get_array_length(env, list, &n) != napi_ok || n == 0) return result;
  if (n == 1) {
    napi_get_element(env, list, 0, &error);
  } else { /* as the kernel raises several errors of one pass */
    napi_value global, ctor, argv[2];
    char message[96];
    snprintf(message, sizeof message, "%u errors were thrown by JavaScript called from libvirt", n);
    argv[0] = list;
    if (napi_get_global(env, &global) != napi_ok || napi_get_named_property(env, global, "AggregateError", &ctor) != napi_ok ||
        napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &argv[1]) != napi_ok ||
        napi_new_instance(env, ctor, 2, argv, &error) != napi_ok)
      napi_get_element(env, list, 0, &error);
  }
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  /* A LibvirtError is already on its way: the stashed error must not replace it, nor be lost. */
  if (pending) napi_fatal_exception(env, error);
  else napi_throw(env, error);
  return NULL;
}

/* Takes the pending exception for lv_leave; outside any native call it is raised as uncaught. */
static void stash_pending(lv_env* e) {
  napi_env env = e->env;
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) != napi_ok || !pending) return;
  napi_value error, list;
  if (napi_get_and_clear_last_exception(env, &error) != napi_ok) return;
  if (e->depth == 0) {
    napi_fatal_exception(env, error);
    return;
  }
  uint32_t n = 0;
  if (e->stashed == NULL) {
    if (napi_create_array(env, &list) != napi_ok || napi_create_reference(env, list, 1, &e->stashed) != napi_ok) {
      napi_fatal_exception(env, error);
      return;
    }
  } else {
    napi_get_reference_value(env, e->stashed, &list);
    napi_get_array_length(env, list, &n);
  }
  napi_set_element(env, list, n, error);
}

napi_status lv_call(lv_env* e, napi_value fn, size_t argc, const napi_value* argv, napi_value* result) {
  napi_value recv;
  napi_get_undefined(e->env, &recv);
  napi_status status = napi_call_function(e->env, recv, fn, argc, argv, result);
  if (status != napi_ok) stash_pending(e);
  return status;
}

napi_value lv_throw_error(lv_env* e, int code, const char* message) {
  napi_env env = e->env;
  napi_value fn, argv[4], error;
  if (e->make_error == NULL || napi_get_reference_value(env, e->make_error, &fn) != napi_ok || fn == NULL) {
    napi_throw_error(env, NULL, message);
    return NULL;
  }
  napi_create_int32(env, code, &argv[0]);
  napi_create_int32(env, VIR_FROM_NONE, &argv[1]);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &argv[2]);
  napi_create_int32(env, VIR_ERR_ERROR, &argv[3]);
  if (lv_call(e, fn, 4, argv, &error) == napi_ok) napi_throw(env, error);
  else napi_throw_error(env, NULL, message);
  return NULL;
}

napi_value lv_throw_libvirt(lv_env* e, const char* fallback) {
  napi_env env = e->env;
  virErrorPtr last = virGetLastError();
  int code = last != NULL ? last->code : VIR_ERR_INTERNAL_ERROR;
  int domain = last != NULL ? last->domain : VIR_FROM_NONE;
  int level = last != NULL ? (int)last->level : VIR_ERR_ERROR;
  const char* message = last != NULL && last->message != NULL ? last->message : fallback;
  napi_value fn, argv[4], error;
  if (e->make_error == NULL || napi_get_reference_value(env, e->make_error, &fn) != napi_ok || fn == NULL) {
    napi_throw_error(env, NULL, message);
    virResetLastError();
    return NULL;
  }
  napi_create_int32(env, code, &argv[0]);
  napi_create_int32(env, domain, &argv[1]);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &argv[2]);
  napi_create_int32(env, level, &argv[3]);
  virResetLastError();
  if (lv_call(e, fn, 4, argv, &error) == napi_ok) napi_throw(env, error);
  else napi_throw_error(env, NULL, fallback);
  return NULL;
}

int lv_get_int(napi_env env, napi_value value, const char* name, int* out) {
  int32_t n;
  if (napi_get_value_int32(env, value, &n) != napi_ok) {
    char message[128];
    snprintf(message, sizeof message, "The \"%s\" argument must be an integer", name);
    napi_throw_type_error(env, "ERR_EVLOOP_INVALID_ARG", message);
    return 0;
  }
  *out = n;
  return 1;
}

int lv_get_string(napi_env env, napi_value value, const char* name, char** out) {
  size_t length;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &length) != napi_ok) {
    char message[128];
    snprintf(message, sizeof message, "The \"%s\" argument must be a string", name);
    napi_throw_type_error(env, "ERR_EVLOOP_INVALID_ARG", message);
    return 0;
  }
  char* buffer = malloc(length + 1);
  if (buffer == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return 0;
  }
  napi_get_value_string_utf8(env, value, buffer, length + 1, &length);
  *out = buffer;
  return 1;
}

/* setup(makeError, bridge): the JavaScript functions this environment's native side calls. */
static napi_value js_setup(napi_env env, napi_callback_info info) {
  lv_env* e = lv_env_of(env);
  size_t argc = 2;
  napi_value argv[2];
  LV_CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (e->make_error != NULL) return NULL; /* once per environment */
  LV_CHECK(napi_create_reference(env, argv[0], 1, &e->make_error));
  LV_CHECK(napi_create_reference(env, argv[1], 1, &e->bridge));
  return NULL;
}

/* Runs before the environment's finalizers (cleanup hooks run in reverse order of registration,
 * and Node-API's own, which runs the finalizers, was registered first): from here on libvirt's
 * event calls are no longer served by this environment. */
static void env_cleanup(void* data) { lv_event_impl_env_gone((lv_env*)data); }

static void env_finalize(napi_env env, void* data, void* hint) {
  lv_env* e = data;
  if (e->make_error != NULL) napi_delete_reference(env, e->make_error);
  if (e->bridge != NULL) napi_delete_reference(env, e->bridge);
  if (e->stashed != NULL) napi_delete_reference(env, e->stashed);
  free(e);
}

/* libvirt prints every error to stderr unless told otherwise; they are thrown as LibvirtError. */
static void quiet(void* data, virErrorPtr error) {}

NAPI_MODULE_INIT() {
  if (virInitialize() < 0) {
    napi_throw_error(env, NULL, "virInitialize failed");
    return NULL;
  }
  virSetErrorFunc(NULL, quiet);
  lv_env* e = calloc(1, sizeof *e);
  if (e == NULL) return NULL;
  e->env = env;
  e->thread = pthread_self();
  if (napi_set_instance_data(env, e, env_finalize, NULL) != napi_ok) {
    free(e);
    return NULL;
  }
  LV_CHECK(napi_add_env_cleanup_hook(env, env_cleanup, e));
  napi_property_descriptor setup = {"setup", NULL, js_setup, NULL, NULL, NULL, napi_default, NULL};
  LV_CHECK(napi_define_properties(env, exports, 1, &setup));
  LV_CHECK(lv_init_event_impl(env, exports));
  LV_CHECK(lv_init_connection(env, exports));
  return exports;
}
