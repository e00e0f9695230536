#include "fdio.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "errors.h"

static bool get_bytes(napi_env env, napi_value value, uint8_t **data, size_t *length) {
  bool is_typed = false;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, value, &type, length, (void **)data, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected a Uint8Array");
    return false;
  }
  return true;
}

static napi_value number(napi_env env, double value) {
  napi_value result;
  if (napi_create_double(env, value, &result) != napi_ok) return NULL;
  return result;
}

/* fdRead(fd, buffer): bytes read, 0 at end of stream, -1 when nothing is ready (EAGAIN). */
static napi_value fd_read(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd;
  uint8_t *data;
  size_t length;
  if (argc < 2 || !get_fd_arg(env, argv[0], &fd) || !get_bytes(env, argv[1], &data, &length)) return NULL;
  ssize_t n;
  do n = read(fd, data, length);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return number(env, -1);
    return throw_errno(env, errno, "read");
  }
  return number(env, (double)n);
}

/* fdWrite(fd, buffer): bytes written, or -1 when the socket buffer is full (EAGAIN). Never raises SIGPIPE. */
static napi_value fd_write(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd;
  uint8_t *data;
  size_t length;
  if (argc < 2 || !get_fd_arg(env, argv[0], &fd) || !get_bytes(env, argv[1], &data, &length)) return NULL;
  ssize_t n;
  do n = send(fd, data, length, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return number(env, -1);
    return throw_errno(env, errno, "write");
  }
  return number(env, (double)n);
}

static napi_value fd_shutdown_write(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd;
  if (argc < 1 || !get_fd_arg(env, argv[0], &fd)) return NULL;
  if (shutdown(fd, SHUT_WR) < 0 && errno != ENOTCONN) return throw_errno(env, errno, "shutdown");
  return NULL;
}

static napi_value fd_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd;
  if (argc < 1 || !get_fd_arg(env, argv[0], &fd)) return NULL;
  if (close(fd) < 0) return throw_errno(env, errno, "close");
  return NULL;
}

/* socketError(fd): the pending SO_ERROR (0 if none), to finish a non-blocking connect. */
static napi_value socket_error(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd;
  if (argc < 1 || !get_fd_arg(env, argv[0], &fd)) return NULL;
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return throw_errno(env, errno, "getsockopt");
  if (err == 0) return number(env, 0);
  return make_errno_error(env, err, "connect");
}

/* socketPeerCredentials(fd): {pid, uid, gid} of the process at the other end of an AF_UNIX socket
 * (SO_PEERCRED, set by the kernel at connect: the peer cannot forge it). */
static napi_value socket_peer_credentials(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd;
  if (argc < 1 || !get_fd_arg(env, argv[0], &fd)) return NULL;
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) return throw_errno(env, errno, "getsockopt");
  napi_value result;
  NAPI_CALL(env, napi_create_object(env, &result));
  NAPI_CALL(env, napi_set_named_property(env, result, "pid", number(env, (double)cred.pid)));
  NAPI_CALL(env, napi_set_named_property(env, result, "uid", number(env, (double)cred.uid)));
  NAPI_CALL(env, napi_set_named_property(env, result, "gid", number(env, (double)cred.gid)));
  return result;
}

/* unixSocketPair(): two connected non-blocking AF_UNIX stream fds (tests drive FdSocket with them). */
static napi_value unix_socket_pair(napi_env env, napi_callback_info info) {
  (void)info;
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0) return throw_errno(env, errno, "socketpair");
  napi_value result, a, b;
  NAPI_CALL(env, napi_create_array_with_length(env, 2, &result));
  NAPI_CALL(env, napi_create_int32(env, fds[0], &a));
  NAPI_CALL(env, napi_create_int32(env, fds[1], &b));
  NAPI_CALL(env, napi_set_element(env, result, 0, a));
  NAPI_CALL(env, napi_set_element(env, result, 1, b));
  return result;
}

/* ---- Poller: readiness from the libuv loop, no thread per socket ---- */

typedef struct {
  uv_poll_t handle;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  bool closed;
} poller;

static void poller_free(uv_handle_t *handle) {
  free(handle->data);
}

static void poller_shutdown(poller *p) {
  if (p->closed) return;
  p->closed = true;
  uv_poll_stop(&p->handle);
  if (p->callback) napi_delete_reference(p->env, p->callback);
  if (p->context) napi_async_destroy(p->env, p->context);
  p->callback = NULL;
  p->context = NULL;
  uv_close((uv_handle_t *)&p->handle, poller_free);
}

