#!/bin/sh
# Writes the firmware version into a root tree: /usr/lib/gate64/VERSION and os-release's
# IMAGE_ID and IMAGE_VERSION. Usage: stamp-version.sh ROOT VERSION
# Files are replaced by rename, never edited in place: build-bundle stamps a hard-linked copy of
# the image's root, whose inodes it shares with the original.
set -eu
root=$1 version=$2
osr=$root/usr/lib/os-release
grep -v -E '^IMAGE_(ID|VERSION)=' "$osr" >"$osr.new"
printf 'IMAGE_ID=gate64\nIMAGE_VERSION=%s\n' "$version" >>"$osr.new"
mv "$osr.new" "$osr"
printf '%s\n' "$version" >"$root/usr/lib/gate64/VERSION.new"
mv "$root/usr/lib/gate64/VERSION.new" "$root/usr/lib/gate64/VERSION"
