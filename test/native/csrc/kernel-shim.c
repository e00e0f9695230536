/*
 * Test-only stand-in for the two kernel interfaces the addon uses, loaded with LD_PRELOAD into a
 * child process: the NSM device (/dev/nsm and its one ioctl) and AF_VSOCK stream sockets. It lets the
 * real addon run a whole request on a machine without Nitro hardware, and it never lets a real
 * AF_VSOCK socket be created (connect() on one would leave this machine).
 *
 * Environment, read once when the library loads:
 *   NITRO_EMU_NSM_SOCKET     Unix socket of the NSM device emulator ("nitro-sim nsm-device"). When it is
 *                            unset, /dev/nsm is left to the real filesystem (ENOENT off Nitro).
 *   NITRO_EMU_VSOCK_CID      this process's CID (0 to 4294967295). Unset or not such a number:
 *                            socket(AF_VSOCK) fails EAFNOSUPPORT.
 *   NITRO_EMU_VSOCK_NS       a name for this emulated vsock network (default "nitro-datakey"): processes
 *                            with the same name reach each other, other runs never see them.
 *
 * vsock address (cid, port) is the abstract Unix name "\0nitro-emu/<ns>/<cid>:<port>": the kernel frees
 * it on close, a second bind fails EADDRINUSE, and an accepted connection's peer name is the client's
 * own (cid, port), as vsock's accept reports it. sockaddr_vm is decoded and validated the way
 * net/vmw_vsock/af_vsock.c does for bind and connect.
 *
 * Limits, on purpose: stream sockets only; dup()ed descriptors are not followed; SO_DOMAIN reads AF_UNIX.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "nsm-uapi.h"

/* Lets a program check that it runs under the shim before it calls connect() on a "vsock" socket. */
__attribute__((visibility("default"))) const int nitro_kernel_shim_version = 1;

/* ---- the real functions, found lazily: another library's constructor may call us before ours runs ---- */

#define REAL(name) real_##name
#define DECLARE_REAL(ret, name, ...) static ret (*real_##name)(__VA_ARGS__)
#define RESOLVE(name)                                                         \
  do {                                                                        \
    if (real_##name == NULL) real_##name = (__typeof__(real_##name))next(#name); \
  } while (0)

static void *next(const char *symbol) {
  void *fn = dlsym(RTLD_NEXT, symbol);
  if (fn == NULL) {
    fprintf(stderr, "nitro-kernel-shim: %s not found in libc\n", symbol);
    abort();
  }
  return fn;
}

DECLARE_REAL(int, open, const char *, int, ...);
DECLARE_REAL(int, open64, const char *, int, ...);
DECLARE_REAL(int, openat, int, const char *, int, ...);
DECLARE_REAL(int, openat64, int, const char *, int, ...);
DECLARE_REAL(int, __open_2, const char *, int);
DECLARE_REAL(int, __open64_2, const char *, int);
DECLARE_REAL(int, ioctl, int, unsigned long, ...);
DECLARE_REAL(int, socket, int, int, int);
DECLARE_REAL(int, bind, int, const struct sockaddr *, socklen_t);
DECLARE_REAL(int, listen, int, int);
DECLARE_REAL(int, connect, int, const struct sockaddr *, socklen_t);
DECLARE_REAL(int, accept4, int, struct sockaddr *, socklen_t *, int);
DECLARE_REAL(int, getsockname, int, struct sockaddr *, socklen_t *);
DECLARE_REAL(int, getpeername, int, struct sockaddr *, socklen_t *);
DECLARE_REAL(int, close, int);

/* ---- what each emulated descriptor is ---- */

enum kind { KIND_NONE = 0, KIND_NSM, KIND_VSOCK_DEVICE, KIND_VSOCK };

typedef struct {
  int kind;
  /* The file behind the number when we marked it: a number closed behind our back (libuv closes with a
   * raw syscall) and reused is then seen as not ours. */
  dev_t dev;
  ino_t ino;
  int bound, listening, connected;
  struct sockaddr_vm local, peer;
} fd_state;

#define MAX_FDS 65536
static fd_state fds[MAX_FDS];

static void mark(int fd, int kind) {
  struct stat st;
  if (fd < 0 || fd >= MAX_FDS || fstat(fd, &st) != 0) return;
  fd_state *s = &fds[fd];
  memset(s, 0, sizeof *s);
  s->dev = st.st_dev;
  s->ino = st.st_ino;
  s->local.svm_family = s->peer.svm_family = AF_VSOCK;
  s->local.svm_cid = s->peer.svm_cid = VMADDR_CID_ANY;
  s->local.svm_port = s->peer.svm_port = VMADDR_PORT_ANY;
  __atomic_store_n(&s->kind, kind, __ATOMIC_RELEASE);
}

static fd_state *state_of(int fd, int kind) {
  if (fd < 0 || fd >= MAX_FDS) return NULL;
  fd_state *s = &fds[fd];
  if (__atomic_load_n(&s->kind, __ATOMIC_ACQUIRE) != kind) return NULL;
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_dev != s->dev || st.st_ino != s->ino) {
    __atomic_store_n(&s->kind, KIND_NONE, __ATOMIC_RELEASE);
    return NULL;
  }
  return s;
}

