#!/bin/sh
# mmdebstrap customize hook: ends what package scripts left running inside this chroot (dkms can
# leave a `sleep` behind, which keeps /dev busy at unmount). Only processes whose root directory is
# this chroot are ended, by PID: nothing of the host's, and nothing chosen by name. mmdebstrap
# unmounts the chroot's /proc right after this hook and only warns when that fails, so the hook
# returns when they are gone: a stray still exiting once left /proc mounted in the cached stage,
# and copying it (pagemap files of the host's processes) filled the disk.
set -eu
root=$(readlink -f "$1")
strays() {
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null || true)" = "$root" ] && echo "${p#/proc/}"
  done
  return 0
}
for signal in TERM KILL; do
  pids=$(strays)
  [ -n "$pids" ] || exit 0
  # shellcheck disable=SC2086 # one PID per word
  kill -s "$signal" $pids 2>/dev/null || true
  for _ in $(seq 50); do # up to 5 s each
    [ -n "$(strays)" ] || exit 0
    sleep 0.1
  done
done
echo "customize-stop-strays: still running in $root: $(strays)" >&2
exit 1
