/*
 * nitro-datakey's native addon: the syscalls Node lacks inside a Nitro Enclave. Each device or
 * socket family registers its functions here: the NSM, stream I/O with libuv readiness, AF_VSOCK.
 */
#include <node_api.h>

#include "fdio.h"
#include "nsm.h"
#include "vsock.h"
#include "netif.h"
#include "process.h"

static napi_value init(napi_env env, napi_value exports) {
  if (nsm_register(env, exports) != napi_ok || fdio_register(env, exports) != napi_ok || vsock_register(env, exports) != napi_ok ||
      netif_register(env, exports) != napi_ok || process_register(env, exports) != napi_ok)
    return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