static int fail(int error) {
  errno = error;
  return -1;
}

/* ---- configuration, read once: the ioctl runs on libuv's thread pool, and getenv() there would race
 * with a setenv() (process.env writes) on the main thread ---- */

static struct {
  int have_cid;
  uint32_t cid;
  char ns[64];
  char nsm_socket[sizeof(((struct sockaddr_un *)0)->sun_path)];
} config;
static pthread_once_t config_once = PTHREAD_ONCE_INIT;

static void read_config(void) {
  const char *text = getenv("NITRO_EMU_VSOCK_CID");
  if (text != NULL && *text != '\0') {
    char *end = NULL;
    errno = 0;
    unsigned long value = strtoul(text, &end, 10);
    if (*end == '\0' && errno == 0 && value <= UINT32_MAX && text[0] != '-') {
      config.cid = (uint32_t)value;
      config.have_cid = 1;
    }
  }
  const char *ns = getenv("NITRO_EMU_VSOCK_NS");
  snprintf(config.ns, sizeof config.ns, "%s", ns == NULL || *ns == '\0' ? "nitro-datakey" : ns);
  const char *nsm = getenv("NITRO_EMU_NSM_SOCKET");
  /* A path that does not fit a sockaddr_un is treated as no emulator at all. */
  if (nsm != NULL && strlen(nsm) < sizeof config.nsm_socket) snprintf(config.nsm_socket, sizeof config.nsm_socket, "%s", nsm);
}

__attribute__((constructor)) static void load_config(void) {
  pthread_once(&config_once, read_config);
}

static int local_cid(uint32_t *cid) {
  pthread_once(&config_once, read_config);
  if (config.have_cid) *cid = config.cid;
  return config.have_cid;
}

static const char *vsock_namespace(void) {
  pthread_once(&config_once, read_config);
  return config.ns;
}

static const char *nsm_socket(void) {
  pthread_once(&config_once, read_config);
  return config.nsm_socket[0] == '\0' ? NULL : config.nsm_socket;
}

/* ---- open("/dev/nsm"), open("/dev/vsock"): a placeholder descriptor the ioctls below recognise ---- */

static int open_emulated(const char *path, int flags, int *fd) {
  int kind = KIND_NONE;
  if (path != NULL && strcmp(path, "/dev/nsm") == 0 && nsm_socket() != NULL) kind = KIND_NSM;
  uint32_t cid;
  if (path != NULL && strcmp(path, "/dev/vsock") == 0 && local_cid(&cid)) kind = KIND_VSOCK_DEVICE;
  if (kind == KIND_NONE) return 0;
  *fd = eventfd(0, (flags & O_CLOEXEC) ? EFD_CLOEXEC : 0);
  if (*fd >= MAX_FDS) {
    REAL(close)(*fd);
    *fd = fail(EMFILE);
  }
  if (*fd >= 0) mark(*fd, kind);
  return 1;
}

