/* Helpers shared by the poller, the waiter and the descriptor functions. */
#include "common.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

int ev_get_int(napi_env env, napi_value value, const char* name, int64_t min, int64_t max, int64_t* out) {
  char message[160];
  napi_valuetype type;
  double d;
  if (napi_typeof(env, value, &type) != napi_ok) return 0;
  if (type != napi_number) {
    snprintf(message, sizeof message, "The \"%s\" argument must be of type number", name);
    ev_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return 0;
  }
  if (napi_get_value_double(env, value, &d) != napi_ok) return 0;
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
  napi_valuetype type;
  char message[128];
  if (napi_typeof(env, value, &type) != napi_ok) return 0;
  if (type == napi_function) return 1;
  snprintf(message, sizeof message, "The \"%s\" argument must be of type function", name);
  ev_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return 0;
}

int ev_get_bool(napi_env env, napi_value value, const char* name, int* out) {
  napi_valuetype type;
  bool b;
  char message[128];
  if (napi_typeof(env, value, &type) != napi_ok) return 0;
  if (type != napi_boolean) {
    snprintf(message, sizeof message, "The \"%s\" argument must be of type boolean", name);
    ev_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return 0;
  }
  if (napi_get_value_bool(env, value, &b) != napi_ok) return 0;
  *out = b ? 1 : 0;
  return 1;
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

int ev_table_reserve(void*** table, int* cap, int fd) {
  if (fd < *cap) return 1;
  int next = *cap ? *cap : 64;
  while (next <= fd) next *= 2;
  void** grown = realloc(*table, (size_t)next * sizeof(void*));
  if (grown == NULL) return 0;
  memset(grown + *cap, 0, (size_t)(next - *cap) * sizeof(void*));
  *table = grown;
  *cap = next;
  return 1;
}

uint64_t ev_now_ms(void) { return uv_hrtime() / 1000000u; }
