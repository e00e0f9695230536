#ifndef NITRO_DATAKEY_FDIO_H
#define NITRO_DATAKEY_FDIO_H

#include <node_api.h>

/* Family-agnostic stream I/O on a non-blocking fd: read, write, shutdown, close, a libuv readiness
 * watcher (Poller), and an AF_UNIX socketpair for tests. vsock sockets use these for their bytes. */
napi_status fdio_register(napi_env env, napi_value exports);

#endif
