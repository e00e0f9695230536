#!/usr/bin/env bash
# Installs the parent proxy, and only the parent proxy, into DEST on the parent instance.
#
#   eif/install-proxy.sh DEST        e.g. sudo eif/install-proxy.sh /opt/nitro-datakey
#
# Run it from a clone that "npm ci" has built (step 1). DEST gets the proxy's workspace, the shared
# packages it stands on (with the native addon already built) and their production dependencies:
# never the enclave, the dev kit, the KMS SDK or any test tool. The parent is untrusted: it holds no
# code it does not run.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
# The help is the comment block at the top of this file (usage.sh prints it).
# shellcheck source=SCRIPTDIR/usage.sh
. "$here/usage.sh"
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  ''|-*) usage >&2; exit 2 ;;
esac
dest="$1"
if [ ! -f "$root/parent-proxy/dist/main.js" ] || [ ! -f "$root/shared/native/build/Release/nitro_datakey_native.node" ]; then
  echo "install-proxy.sh: build the clone first (npm ci in $root)" >&2
  exit 1
fi

mkdir -p "$dest"
# npm ci reads every workspace's manifest from the lockfile; only the proxy's closure is installed.
for manifest in package.json package-lock.json shared/package.json shared/native/package.json shared/commands/package.json enclave/package.json \
  parent-proxy/package.json test/package.json test/devkit/package.json; do
  mkdir -p "$dest/$(dirname "$manifest")"
  cp "$root/$manifest" "$dest/$manifest"
done
for part in shared/dist shared/native/dist shared/native/build/Release parent-proxy/dist parent-proxy/bin; do
  mkdir -p "$dest/$part"
  cp -R "$root/$part/." "$dest/$part/"
done
# Scripts stay off: the addon is copied built, and no lifecycle script of a dependency runs as root.
(cd "$dest" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --workspace @nitro-datakey/parent-proxy)
node "$dest/parent-proxy/bin/nitro-parent-proxy.js" --version
