#!/usr/bin/env bash
# Runs the enclave package's own tests with the dev kit and the suites removed from node_modules, to
# show the enclave builds and runs without them. The links are put back on exit, whatever happens
# (after a kill -9, "npm ci" puts them back).
set -euo pipefail
cd "$(dirname "$0")/.."

hidden=$(mktemp -d)
restore() {
  for p in devkit test-suites; do
    if [ -e "$hidden/$p" ] || [ -L "$hidden/$p" ]; then mv "$hidden/$p" "node_modules/@nitro-datakey/$p"; fi
  done
  rmdir "$hidden" 2>/dev/null || true
}
trap restore EXIT
for p in devkit test-suites; do mv "node_modules/@nitro-datakey/$p" "$hidden/$p"; done

if node --input-type=module -e "await import('@nitro-datakey/devkit')" 2>/dev/null; then
  echo "test-enclave-alone: the dev kit is still importable; the check would prove nothing" >&2
  exit 1
fi
echo "enclave tests without @nitro-datakey/devkit and @nitro-datakey/test-suites in node_modules:"
node_modules/.bin/vitest run --config enclave/vitest.config.ts
