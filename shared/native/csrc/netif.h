#ifndef NITRO_DATAKEY_NETIF_H
#define NITRO_DATAKEY_NETIF_H

#include <node_api.h>

/* The loopback interface: a Nitro Enclave boots with it down. */
napi_status netif_register(napi_env env, napi_value exports);

#endif
