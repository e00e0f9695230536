#!/usr/bin/env bash
# Builds the enclave image (EIF) and its measurements: docker build, then nitro-cli build-enclave.
# Run on a Nitro-enabled EC2 instance (or any Linux host with docker and nitro-cli).
#
#   eif/build.sh [--base-image node:20-bookworm-slim@sha256:...] [--out DIR]
#
# Writes DIR/nitro-datakey.eif and DIR/measurements.json (PCR0, PCR1, PCR2; the input of
# "nitro-datakey policy --measurements"). DIR defaults to eif/out.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
out="$here/out"
base_image="$(cat "$here/base-image.txt" 2>/dev/null || true)"

# The help is the comment block at the top of this file, and nothing after it.
usage() {
  local line
  while IFS= read -r line; do
    case "$line" in
      '#!'*) ;;
      '#'*) line="${line#\#}"; printf '%s\n' "${line# }" ;;
      *) return 0 ;;
    esac
  done < "$0"
}
while [ $# -gt 0 ]; do
  case "$1" in
    --base-image) base_image="${2:?--base-image needs a value}"; shift 2 ;;
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "build.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done

missing=0
for tool in docker nitro-cli; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "build.sh: $tool is not installed. Install it on the build host first:" >&2
    case "$tool" in
      docker) echo "  sudo dnf install -y docker && sudo systemctl enable --now docker   (Amazon Linux 2023)" >&2 ;;
      nitro-cli) echo "  sudo dnf install -y aws-nitro-enclaves-cli aws-nitro-enclaves-cli-devel" >&2 ;;
    esac
    missing=1
  fi
done
[ "$missing" -eq 0 ] || exit 1

if [ -z "$base_image" ]; then
  echo "build.sh: no base image. Pin one by digest, for example:" >&2
  echo "  docker pull node:20-bookworm-slim && docker inspect --format '{{index .RepoDigests 0}}' node:20-bookworm-slim > eif/base-image.txt" >&2
  exit 1
fi
case "$base_image" in
  *@sha256:*) ;;
  *) echo "build.sh: base image \"$base_image\" is not pinned by digest (NAME@sha256:...): the EIF would not be reproducible" >&2; exit 1 ;;
esac

mkdir -p "$out"
tag="nitro-datakey-enclave:build"
echo "==> docker build ($base_image)"
SOURCE_DATE_EPOCH="$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 0)" \
  docker build --file "$here/Dockerfile" --build-arg "BASE_IMAGE=$base_image" --target enclave --tag "$tag" "$root"

echo "==> nitro-cli build-enclave"
nitro-cli build-enclave --docker-uri "$tag" --output-file "$out/nitro-datakey.eif" > "$out/build-enclave.json"
# nitro-cli prints {"Measurements": {...}}; keep exactly that for "nitro-datakey policy".
cp "$out/build-enclave.json" "$out/measurements.json"
echo "==> wrote $out/nitro-datakey.eif and $out/measurements.json"
cat "$out/measurements.json"
