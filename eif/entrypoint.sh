#!/bin/sh
# Runs as the enclave's init starts the image. Loopback is down inside a Nitro Enclave; the KMS
# gateway listens on it, so bring it up first, then hand over to nitro-enclave (the CMD).
set -eu
/usr/sbin/ip addr add 127.0.0.1/8 dev lo 2>/dev/null || true
/usr/sbin/ip link set dev lo up
exec "$@"
