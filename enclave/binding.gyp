{
  "targets": [
    {
      "target_name": "nitro_datakey_native",
      "sources": ["native/addon.c", "native/errors.c", "native/fdio.c", "native/nsm.c", "native/vsock.c"],
      "cflags": ["-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-D_GNU_SOURCE"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
