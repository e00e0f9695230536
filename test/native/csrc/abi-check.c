/*
 * Checks the ABI the addon and the kernel shim assume against the kernel's own headers, at compile
 * time (a mismatch fails the build), and prints what it checked as one JSON line so a test can compare
 * the TypeScript constants with it.
 */
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>
#include <linux/vm_sockets.h>

#include "../../../shared/native/csrc/nsm-abi.h"
#include "nsm-uapi.h"

#define SAME_FIELD(a, fa, b, fb) \
  (offsetof(a, fa) == offsetof(b, fb) && sizeof(((a *)0)->fa) == sizeof(((b *)0)->fb))

/* The addon's struct nsm_message (two struct iovec) must be the driver's struct nsm_raw. */
_Static_assert(sizeof(struct nsm_message) == sizeof(struct nsm_raw), "nsm_message and nsm_raw differ in size");
_Static_assert(SAME_FIELD(struct nsm_message, request.iov_base, struct nsm_raw, request.addr), "request address");
_Static_assert(SAME_FIELD(struct nsm_message, request.iov_len, struct nsm_raw, request.len), "request length");
_Static_assert(SAME_FIELD(struct nsm_message, response.iov_base, struct nsm_raw, response.addr), "response address");
_Static_assert(SAME_FIELD(struct nsm_message, response.iov_len, struct nsm_raw, response.len), "response length");
_Static_assert(NSM_IOCTL_REQUEST == NSM_IOCTL_RAW, "the addon's ioctl number is not NSM_IOCTL_RAW");
_Static_assert(NSM_REQUEST_MAX == NSM_REQUEST_MAX_SIZE && NSM_RESPONSE_MAX == NSM_RESPONSE_MAX_SIZE, "buffer limits");
/* The kernel asserts the same: a sockaddr_vm fits a plain struct sockaddr. */
_Static_assert(sizeof(struct sockaddr_vm) == sizeof(struct sockaddr), "sockaddr_vm size");

int main(void) {
  printf("{\"nsmUapiFromKernelHeaders\":%s,", NSM_UAPI_FROM_KERNEL_HEADERS ? "true" : "false");
  printf("\"nsmRaw\":{\"size\":%zu,\"requestAddr\":%zu,\"requestLen\":%zu,\"responseAddr\":%zu,\"responseLen\":%zu},", sizeof(struct nsm_raw),
         offsetof(struct nsm_raw, request.addr), offsetof(struct nsm_raw, request.len), offsetof(struct nsm_raw, response.addr),
         offsetof(struct nsm_raw, response.len));
  printf("\"nsmMessageSize\":%zu,\"NSM_IOCTL_RAW\":%lu,\"NSM_IOCTL_REQUEST\":%lu,", sizeof(struct nsm_message), (unsigned long)NSM_IOCTL_RAW,
         (unsigned long)NSM_IOCTL_REQUEST);
  printf("\"NSM_REQUEST_MAX_SIZE\":%d,\"NSM_RESPONSE_MAX_SIZE\":%d,", NSM_REQUEST_MAX_SIZE, NSM_RESPONSE_MAX_SIZE);
  printf("\"sockaddrVm\":{\"size\":%zu,\"family\":%zu,\"port\":%zu,\"cid\":%zu,\"flags\":%zu},", sizeof(struct sockaddr_vm),
         offsetof(struct sockaddr_vm, svm_family), offsetof(struct sockaddr_vm, svm_port), offsetof(struct sockaddr_vm, svm_cid),
         offsetof(struct sockaddr_vm, svm_flags));
  printf("\"AF_VSOCK\":%d,\"VMADDR_CID_ANY\":%u,\"VMADDR_PORT_ANY\":%u,\"VMADDR_CID_HOST\":%u,\"IOCTL_VM_SOCKETS_GET_LOCAL_CID\":%lu}\n", AF_VSOCK,
         VMADDR_CID_ANY, VMADDR_PORT_ANY, VMADDR_CID_HOST, (unsigned long)IOCTL_VM_SOCKETS_GET_LOCAL_CID);
  return 0;
}
