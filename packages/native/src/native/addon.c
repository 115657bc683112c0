/* Entry point: one module instance per environment (main thread and every worker). */
#include "common.h"

static napi_value init(napi_env env, napi_value exports) {
  if (ev_init_uv_poller(env, exports) != napi_ok) return NULL;
  if (ev_init_fd_waiter(env, exports) != napi_ok) return NULL;
  if (ev_init_descriptors(env, exports) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
