# shellcheck shell=bash
# Sourced by build.sh and run.sh: `usage` prints the calling script's help, which is the comment block
# at its top and nothing after it.
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
