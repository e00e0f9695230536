#include "vsock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "errors.h"

/* CIDs and ports are uint32 end to end (an auto-assigned port can exceed 2^31). */
static bool get_u32(napi_env env, napi_value value, uint32_t *out, const char *what) {
  double d;
  if (napi_get_value_double(env, value, &d) != napi_ok || d < 0 || d > 4294967295.0 || d != (double)(uint32_t)d) {
    char message[96];
    snprintf(message, sizeof message, "%s must be an integer from 0 to 4294967295", what);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", message);
    return false;
  }
  *out = (uint32_t)d;
  return true;
}

static napi_value address_object(napi_env env, const struct sockaddr_vm *addr) {
  napi_value obj, cid, port;
  if (napi_create_object(env, &obj) != napi_ok || napi_create_uint32(env, addr->svm_cid, &cid) != napi_ok ||
      napi_create_uint32(env, addr->svm_port, &port) != napi_ok || napi_set_named_property(env, obj, "cid", cid) != napi_ok ||
      napi_set_named_property(env, obj, "port", port) != napi_ok) {
    return NULL;
  }
  return obj;
}

static void fill(struct sockaddr_vm *addr, uint32_t cid, uint32_t port) {
  memset(addr, 0, sizeof *addr);
  addr->svm_family = AF_VSOCK;
  addr->svm_cid = cid;
  addr->svm_port = port;
}

/* vsockSocket(): a non-blocking, close-on-exec AF_VSOCK stream socket. */
static napi_value vsock_socket(napi_env env, napi_callback_info info) {
  (void)info;
  int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket");
  napi_value result;
  NAPI_CALL(env, napi_create_int32(env, fd, &result));
  return result;
}

/* vsockBind(fd, cid, port) */
static napi_value vsock_bind(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd;
  uint32_t cid, port;
  if (argc < 3 || !get_fd_arg(env, argv[0], &fd) || !get_u32(env, argv[1], &cid, "cid") || !get_u32(env, argv[2], &port, "port")) return NULL;
  struct sockaddr_vm addr;
  fill(&addr, cid, port);
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) return throw_errno(env, errno, "bind");
  return NULL;
}

/* vsockListen(fd, backlog) */
static napi_value vsock_listen(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd;
  int32_t backlog = 511;
  if (argc < 1 || !get_fd_arg(env, argv[0], &fd)) return NULL;
  if (argc > 1) napi_get_value_int32(env, argv[1], &backlog);
  if (listen(fd, backlog) < 0) return throw_errno(env, errno, "listen");
  return NULL;
}

/* vsockAccept(fd): {fd, cid, port} of a new non-blocking connection, or null when none is waiting. */
static napi_value vsock_accept(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd;
  if (argc < 1 || !get_fd_arg(env, argv[0], &fd)) return NULL;
  struct sockaddr_vm addr;
  socklen_t len = sizeof addr;
  int client;
  do client = accept4(fd, (struct sockaddr *)&addr, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
  while (client < 0 && errno == EINTR);
  if (client < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED) {
      napi_value null;
      napi_get_null(env, &null);
      return null;
    }
    return throw_errno(env, errno, "accept");
  }
  napi_value obj = address_object(env, &addr), cfd;
  if (obj == NULL || napi_create_int32(env, client, &cfd) != napi_ok || napi_set_named_property(env, obj, "fd", cfd) != napi_ok) {
    close(client);
    return NULL;
  }
  return obj;
}

/* vsockConnect(fd, cid, port): true when connected at once, false when in progress (wait for writable). */
static napi_value vsock_connect(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd;
  uint32_t cid, port;
  if (argc < 3 || !get_fd_arg(env, argv[0], &fd) || !get_u32(env, argv[1], &cid, "cid") || !get_u32(env, argv[2], &port, "port")) return NULL;
  struct sockaddr_vm addr;
  fill(&addr, cid, port);
  int rc;
  do rc = connect(fd, (struct sockaddr *)&addr, sizeof addr);
  while (rc < 0 && errno == EINTR);
  napi_value result;
  if (rc == 0) {
    napi_get_boolean(env, true, &result);
    return result;
  }
  if (errno == EINPROGRESS) {
    napi_get_boolean(env, false, &result);
    return result;
  }
  return throw_errno(env, errno, "connect");
}

static napi_value name_of(napi_env env, napi_callback_info info, bool peer) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd;
  if (argc < 1 || !get_fd_arg(env, argv[0], &fd)) return NULL;
  struct sockaddr_vm addr;
  socklen_t len = sizeof addr;
  int rc = peer ? getpeername(fd, (struct sockaddr *)&addr, &len) : getsockname(fd, (struct sockaddr *)&addr, &len);
  if (rc < 0) return throw_errno(env, errno, peer ? "getpeername" : "getsockname");
  return address_object(env, &addr);
}

static napi_value vsock_address(napi_env env, napi_callback_info info) {
  return name_of(env, info, false);
}

static napi_value vsock_peer_address(napi_env env, napi_callback_info info) {
  return name_of(env, info, true);
}

/* vsockLocalCid(): this machine's CID, from /dev/vsock. */
static napi_value vsock_local_cid(napi_env env, napi_callback_info info) {
  (void)info;
  int fd = open("/dev/vsock", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, errno, "open /dev/vsock");
  unsigned int cid = 0;
  int rc = ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid);
  int err = errno;
  close(fd);
  if (rc < 0) return throw_errno(env, err, "ioctl IOCTL_VM_SOCKETS_GET_LOCAL_CID");
  napi_value result;
  NAPI_CALL(env, napi_create_uint32(env, cid, &result));
  return result;
}

napi_status vsock_register(napi_env env, napi_value exports) {
  napi_value any;
  napi_status status = napi_create_uint32(env, VMADDR_CID_ANY, &any);
  if (status != napi_ok) return status;
  napi_property_descriptor props[] = {
      {"vsockSocket", NULL, vsock_socket, NULL, NULL, NULL, napi_enumerable, NULL},
      {"vsockBind", NULL, vsock_bind, NULL, NULL, NULL, napi_enumerable, NULL},
      {"vsockListen", NULL, vsock_listen, NULL, NULL, NULL, napi_enumerable, NULL},
      {"vsockAccept", NULL, vsock_accept, NULL, NULL, NULL, napi_enumerable, NULL},
      {"vsockConnect", NULL, vsock_connect, NULL, NULL, NULL, napi_enumerable, NULL},
      {"vsockAddress", NULL, vsock_address, NULL, NULL, NULL, napi_enumerable, NULL},
      {"vsockPeerAddress", NULL, vsock_peer_address, NULL, NULL, NULL, napi_enumerable, NULL},
      {"vsockLocalCid", NULL, vsock_local_cid, NULL, NULL, NULL, napi_enumerable, NULL},
      {"VMADDR_CID_ANY", NULL, NULL, NULL, NULL, any, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
