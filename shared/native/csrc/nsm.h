#ifndef NITRO_DATAKEY_NSM_H
#define NITRO_DATAKEY_NSM_H

#include <node_api.h>

/* Adds nsmOpen, nsmRequest and nsmClose to `exports`. */
napi_status nsm_register(napi_env env, napi_value exports);

#endif
