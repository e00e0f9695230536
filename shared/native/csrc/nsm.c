/*
 * The Nitro Secure Module device: one ioctl that sends a CBOR request and receives a CBOR response.
 * The ioctl runs on libuv's thread pool (napi_async_work) so the event loop never blocks on it.
 */
#include "nsm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "errors.h"
#include "nsm-abi.h"

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  int fd;
  uint8_t request[NSM_REQUEST_MAX];
  size_t request_len;
  uint8_t response[NSM_RESPONSE_MAX];
  size_t response_len;
  int err;
} nsm_call;

/* nsmOpen(path: string): number -- the fd, opened read-write and close-on-exec. */
static napi_value nsm_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char path[4096];
  size_t len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok || len == 0 || len >= sizeof path - 1) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "nsmOpen(path): path must be a non-empty string");
    return NULL;
  }
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, errno, "open");
  napi_value result;
  NAPI_CALL(env, napi_create_int32(env, fd, &result));
  return result;
}

static void nsm_execute(napi_env env, void *data) {
  (void)env;
  nsm_call *call = data;
  struct nsm_message msg = {
      .request = {.iov_base = call->request, .iov_len = call->request_len},
      .response = {.iov_base = call->response, .iov_len = sizeof call->response},
  };
  call->err = 0;
  if (ioctl(call->fd, NSM_IOCTL_REQUEST, &msg) < 0) {
    call->err = errno;
    return;
  }
  /* The driver writes the real response length back into response.iov_len. */
  if (msg.response.iov_len > sizeof call->response) {
    call->err = EOVERFLOW;
    return;
  }
  call->response_len = msg.response.iov_len;
}

static void nsm_complete(napi_env env, napi_status status, void *data) {
  nsm_call *call = data;
  napi_value value = NULL;
  if (status != napi_ok) {
    value = make_errno_error(env, ECANCELED, "ioctl");
    napi_reject_deferred(env, call->deferred, value);
  } else if (call->err != 0) {
    napi_reject_deferred(env, call->deferred, make_errno_error(env, call->err, "ioctl"));
  } else {
    void *out = NULL;
    if (napi_create_buffer_copy(env, call->response_len, call->response, &out, &value) == napi_ok) {
      napi_resolve_deferred(env, call->deferred, value);
    } else {
      napi_reject_deferred(env, call->deferred, make_errno_error(env, ENOMEM, "ioctl"));
    }
  }
  napi_delete_async_work(env, call->work);
  free(call);
}

/* nsmRequest(fd: number, request: Uint8Array): Promise<Buffer> */
static napi_value nsm_request(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd = -1;
  bool is_typed = false;
  if (argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0 || napi_is_typedarray(env, argv[1], &is_typed) != napi_ok || !is_typed) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "nsmRequest(fd, request): fd must be a descriptor and request a Uint8Array");
    return NULL;
  }
  napi_typedarray_type type;
  size_t length = 0;
  void *bytes = NULL;
  NAPI_CALL(env, napi_get_typedarray_info(env, argv[1], &type, &length, &bytes, NULL, NULL));
  if (type != napi_uint8_array || length == 0 || length > NSM_REQUEST_MAX) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "nsmRequest: request must be 1 to 4096 bytes");
    return NULL;
  }
  nsm_call *call = calloc(1, sizeof *call);
  if (call == NULL) return throw_errno(env, ENOMEM, "calloc");
  call->fd = fd;
  call->request_len = length;
  memcpy(call->request, bytes, length); /* JS may reuse its buffer while the ioctl runs */

  napi_value promise, name;
  if (napi_create_promise(env, &call->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "nitro-datakey:nsm", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, nsm_execute, nsm_complete, call, &call->work) != napi_ok ||
      napi_queue_async_work(env, call->work) != napi_ok) {
    free(call);
    napi_throw_error(env, "ERR_NATIVE", "nsmRequest: could not queue the device call");
    return NULL;
  }
  return promise;
}

/* nsmClose(fd: number): void */
static napi_value nsm_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "nsmClose(fd): fd must be a descriptor");
    return NULL;
  }
  if (close(fd) < 0) return throw_errno(env, errno, "close");
  return NULL;
}

napi_status nsm_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"nsmOpen", NULL, nsm_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"nsmRequest", NULL, nsm_request, NULL, NULL, NULL, napi_enumerable, NULL},
      {"nsmClose", NULL, nsm_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
