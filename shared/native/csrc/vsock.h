#ifndef NITRO_DATAKEY_VSOCK_H
#define NITRO_DATAKEY_VSOCK_H

#include <node_api.h>

/* AF_VSOCK: socket, bind, listen, accept, connect, addresses, the local CID. Bytes go through fdio. */
napi_status vsock_register(napi_env env, napi_value exports);

#endif