static mode_t mode_arg(int flags, va_list ap) {
  return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

#define OPEN_WRAPPER(name)                             \
  int name(const char *path, int flags, ...) {         \
    int fd;                                            \
    if (open_emulated(path, flags, &fd)) return fd;    \
    va_list ap;                                        \
    va_start(ap, flags);                               \
    mode_t mode = mode_arg(flags, ap);                 \
    va_end(ap);                                        \
    RESOLVE(name);                                     \
    return REAL(name)(path, flags, mode);              \
  }
OPEN_WRAPPER(open)
OPEN_WRAPPER(open64)

#define OPENAT_WRAPPER(name)                                           \
  int name(int dirfd, const char *path, int flags, ...) {              \
    int fd;                                                            \
    if (path[0] == '/' && open_emulated(path, flags, &fd)) return fd; \
    va_list ap;                                                        \
    va_start(ap, flags);                                               \
    mode_t mode = mode_arg(flags, ap);                                 \
    va_end(ap);                                                        \
    RESOLVE(name);                                                     \
    return REAL(name)(dirfd, path, flags, mode);                       \
  }
OPENAT_WRAPPER(openat)
OPENAT_WRAPPER(openat64)

/* _FORTIFY_SOURCE's entry points for open with flags not known at compile time. */
#define OPEN2_WRAPPER(name)                          \
  int name(const char *path, int flags) {            \
    int fd;                                          \
    if (open_emulated(path, flags, &fd)) return fd;  \
    RESOLVE(name);                                   \
    return REAL(name)(path, flags);                  \
  }
OPEN2_WRAPPER(__open_2)
OPEN2_WRAPPER(__open64_2)

/* ---- the NSM ioctl: one connection to the emulator per call, so concurrent ioctls need no lock ---- */

static int write_all(int fd, const uint8_t *bytes, size_t length) {
  while (length > 0) {
    ssize_t n = write(fd, bytes, length);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    bytes += n;
    length -= (size_t)n;
  }
  return 0;
}

static int read_all(int fd, uint8_t *bytes, size_t length) {
  while (length > 0) {
    ssize_t n = read(fd, bytes, length);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    bytes += n;
    length -= (size_t)n;
  }
  return 0;
}

/* Frames both ways: a 4-byte big-endian length, then the CBOR bytes the device takes or gives. */
static int nsm_exchange(const uint8_t *request, size_t request_len, uint8_t *response, size_t *response_len) {
  const char *path = nsm_socket();
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (path == NULL || strlen(path) >= sizeof addr.sun_path) return EIO;
  strcpy(addr.sun_path, path);
  RESOLVE(socket);
  RESOLVE(connect);
  RESOLVE(close);
  int fd = REAL(socket)(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return EIO;
  /* A stuck emulator fails the call instead of hanging the thread-pool thread forever. */
  struct timeval timeout = {.tv_sec = 30};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  uint8_t header[4] = {(uint8_t)(request_len >> 24), (uint8_t)(request_len >> 16), (uint8_t)(request_len >> 8), (uint8_t)request_len};
  int err = 0;
  uint32_t length = 0;
  if (REAL(connect)(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || write_all(fd, header, 4) != 0 || write_all(fd, request, request_len) != 0 ||
      read_all(fd, header, 4) != 0) {
    err = EIO;
  } else {
    length = (uint32_t)header[0] << 24 | (uint32_t)header[1] << 16 | (uint32_t)header[2] << 8 | header[3];
    if (length > NSM_RESPONSE_MAX_SIZE || read_all(fd, response, length) != 0) err = EIO;
  }
  REAL(close)(fd);
  *response_len = length;
  return err;
}

static int nsm_ioctl(struct nsm_raw *raw) {
  if (raw == NULL) return fail(EFAULT);
  if (raw->request.addr == 0 || raw->response.addr == 0) return fail(EFAULT);
  /* (unverified) the driver's answer to an oversized request; the addon refuses those before the call. */
  if (raw->request.len == 0 || raw->request.len > NSM_REQUEST_MAX_SIZE) return fail(EMSGSIZE);
  uint8_t response[NSM_RESPONSE_MAX_SIZE];
  size_t length = 0;
  int err = nsm_exchange((const uint8_t *)(uintptr_t)raw->request.addr, (size_t)raw->request.len, response, &length);
  if (err != 0) return fail(err);
  /* The driver copies at most the caller's buffer and writes back the length it copied. */
  if (length > raw->response.len) length = (size_t)raw->response.len;
  memcpy((void *)(uintptr_t)raw->response.addr, response, length);
  raw->response.len = length;
  return 0;
}

int ioctl(int fd, unsigned long request, ...) {
  va_list ap;
  va_start(ap, request);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  if (state_of(fd, KIND_NSM) != NULL) return request == NSM_IOCTL_RAW ? nsm_ioctl(arg) : fail(ENOTTY);
  if (state_of(fd, KIND_VSOCK_DEVICE) != NULL && request == IOCTL_VM_SOCKETS_GET_LOCAL_CID) {
    uint32_t cid;
    if (!local_cid(&cid)) return fail(ENODEV);
    *(unsigned int *)arg = cid;
    return 0;
  }
  RESOLVE(ioctl);
  return REAL(ioctl)(fd, request, arg);
}

/* ---- AF_VSOCK on abstract Unix sockets ---- */

static socklen_t unix_name(struct sockaddr_un *addr, uint32_t cid, uint32_t port) {
  memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  int n = snprintf(addr->sun_path + 1, sizeof addr->sun_path - 1, "nitro-emu/%s/%u:%u", vsock_namespace(), cid, port);
  if (n < 0 || (size_t)n >= sizeof addr->sun_path - 1) return 0;
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

/* The (cid, port) an abstract name of this network stands for; 0 when it is not one. */
static int parse_unix_name(const struct sockaddr_un *addr, socklen_t length, uint32_t *cid, uint32_t *port) {
  char prefix[sizeof addr->sun_path];
  int p = snprintf(prefix, sizeof prefix, "nitro-emu/%s/", vsock_namespace());
  size_t offset = offsetof(struct sockaddr_un, sun_path) + 1;
  if (p < 0 || length <= offset || addr->sun_path[0] != '\0') return 0;
  size_t n = length - offset;
  char name[sizeof addr->sun_path];
  if (n >= sizeof name) return 0;
  memcpy(name, addr->sun_path + 1, n);
  name[n] = '\0';
  if (strncmp(name, prefix, (size_t)p) != 0) return 0;
  unsigned long c, q;
  char *end;
  errno = 0;
  c = strtoul(name + p, &end, 10);
  if (*end != ':' || c > UINT32_MAX) return 0;
  q = strtoul(end + 1, &end, 10);
  if (*end != '\0' || q > UINT32_MAX || errno != 0) return 0;
  *cid = (uint32_t)c;
  *port = (uint32_t)q;
  return 1;
}

/* af_vsock.c: vsock_addr_cast() needs the whole struct and vsock_addr_validate() the family and known
 * flags; bind() and connect() turn either failure into EINVAL. */
static int decode_vsock(const struct sockaddr *addr, socklen_t length, struct sockaddr_vm *out) {
  if (addr == NULL || length < sizeof *out) return EINVAL;
  memcpy(out, addr, sizeof *out);
  if (out->svm_family != AF_VSOCK) return EINVAL;
  if (out->svm_flags & ~VMADDR_FLAG_TO_HOST) return EINVAL;
  return 0;
}

/* getsockname/getpeername/accept copy as the kernel does: at most the caller's length, which is then
 * set to the full size. */
static void copy_out(const struct sockaddr_vm *addr, struct sockaddr *out, socklen_t *length) {
  if (out == NULL || length == NULL) return;
  memcpy(out, addr, *length < sizeof *addr ? *length : sizeof *addr);
  *length = sizeof *addr;
}

int socket(int domain, int type, int protocol) {
  RESOLVE(socket);
  if (domain != AF_VSOCK) return REAL(socket)(domain, type, protocol);
  uint32_t cid;
  if (!local_cid(&cid)) return fail(EAFNOSUPPORT); /* never a real vsock socket */
  if ((type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != SOCK_STREAM) return fail(ESOCKTNOSUPPORT);
  if (protocol != 0 && protocol != PF_VSOCK) return fail(EPROTONOSUPPORT);
  int fd = REAL(socket)(AF_UNIX, type, 0);
  if (fd >= MAX_FDS) {
    RESOLVE(close);
    REAL(close)(fd);
    return fail(EMFILE);
  }
  if (fd >= 0) mark(fd, KIND_VSOCK);
  return fd;
}

static int bind_vsock(int fd, fd_state *s, uint32_t cid, uint32_t port) {
  uint32_t own;
  if (!local_cid(&own)) return fail(EADDRNOTAVAIL);
  if (s->bound) return fail(EINVAL);
  if (cid != VMADDR_CID_ANY && cid != own) return fail(EADDRNOTAVAIL);
  /* Ports below 1024 need CAP_NET_BIND_SERVICE; root stands for it here. */
  if (port != VMADDR_PORT_ANY && port <= 1023 && geteuid() != 0) return fail(EACCES);
  RESOLVE(bind);
  struct sockaddr_un addr;
  if (port != VMADDR_PORT_ANY) {
    socklen_t length = unix_name(&addr, own, port);
    if (length == 0 || REAL(bind)(fd, (struct sockaddr *)&addr, length) != 0) return -1;
  } else {
    /* As the kernel picks: a random port above the reserved ones, then the next free one. */
    uint32_t start;
    if (getrandom(&start, sizeof start, 0) != sizeof start) start = (uint32_t)getpid();
    port = 1024 + start % (VMADDR_PORT_ANY - 1024);
    for (int tries = 0;; tries++) {
      socklen_t length = unix_name(&addr, own, port);
      if (length != 0 && REAL(bind)(fd, (struct sockaddr *)&addr, length) == 0) break;
      if (errno != EADDRINUSE || tries > 1000) return -1;
      port = port + 1 >= VMADDR_PORT_ANY ? 1024 : port + 1;
    }
  }
  s->local.svm_cid = cid;
  s->local.svm_port = port;
  s->bound = 1;
  return 0;
}

int bind(int fd, const struct sockaddr *addr, socklen_t length) {
  fd_state *s = state_of(fd, KIND_VSOCK);
  RESOLVE(bind);
  if (s == NULL) return REAL(bind)(fd, addr, length);
  struct sockaddr_vm vm;
  int err = decode_vsock(addr, length, &vm);
  if (err != 0) return fail(err);
  return bind_vsock(fd, s, vm.svm_cid, vm.svm_port);
}

int listen(int fd, int backlog) {
  fd_state *s = state_of(fd, KIND_VSOCK);
  RESOLVE(listen);
  if (s == NULL) return REAL(listen)(fd, backlog);
  if (!s->bound || s->connected) return fail(EINVAL); /* a Unix socket would autobind; vsock refuses */
  if (REAL(listen)(fd, backlog) != 0) return -1;
  s->listening = 1;
  return 0;
}

int connect(int fd, const struct sockaddr *addr, socklen_t length) {
  fd_state *s = state_of(fd, KIND_VSOCK);
  RESOLVE(connect);
  if (s == NULL) return REAL(connect)(fd, addr, length);
  struct sockaddr_vm vm;
  int err = decode_vsock(addr, length, &vm);
  if (err != 0) return fail(err);
  if (s->connected) return fail(EISCONN);
  if (s->listening) return fail(EINVAL);
  uint32_t own;
  if (!local_cid(&own)) return fail(ENETUNREACH);
  /* The peer learns who is calling from our name, so bind one first, as vsock_auto_bind() does. */
  if (!s->bound && bind_vsock(fd, s, VMADDR_CID_ANY, VMADDR_PORT_ANY) != 0) return -1;
  uint32_t cid = vm.svm_cid == VMADDR_CID_LOCAL ? own : vm.svm_cid;
  struct sockaddr_un target;
  socklen_t target_length = unix_name(&target, cid, vm.svm_port);
  if (target_length == 0) return fail(EINVAL);
  int rc;
  do rc = REAL(connect)(fd, (struct sockaddr *)&target, target_length);
  while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    /* No listener: the virtio transport answers with a reset, not a refusal. */
    return errno == ECONNREFUSED ? fail(ECONNRESET) : -1;
  }
  s->peer.svm_cid = cid;
  s->peer.svm_port = vm.svm_port;
  s->connected = 1;
  /* A non-blocking vsock connect always reports EINPROGRESS and completes later: keep that path live. */
  int flags = fcntl(fd, F_GETFL);
  return flags >= 0 && (flags & O_NONBLOCK) ? fail(EINPROGRESS) : 0;
}

int accept4(int fd, struct sockaddr *addr, socklen_t *length, int flags) {
  fd_state *s = state_of(fd, KIND_VSOCK);
  RESOLVE(accept4);
  if (s == NULL) return REAL(accept4)(fd, addr, length, flags);
  if (!s->listening) return fail(EINVAL);
  uint32_t own;
  if (!local_cid(&own)) return fail(EINVAL);
  struct sockaddr_un peer;
  socklen_t peer_length = sizeof peer;
  int client = REAL(accept4)(fd, (struct sockaddr *)&peer, &peer_length, flags);
  if (client < 0) return -1;
  uint32_t cid, port;
  if (client >= MAX_FDS || !parse_unix_name(&peer, peer_length, &cid, &port)) {
    /* Something outside the emulated network connected: drop it, as a refused handshake. */
    RESOLVE(close);
    REAL(close)(client);
    return fail(ECONNABORTED);
  }
  mark(client, KIND_VSOCK);
  fd_state *c = &fds[client];
  c->bound = c->connected = 1;
  c->local.svm_cid = s->local.svm_cid == VMADDR_CID_ANY ? own : s->local.svm_cid;
  c->local.svm_port = s->local.svm_port;
  c->peer.svm_cid = cid;
  c->peer.svm_port = port;
  copy_out(&c->peer, addr, length);
  return client;
}

int accept(int fd, struct sockaddr *addr, socklen_t *length) {
  return accept4(fd, addr, length, 0);
}

int getsockname(int fd, struct sockaddr *addr, socklen_t *length) {
  fd_state *s = state_of(fd, KIND_VSOCK);
  RESOLVE(getsockname);
  if (s == NULL) return REAL(getsockname)(fd, addr, length);
  if (addr == NULL || length == NULL) return fail(EFAULT);
  copy_out(&s->local, addr, length);
  return 0;
}

int getpeername(int fd, struct sockaddr *addr, socklen_t *length) {
  fd_state *s = state_of(fd, KIND_VSOCK);
  RESOLVE(getpeername);
  if (s == NULL) return REAL(getpeername)(fd, addr, length);
  if (!s->connected) return fail(ENOTCONN);
  if (addr == NULL || length == NULL) return fail(EFAULT);
  copy_out(&s->peer, addr, length);
  return 0;
}

int close(int fd) {
  RESOLVE(close);
  /* Forget the number before the kernel can hand it to another thread's new file. */
  if (fd >= 0 && fd < MAX_FDS) __atomic_store_n(&fds[fd].kind, KIND_NONE, __ATOMIC_RELEASE);
  return REAL(close)(fd);
}
