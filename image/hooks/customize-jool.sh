#!/bin/sh
# mmdebstrap customize hook for the build stage: Jool's modules for the board's kernel, with the
# same DKMS recipe natively and cross. The headers package of the board's architecture is unpacked
# rather than installed: installed, an arm64 one would pull arm64 gcc and binutils, which conflict
# with the host's. Its dependencies are installed for the host instead: the common headers and
# kbuild (Multi-Arch: foreign), and the kernel's gcc as a cross compiler when the arch differs
# (~1 min; DKMS under qemu-user takes ~7.5). Leaves the modules in
# /usr/lib/modules/<kver>/updates/dkms/, stripped of debug info (24 MB -> ~2 MB for jool_common).
# Env: GATE64_HEADERS (headersPackage), GATE64_CROSS (crossTriplet, empty when native),
# GATE64_ARCH (debianArch, which is also the kernel's name for it on arm64).
set -eu
root=$1
in_root() { chroot "$root" "$@"; }
pkg=$(in_root apt-cache depends "$GATE64_HEADERS" | sed -n 's/^ *Depends: \(linux-headers-[^:]*\)\(:[a-z0-9]*\)\{0,1\}$/\1/p' | head -n1)
[ -n "$pkg" ] || { echo "jool: $GATE64_HEADERS names no versioned headers package" >&2; exit 1; }
kver=${pkg#linux-headers-}
suffix=""
case $GATE64_HEADERS in *:*) suffix=:${GATE64_HEADERS#*:} ;; esac
# Into apt's archive directory, which scripts/image-lib.sh's debstrap keeps between builds.
in_root sh -c "cd /var/cache/apt/archives && apt-get download -q=2 '$pkg$suffix'" 2>/dev/null
deb=$(ls "$root/var/cache/apt/archives/${pkg}_"*.deb)
cross=""
[ -z "$GATE64_CROSS" ] || cross=$(echo "$GATE64_CROSS" | tr _ -)
deps=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed -n 's/^ *\([^ |]*\).*/\1/p' | while read -r d; do
  case $d in
    linux-headers-*-common | linux-kbuild-*) echo "$d" ;;
    gcc-[0-9]*) if [ -n "$cross" ]; then echo "$d-$cross"; else echo "$d"; fi ;;
  esac
done)
# shellcheck disable=SC2086 # one word per package
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q=2 --no-install-recommends $deps >/dev/null
dpkg-deb -x "$deb" "$root"
# shellcheck disable=SC2016 # dpkg-query's own ${Version}
jool=$(in_root dpkg-query -W -f='${Version}' jool-dkms | sed 's/-[^-]*$//')
arch=""
[ -z "$GATE64_CROSS" ] || arch="-a $GATE64_ARCH"
# shellcheck disable=SC2086 # "-a ARCH" or nothing
in_root dkms install "jool/$jool" -k "$kver" $arch >/dev/null 2>"$root/tmp/dkms.log" || { cat "$root/tmp/dkms.log" >&2; exit 1; }
strip=${GATE64_CROSS:+$GATE64_CROSS-}strip
for m in "$root/usr/lib/modules/$kver/updates/dkms/"jool*.ko; do
  [ -e "$m" ] || continue
  in_root "$strip" --strip-debug "${m#"$root"}"
done
