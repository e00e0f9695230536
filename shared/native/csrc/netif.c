/*
 * loopbackUp(): brings the loopback interface up, as `ip link set dev lo up` does, so the enclave
 * image needs no iproute2 (an apt install that would drift PCR2 between builds). Bringing lo up makes
 * the kernel assign 127.0.0.1/8 and ::1 itself. Returns true if it changed the interface, false if
 * it was already up (then no privilege is needed).
 */
#include "netif.h"

#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "errors.h"

static napi_value loopback_up(napi_env env, napi_callback_info info) {
  (void)info;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "ioctl SIOCGIFFLAGS lo");
  }
  bool changed = false;
  if (!(ifr.ifr_flags & IFF_UP)) {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) {
      int err = errno;
      close(fd);
      return throw_errno(env, err, "ioctl SIOCSIFFLAGS lo");
    }
    changed = true;
  }
  close(fd);
  napi_value result;
  NAPI_CALL(env, napi_get_boolean(env, changed, &result));
  return result;
}

napi_status netif_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"loopbackUp", NULL, loopback_up, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
