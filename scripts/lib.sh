# shellcheck shell=bash
# Shared shell helpers. Source it; do not run it.
set -euo pipefail

# Downloads (Debian packages, Go modules) live outside the work tree so rebuilds and CI runs on
# the same machine reuse them. GATE64_CACHE overrides.
GATE64_CACHE=${GATE64_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gate64}
export GATE64_CACHE

# Go builds of image/coredns: modules and build cache in GATE64_CACHE, static binaries, and
# -buildvcs=false so that a binary does not depend on the checkout's git state (reproducible images).
go_env() {
  export GOMODCACHE="$GATE64_CACHE/go-mod" GOCACHE="$GATE64_CACHE/go-build" \
    GOFLAGS="-modcacherw -trimpath -buildvcs=false" CGO_ENABLED=0
}

# Each step says when it began (seconds since the script started): a CI log shows where time goes.
step() { printf '\033[1m==> %s\033[0m (%d s)\n' "$*" "$SECONDS" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "$1 must run as root (it $2)"; }
need_tools() {
  local t missing=()
  for t in "$@"; do command -v "$t" >/dev/null 2>&1 || missing+=("$t"); done
  [ ${#missing[@]} -eq 0 ] || die "missing tools: ${missing[*]} (run: npm run setup)"
}

# The operator's update signing keys (scripts/keys init): GATE64_KEYS overrides.
default_keys_dir() { echo "${GATE64_KEYS:-${XDG_CONFIG_HOME:-$HOME/.config}/gate64/keys}"; }
