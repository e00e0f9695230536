/*
 * nitro-datakey's native addon: the syscalls Node lacks inside a Nitro Enclave. Each device or
 * socket family registers its functions here (the NSM now; AF_VSOCK joins it).
 */
#include <node_api.h>

#include "nsm.h"

static napi_value init(napi_env env, napi_value exports) {
  if (nsm_register(env, exports) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
