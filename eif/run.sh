#!/usr/bin/env bash
# Starts the enclave on this Nitro-enabled instance.
#
#   eif/run.sh [--eif FILE] [--cpus N] [--memory MIB] [--cid CID] [--debug]
#
# Defaults: eif/out/nitro-datakey.eif, 2 CPUs, 1024 MiB, CID 16. --debug attaches the console, and
# ZEROES PCR0-2 in every attestation document: a key policy that pins PCRs refuses a debug enclave.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
eif="$here/out/nitro-datakey.eif"; cpus=2; memory=1024; cid=16; debug=0

# The help is the comment block at the top of this file (usage.sh prints it).
# shellcheck source=SCRIPTDIR/usage.sh
. "$here/usage.sh"
while [ $# -gt 0 ]; do
  case "$1" in
    --eif) eif="${2:?}"; shift 2 ;;
    --cpus) cpus="${2:?}"; shift 2 ;;
    --memory) memory="${2:?}"; shift 2 ;;
    --cid) cid="${2:?}"; shift 2 ;;
    --debug) debug=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done

if ! command -v nitro-cli >/dev/null 2>&1; then
  echo "run.sh: nitro-cli is not installed (sudo dnf install -y aws-nitro-enclaves-cli); this runs on a Nitro-enabled EC2 instance" >&2
  exit 1
fi
[ -f "$eif" ] || { echo "run.sh: no EIF at $eif: run eif/build.sh first" >&2; exit 1; }

args=(run-enclave --eif-path "$eif" --cpu-count "$cpus" --memory "$memory" --enclave-cid "$cid")
if [ "$debug" -eq 1 ]; then
  echo "run.sh: WARNING: debug mode. PCR0, PCR1 and PCR2 read as zeros in attestation documents;" >&2
  echo "        a key policy that pins them refuses this enclave. Use it only to read the console." >&2
  args+=(--debug-mode --attach-console)
fi
exec nitro-cli "${args[@]}"
