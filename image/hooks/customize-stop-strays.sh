#!/bin/sh
# mmdebstrap customize hook: ends what package scripts left running inside this chroot (dkms can
# leave a `sleep` behind, which keeps /dev busy at unmount). Only processes whose root directory is
# this chroot are ended, by PID: nothing of the host's, and nothing chosen by name.
set -eu
root=$(readlink -f "$1")
for p in /proc/[0-9]*; do
  [ "$(readlink "$p/root" 2>/dev/null || true)" = "$root" ] || continue
  kill "${p#/proc/}" 2>/dev/null || true
done
