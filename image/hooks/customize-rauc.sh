#!/bin/sh
# mmdebstrap customize hook for the build stage: Debian's RAUC rebuilt from its source package
# without network and streaming support, for the board's architecture (natively or cross). The box
# installs bundles the agent has downloaded and verified (docs/updates.md), never from a URL:
# Debian's build links libcurl-gnutls for that, and with it GnuTLS, Kerberos, LDAP, SSH, HTTP/2
# and HTTP/3, 19 packages and 3.8 MB of the compressed image. The package keeps its name with a
# version above Debian's (+gate64.N) and lands in /var/cache/gate64/rauc.deb (mmdebstrap empties
# /tmp); the build stage's own RAUC, which signs bundles, stays Debian's.
# Env: GATE64_ARCH (debianArch), GATE64_CROSS (crossTriplet, empty when native), SOURCE_DATE_EPOCH.
set -eu
root=$1
in_root() { chroot "$root" "$@"; }
# The same archive as the packages, for sources too.
sources=$root/etc/apt/sources.list.d/gate64-src.list
sed -n 's/^deb \(.*\)$/deb-src \1/p' "$root/etc/apt/sources.list" >"$sources"
[ -s "$sources" ] || { echo "rauc: the build stage's sources.list has no deb line to add sources for" >&2; exit 1; }
in_root apt-get update -q=2
profiles=nocheck
if [ -n "$GATE64_CROSS" ]; then
  profiles=nocheck,cross
  # Debian's cross toolchain set: meson's cross file (debcrossgen) wants the C++ compiler too.
  in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q=2 --no-install-recommends \
    "crossbuild-essential-$GATE64_ARCH" >/dev/null
fi
in_root env DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -q=2 --no-install-recommends \
  -a "$GATE64_ARCH" -P "$profiles" rauc >/dev/null
rm -rf "$root/tmp/rauc" && mkdir -p "$root/tmp/rauc"
in_root sh -c 'cd /tmp/rauc && apt-get source -q=2 rauc' >/dev/null
src=$(find "$root/tmp/rauc" -mindepth 1 -maxdepth 1 -type d -name 'rauc-*')
[ -n "$src" ] || { echo "rauc: apt-get source unpacked nothing" >&2; exit 1; }
rules=$src/debian/rules
grep -q '^	dh_auto_configure -- ' "$rules" || { echo "rauc: debian/rules has no dh_auto_configure line to extend" >&2; exit 1; }
sed -i -e '/^	dh_auto_configure -- /s/ -Dstreaming=true//' -e 's/^\(	dh_auto_configure -- .*\)$/\1 -Dnetwork=false -Dstreaming=false/' "$rules"
version=$(in_root dpkg-parsechangelog -l "${src#"$root"}/debian/changelog" -SVersion)+gate64.1
distribution=$(in_root dpkg-parsechangelog -l "${src#"$root"}/debian/changelog" -SDistribution)
{
  printf 'rauc (%s) %s; urgency=medium\n\n' "$version" "$distribution"
  printf '  * gate64: built with -Dnetwork=false -Dstreaming=false (no libcurl).\n\n'
  printf ' -- gate64 <gate64@invalid>  %s\n\n' "$(LC_ALL=C date -u -R -d "@$SOURCE_DATE_EPOCH")"
  cat "$src/debian/changelog"
} >"$src/debian/changelog.new"
mv "$src/debian/changelog.new" "$src/debian/changelog"
in_root sh -c "cd '${src#"$root"}' && DEB_BUILD_OPTIONS='nocheck noautodbgsym' dpkg-buildpackage -B -uc -us --host-arch='$GATE64_ARCH' --build-profiles='$profiles'" \
  >"$root/tmp/rauc/build.log" 2>&1 || { tail -n 40 "$root/tmp/rauc/build.log" >&2; exit 1; }
deb=$root/tmp/rauc/rauc_${version#*:}_$GATE64_ARCH.deb
[ -f "$deb" ] || { echo "rauc: dpkg-buildpackage made no $deb" >&2; exit 1; }
if dpkg-deb -f "$deb" Depends | grep -q curl; then echo "rauc: the rebuilt package still depends on libcurl" >&2; exit 1; fi
mkdir -p "$root/var/cache/gate64"
mv "$deb" "$root/var/cache/gate64/rauc.deb"
rm -rf "$root/tmp/rauc" "$sources"
