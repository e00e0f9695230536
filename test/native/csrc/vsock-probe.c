/*
 * Runs under the kernel shim and prints, as one JSON object, what each edge case of the vsock socket
 * calls returned ("ok" or the errno name), so a test can hold the shim to af_vsock.c's answers. The
 * addon always passes well-formed addresses; these are the malformed ones it never sends.
 *
 * "vsock-probe PORT bind-only" stops before connect() and may run on the real kernel (the test's oracle:
 * creating, binding and listening are local). "vsock-probe PORT" goes on to connect and accept, and
 * refuses to start unless the shim is loaded: a real AF_VSOCK connect() would leave the machine.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

static const char *result(int rc) {
  if (rc == 0) return "ok";
  switch (errno) {
    case EINVAL: return "EINVAL";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case EADDRINUSE: return "EADDRINUSE";
    case EACCES: return "EACCES";
    case ENOTCONN: return "ENOTCONN";
    case ECONNRESET: return "ECONNRESET";
    case ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EISCONN: return "EISCONN";
    default: return strerror(errno);
  }
}

static struct sockaddr_vm vm(unsigned cid, unsigned port) {
  struct sockaddr_vm a;
  memset(&a, 0, sizeof a);
  a.svm_family = AF_VSOCK;
  a.svm_cid = cid;
  a.svm_port = port;
  return a;
}

static int fresh(void) {
  return socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

int main(int argc, char **argv) {
  unsigned port = argc > 1 ? (unsigned)atoi(argv[1]) : 20000;
  int bind_only = argc > 2 && strcmp(argv[2], "bind-only") == 0;
  if (!bind_only && dlsym(RTLD_DEFAULT, "nitro_kernel_shim_version") == NULL) {
    fprintf(stderr, "vsock-probe: the kernel shim is not loaded (LD_PRELOAD): refusing to connect() a real AF_VSOCK socket\n");
    return 2;
  }
  struct sockaddr_vm a = vm(VMADDR_CID_ANY, port);
  int fd;
  printf("{\"euid\":%u", (unsigned)geteuid());

  fd = fresh();
  printf(",\"bindShort\":\"%s\"", result(bind(fd, (struct sockaddr *)&a, sizeof a - 1)));
  struct sockaddr_vm wrong = a;
  wrong.svm_family = AF_INET;
  printf(",\"bindWrongFamily\":\"%s\"", result(bind(fd, (struct sockaddr *)&wrong, sizeof wrong)));
  struct sockaddr_vm flagged = a;
  flagged.svm_flags = 0x02;
  printf(",\"bindUnknownFlag\":\"%s\"", result(bind(fd, (struct sockaddr *)&flagged, sizeof flagged)));
  struct sockaddr_vm foreign = vm(12345, port);
  printf(",\"bindForeignCid\":\"%s\"", result(bind(fd, (struct sockaddr *)&foreign, sizeof foreign)));
  printf(",\"listenUnbound\":\"%s\"", result(listen(fd, 1)));
  struct sockaddr_vm peer;
  socklen_t len = sizeof peer;
  printf(",\"getpeernameUnconnected\":\"%s\"", result(getpeername(fd, (struct sockaddr *)&peer, &len)));
  printf(",\"bind\":\"%s\"", result(bind(fd, (struct sockaddr *)&a, sizeof a)));
  printf(",\"bindAgain\":\"%s\"", result(bind(fd, (struct sockaddr *)&a, sizeof a)));
  printf(",\"listen\":\"%s\"", result(listen(fd, 1)));
  /* A short buffer gets the start of the address and the full length back. */
  unsigned char partial[8];
  memset(partial, 0xff, sizeof partial);
  len = sizeof partial;
  int rc = getsockname(fd, (struct sockaddr *)partial, &len);
  unsigned got_port;
  memcpy(&got_port, partial + 4, 4);
  printf(",\"getsocknameShort\":{\"result\":\"%s\",\"length\":%u,\"port\":%u}", result(rc), (unsigned)len, got_port);

  struct sockaddr_vm name;
  len = sizeof name;
  getsockname(fd, (struct sockaddr *)&name, &len);
  printf(",\"boundName\":{\"cid\":%u,\"port\":%u}", name.svm_cid, name.svm_port);
  int any = fresh();
  struct sockaddr_vm any_port = vm(VMADDR_CID_ANY, VMADDR_PORT_ANY);
  rc = bind(any, (struct sockaddr *)&any_port, sizeof any_port);
  len = sizeof name;
  getsockname(any, (struct sockaddr *)&name, &len);
  printf(",\"autoPort\":{\"result\":\"%s\",\"aboveReserved\":%s}", result(rc), name.svm_port > 1023 && name.svm_port != VMADDR_PORT_ANY ? "true" : "false");
  close(any);

  int second = fresh();
  printf(",\"bindInUse\":\"%s\"", result(bind(second, (struct sockaddr *)&a, sizeof a)));
  close(second);
  struct sockaddr_vm low = vm(VMADDR_CID_ANY, 80);
  second = fresh();
  printf(",\"bindPrivileged\":\"%s\"", result(bind(second, (struct sockaddr *)&low, sizeof low)));
  close(second);
  if (bind_only) {
    printf("}\n");
    return 0;
  }

  int client = fresh();
  struct sockaddr_vm absent = vm(VMADDR_CID_LOCAL, port + 1);
  printf(",\"connectNoListener\":\"%s\"", result(connect(client, (struct sockaddr *)&absent, sizeof absent)));
  close(client);
  client = fresh();
  struct sockaddr_vm local = vm(VMADDR_CID_LOCAL, port);
  printf(",\"connectLocal\":\"%s\"", result(connect(client, (struct sockaddr *)&local, sizeof local)));
  printf(",\"connectAgain\":\"%s\"", result(connect(client, (struct sockaddr *)&local, sizeof local)));
  struct sockaddr_vm mine;
  len = sizeof mine;
  getsockname(client, (struct sockaddr *)&mine, &len);
  struct sockaddr_vm seen;
  len = sizeof seen;
  int accepted = accept(fd, (struct sockaddr *)&seen, &len);
  printf(",\"accept\":{\"result\":\"%s\",\"peerCid\":%u,\"peerPort\":%u,\"clientPort\":%u,\"length\":%u}", result(accepted < 0 ? -1 : 0), seen.svm_cid,
         seen.svm_port, mine.svm_port, (unsigned)len);
  struct sockaddr_vm here;
  len = sizeof here;
  getsockname(accepted, (struct sockaddr *)&here, &len);
  printf(",\"acceptedLocal\":{\"cid\":%u,\"port\":%u}", here.svm_cid, here.svm_port);

  printf(",\"dgram\":\"%s\"", result(socket(AF_VSOCK, SOCK_DGRAM, 0) < 0 ? -1 : 0));
  printf(",\"protocol\":\"%s\"", result(socket(AF_VSOCK, SOCK_STREAM, 7) < 0 ? -1 : 0));
  printf("}\n");
  return 0;
}
