#ifndef NITRO_DATAKEY_PROCESS_H
#define NITRO_DATAKEY_PROCESS_H

#include <node_api.h>

/* Becoming a supervised workload: exec with a parent-death signal armed. */
napi_status process_register(napi_env env, napi_value exports);

#endif
