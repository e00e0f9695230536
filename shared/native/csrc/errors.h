#ifndef NITRO_DATAKEY_ERRORS_H
#define NITRO_DATAKEY_ERRORS_H

#include <node_api.h>

/* Builds an Error whose `code` is the errno name ("ENOENT") and `errno` the number, like Node's own. */
napi_value make_errno_error(napi_env env, int err, const char *syscall);

/* Throws make_errno_error(...) and returns NULL, for `return throw_errno(...)` in callbacks. */
napi_value throw_errno(napi_env env, int err, const char *syscall);

/* Reads a non-negative int32 fd argument; throws a TypeError and returns false otherwise. */
bool get_fd_arg(napi_env env, napi_value value, int *fd);

/* On a failed napi_* call: throw (if nothing is pending) and return NULL from the callback. */
#define NAPI_CALL(env, call)                                                  \
  do {                                                                        \
    if ((call) != napi_ok) {                                                  \
      bool pending_ = false;                                                  \
      napi_is_exception_pending((env), &pending_);                            \
      if (!pending_) napi_throw_error((env), "ERR_NATIVE", #call " failed"); \
      return NULL;                                                            \
    }                                                                         \
  } while (0)

#endif
