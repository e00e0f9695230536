{
  "targets": [
    {
      "target_name": "nitro_datakey_native",
      "sources": ["csrc/addon.c", "csrc/errors.c", "csrc/fdio.c", "csrc/netif.c", "csrc/nsm.c", "csrc/process.c", "csrc/vsock.c"],
      "cflags": ["-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-D_GNU_SOURCE"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
