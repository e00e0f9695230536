#ifndef NITRO_DATAKEY_NSM_ABI_H
#define NITRO_DATAKEY_NSM_ABI_H
/*
 * The NSM driver's ioctl ABI as this addon uses it. Kept in its own header, free of Node's, so the
 * test build can check it against the kernel's uapi (test/native/csrc/abi-check.c).
 */
#include <sys/uio.h>

/* _IOWR(0x0A, 0, struct nsm_message): two iovecs {request, response}, 32 bytes on 64-bit. */
struct nsm_message {
  struct iovec request;
  struct iovec response;
};
_Static_assert(sizeof(struct nsm_message) == 32, "struct nsm_message must be 32 bytes");
#define NSM_IOCTL_REQUEST 0xC0200A00UL
#define NSM_REQUEST_MAX 0x1000
#define NSM_RESPONSE_MAX 0x3000

#endif
