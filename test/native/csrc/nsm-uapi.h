#ifndef NITRO_DATAKEY_TEST_NSM_UAPI_H
#define NITRO_DATAKEY_TEST_NSM_UAPI_H
/*
 * The NSM driver's uapi (Linux 6.8+, include/uapi/linux/nsm.h). Taken from the installed kernel
 * headers when they have it; older headers (this machine's among them) lack the file, so the same
 * layout is declared here from its description: two {u64 addr, u64 len} iovecs, request then response,
 * and the ioctl number built with the kernel's own _IOWR. NSM_UAPI_FROM_KERNEL_HEADERS says which.
 */
#if __has_include(<linux/nsm.h>)
#include <linux/nsm.h>
#define NSM_UAPI_FROM_KERNEL_HEADERS 1
#else
#include <linux/ioctl.h>
#include <linux/types.h>
#define NSM_UAPI_FROM_KERNEL_HEADERS 0
#define NSM_MAGIC 0x0A
#define NSM_REQUEST_MAX_SIZE 0x1000
#define NSM_RESPONSE_MAX_SIZE 0x3000
struct nsm_iovec {
  __u64 addr;
  __u64 len;
};
struct nsm_raw {
  struct nsm_iovec request;
  struct nsm_iovec response;
};
#define NSM_IOCTL_RAW _IOWR(NSM_MAGIC, 0x0, struct nsm_raw)
#endif

#endif
