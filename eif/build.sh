#!/usr/bin/env bash
# Builds an enclave image (EIF) and its measurements: docker buildx build, then nitro-cli build-enclave.
# Run on a Nitro-enabled EC2 instance (or any Linux host with docker, buildx and nitro-cli).
#
#   eif/build.sh [--app-dockerfile FILE] [--signing-certificate CERT --private-key KEY] [--out DIR]
#                [--twice] [--base-image IMAGE@sha256:...] [--build-image IMAGE@sha256:...]
#
# Always builds the base image, nitro-datakey-enclave:base (Node 22, nitro-enclave, the addon). Then:
#   --app-dockerfile FILE  your application's image, "FROM nitro-datakey-enclave:base" (context: FILE's folder)
#   (default)              the example image (eif/example)
# --signing-certificate and --private-key sign the EIF: its measurements then carry PCR8, the hash
# of the signing certificate, which "nitro-datakey policy" pins.
# --twice builds a second time without the build cache and fails unless PCR0, PCR1 and PCR2 match.
#
# Writes DIR/nitro-datakey.eif and DIR/measurements.json (the input of "nitro-datakey policy
# --measurements"). DIR defaults to eif/out. Images default to the pins in eif/base-images.env.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
out="$here/out"
app_dockerfile=""
signing_certificate=""
private_key=""
twice=0
BASE_IMAGE=""
BUILD_IMAGE=""
if [ -f "$here/base-images.env" ]; then
  # shellcheck source=eif/base-images.env
  . "$here/base-images.env"
fi
base_image="$BASE_IMAGE"
build_image="$BUILD_IMAGE"

# The help is the comment block at the top of this file (usage.sh prints it).
# shellcheck source=SCRIPTDIR/usage.sh
. "$here/usage.sh"
while [ $# -gt 0 ]; do
  case "$1" in
    --base-image) base_image="${2:?--base-image needs a value}"; shift 2 ;;
    --build-image) build_image="${2:?--build-image needs a value}"; shift 2 ;;
    --app-dockerfile) app_dockerfile="${2:?--app-dockerfile needs a file}"; shift 2 ;;
    --signing-certificate) signing_certificate="${2:?--signing-certificate needs a file}"; shift 2 ;;
    --private-key) private_key="${2:?--private-key needs a file}"; shift 2 ;;
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    --twice) twice=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "build.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done

if { [ -n "$signing_certificate" ] && [ -z "$private_key" ]; } || { [ -z "$signing_certificate" ] && [ -n "$private_key" ]; }; then
  echo "build.sh: --signing-certificate and --private-key go together" >&2
  exit 2
fi
for f in "$signing_certificate" "$private_key" "$app_dockerfile"; do
  if [ -n "$f" ] && [ ! -f "$f" ]; then echo "build.sh: no such file: $f" >&2; exit 2; fi
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
# Without the buildx plugin, "docker buildx build --file" fails with docker's own "unknown flag: --file".
if ! docker buildx version >/dev/null 2>&1; then
  echo "build.sh: docker buildx is not installed (the image is built with docker buildx build). Install it first:" >&2
  echo "  sudo dnf install -y docker-buildx   (Amazon Linux 2023; elsewhere the docker-buildx-plugin package)" >&2
  exit 1
fi

for pair in "base image:$base_image" "build image:$build_image"; do
  what="${pair%%:*}"; image="${pair#*:}"
  if [ -z "$image" ]; then
    echo "build.sh: no $what. Pin one by digest in eif/base-images.env, for example:" >&2
    echo "  docker buildx imagetools inspect node:22-bookworm-slim   # then NAME@sha256:DIGEST" >&2
    exit 1
  fi
  case "$image" in
    *@sha256:*) ;;
    *) echo "build.sh: $what \"$image\" is not pinned by digest (NAME@sha256:...): the EIF would not be reproducible" >&2; exit 1 ;;
  esac
done

# The commit's time: file times in the image are set to it, so a rebuild writes the same bytes.
epoch="$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 0)"

# build_once OUT_DIR [extra docker flags...]
build_once() {
  local dir="$1"; shift
  mkdir -p "$dir"
  echo "==> base image nitro-datakey-enclave:base"
  # Every image gets the commit's time, with file times rewritten to it; ours also get the pinned images.
  local dated=(--build-arg "SOURCE_DATE_EPOCH=$epoch")
  local pinned=(--build-arg "BASE_IMAGE=$base_image" --build-arg "BUILD_IMAGE=$build_image" "${dated[@]}")
  local output="rewrite-timestamp=true"
  docker buildx build "$@" --file "$here/Dockerfile" --target enclave "${pinned[@]}" \
    --output "type=docker,name=nitro-datakey-enclave:base,$output" "$root"
  local tag
  if [ -n "$app_dockerfile" ]; then
    tag="nitro-datakey-app:build"
    echo "==> your application: $app_dockerfile"
    docker buildx build "$@" --file "$app_dockerfile" "${dated[@]}" \
      --output "type=docker,name=$tag,$output" "$(dirname "$app_dockerfile")"
  else
    tag="nitro-datakey-example:build"
    echo "==> the example application"
    docker buildx build "$@" --file "$here/Dockerfile" --target example "${pinned[@]}" \
      --output "type=docker,name=$tag,$output" "$root"
  fi
  echo "==> nitro-cli build-enclave"
  local sign=()
  if [ -n "$signing_certificate" ]; then sign=(--signing-certificate "$signing_certificate" --private-key "$private_key"); fi
  nitro-cli build-enclave --docker-uri "$tag" --output-file "$dir/nitro-datakey.eif" "${sign[@]}" > "$dir/measurements.json"
  echo "==> wrote $dir/nitro-datakey.eif and $dir/measurements.json"
  cat "$dir/measurements.json"
}

build_once "$out"
if [ "$twice" -eq 1 ]; then
  echo "==> second build, without the build cache"
  build_once "$out/second" --no-cache
  pcrs() { sed -n 's/.*"\(PCR[012]\)": *"\([0-9a-fA-F]*\)".*/\1=\2/p' "$1" | sort; }
  if [ "$(pcrs "$out/measurements.json")" != "$(pcrs "$out/second/measurements.json")" ] || [ -z "$(pcrs "$out/measurements.json")" ]; then
    echo "build.sh: the two builds differ in PCR0-2: the image is not reproducible (compare $out and $out/second)" >&2
    diff <(pcrs "$out/measurements.json") <(pcrs "$out/second/measurements.json") >&2 || true
    exit 1
  fi
  echo "==> reproducible: both builds have the same PCR0, PCR1 and PCR2"
fi
