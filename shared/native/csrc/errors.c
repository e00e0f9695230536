#include "errors.h"

#include <stdio.h>
#include <string.h>
#include <uv.h>

napi_value make_errno_error(napi_env env, int err, const char *syscall) {
  /* libuv names errors the way Node does: uv_err_name(-errno) is "ENOENT" for ENOENT. */
  const char *name = uv_err_name(uv_translate_sys_error(err));
  char text[256];
  snprintf(text, sizeof text, "%s %s: %s", syscall, name, strerror(err));
  napi_value code, message, error, number, sys;
  if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code) != napi_ok) return NULL;
  if (napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message) != napi_ok) return NULL;
  if (napi_create_error(env, code, message, &error) != napi_ok) return NULL;
  if (napi_create_int32(env, -err, &number) == napi_ok) napi_set_named_property(env, error, "errno", number);
  if (napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sys) == napi_ok) napi_set_named_property(env, error, "syscall", sys);
  return error;
}

napi_value throw_errno(napi_env env, int err, const char *syscall) {
  napi_value error = make_errno_error(env, err, syscall);
  if (error != NULL) napi_throw(env, error);
  return NULL;
}

bool get_fd_arg(napi_env env, napi_value value, int *fd) {
  int32_t v = -1;
  if (napi_get_value_int32(env, value, &v) != napi_ok || v < 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "fd must be a non-negative integer");
    return false;
  }
  *fd = v;
  return true;
}