static void poller_event(uv_poll_t *handle, int status, int events) {
  poller *p = handle->data;
  if (p->closed) return;
  napi_env env = p->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, argv[3], ignored;
  if (napi_get_reference_value(env, p->callback, &cb) == napi_ok && cb != NULL &&
      napi_get_global(env, &recv) == napi_ok && /* make_callback needs an object as receiver */
      napi_create_int32(env, status, &argv[0]) == napi_ok &&
      napi_get_boolean(env, (events & UV_READABLE) != 0 || status < 0, &argv[1]) == napi_ok &&
      napi_get_boolean(env, (events & UV_WRITABLE) != 0 || status < 0, &argv[2]) == napi_ok) {
    /* make_callback runs microtasks; a throwing callback goes to process 'uncaughtException' as in Node's own handles. */
    if (napi_make_callback(env, p->context, recv, cb, 3, argv, &ignored) == napi_pending_exception) {
      napi_value error;
      if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
    }
  }
  napi_close_handle_scope(env, scope);
}

static void poller_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  poller_shutdown(data);
}

static poller *unwrap(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  void *data = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok || napi_unwrap(env, self, &data) != napi_ok) {
    napi_throw_error(env, "ERR_NATIVE", "not a Poller");
    return NULL;
  }
  return data;
}

/* new Poller(fd, callback(status, readable, writable)) */
static napi_value poller_new(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], self;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  int fd;
  napi_valuetype type;
  if (argc < 2 || !get_fd_arg(env, argv[0], &fd)) return NULL;
  if (napi_typeof(env, argv[1], &type) != napi_ok || type != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "Poller(fd, callback): callback must be a function");
    return NULL;
  }
  uv_loop_t *loop;
  NAPI_CALL(env, napi_get_uv_event_loop(env, &loop));
  poller *p = calloc(1, sizeof *p);
  if (p == NULL) return throw_errno(env, ENOMEM, "calloc");
  int rc = uv_poll_init(loop, &p->handle, fd);
  if (rc != 0) {
    free(p);
    return throw_errno(env, -rc, "uv_poll_init");
  }
  p->handle.data = p;
  p->env = env;
  napi_value name;
  if (napi_create_reference(env, argv[1], 1, &p->callback) != napi_ok ||
      napi_create_string_utf8(env, "nitro-datakey:poller", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, self, name, &p->context) != napi_ok ||
      napi_wrap(env, self, p, poller_finalize, NULL, NULL) != napi_ok) {
    poller_shutdown(p);
    napi_throw_error(env, "ERR_NATIVE", "Poller: setup failed");
    return NULL;
  }
  return self;
}

/* poller.start(readable, writable): watch for those events (both false stops). */
static napi_value poller_start(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  poller *p = unwrap(env, info, &argc, argv);
  if (p == NULL) return NULL;
  if (p->closed) {
    napi_throw_error(env, "ERR_SOCKET_CLOSED", "the Poller is closed");
    return NULL;
  }
  bool readable = false, writable = false;
  if (argc > 0) napi_get_value_bool(env, argv[0], &readable);
  if (argc > 1) napi_get_value_bool(env, argv[1], &writable);
  int events = (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0);
  int rc = events ? uv_poll_start(&p->handle, events, poller_event) : uv_poll_stop(&p->handle);
  if (rc != 0) return throw_errno(env, -rc, "uv_poll_start");
  return NULL;
}

static napi_value poller_close(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  poller *p = unwrap(env, info, &argc, NULL);
  if (p == NULL) return NULL;
  napi_value self;
  NAPI_CALL(env, napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
  void *ignored;
  /* The handle frees itself in uv_close's callback; the wrapper must not finalize it again. */
  napi_remove_wrap(env, self, &ignored);
  poller_shutdown(p);
  return NULL;
}

napi_status fdio_register(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"start", NULL, poller_start, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, poller_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_value poller_class;
  napi_status status = napi_define_class(env, "Poller", NAPI_AUTO_LENGTH, poller_new, NULL, 2, methods, &poller_class);
  if (status != napi_ok) return status;
  napi_property_descriptor props[] = {
      {"fdRead", NULL, fd_read, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fdWrite", NULL, fd_write, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fdShutdownWrite", NULL, fd_shutdown_write, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fdClose", NULL, fd_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"socketError", NULL, socket_error, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixSocketPair", NULL, unix_socket_pair, NULL, NULL, NULL, napi_enumerable, NULL},
      {"socketPeerCredentials", NULL, socket_peer_credentials, NULL, NULL, NULL, napi_enumerable, NULL},
      {"Poller", NULL, NULL, NULL, NULL, poller_class, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
