#!/bin/sh
# The board's layer, second half: drop what the board does not need. Kernel modules are kept if they
# match the allowlist (image/modules.txt and the board's modules.txt), together with every module
# those depend on (modules.dep of the full set), so nothing kept fails to load with "Unknown
# symbol"; docs, manuals and caches go.
set -eu
root=$1
kver=$GATE64_KVER
mods=$root/usr/lib/modules/$kver
allow=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$GATE64_TOP/image/modules.txt" "$GATE64_TOP/$GATE64_BOARD_DIR/modules.txt")
# depmod is the build stage's (the host's architecture, the same suite's kmod), run on this root
# through a bind mount: for the kernel's full module set an arm64 depmod takes 63 s under
# qemu-user, the stage's 2 s.
stage=$GATE64_TOP/$GATE64_WORK/buildroot
kmod_version() { dpkg-query --admindir="$1/var/lib/dpkg" -W -f='${Version}' kmod; }
stage_kmod=$(kmod_version "$stage") root_kmod=$(kmod_version "$root")
[ "$stage_kmod" = "$root_kmod" ] || { echo "modules: the build stage's kmod $stage_kmod is not the root's $root_kmod" >&2; exit 1; }
mkdir -p "$stage/mnt/root"
mount --bind "$root" "$stage/mnt/root"
trap 'umount "$stage/mnt/root"' EXIT
stage_depmod() { chroot "$stage" depmod -b /mnt/root "$@" "$kver"; }
stage_depmod -a
keep=$(mktemp)
# A line "!prefix" takes back what a broader line above it keeps.
(cd "$mods" && find kernel -type f -name '*.ko*') | while read -r rel; do
  kept=""
  for p in $allow; do
    case $p in
    !*) case ${rel#kernel/} in "${p#!}"*) kept="" ;; esac ;;
    *) case ${rel#kernel/} in "$p"*) kept=1 ;; esac ;;
    esac
  done
  [ -z "$kept" ] || echo "$rel"
done >"$keep"
# The closure of the allowlist under modules.dep ("path: dep dep ...").
awk -F': *' 'NR == FNR { want[$0] = 1; next } { deps[$1] = $2 }
  END {
    do { grew = 0
      for (m in want) { n = split(deps[m], d, " "); for (i = 1; i <= n; i++) if (!(d[i] in want)) { want[d[i]] = 1; grew = 1 } }
    } while (grew)
    for (m in want) print m
  }' "$keep" "$mods/modules.dep" | sort >"$keep.all"
added=$(( $(wc -l <"$keep.all") - $(wc -l <"$keep") ))
echo "modules: $(wc -l <"$keep") allow-listed, $added more they depend on" >&2
(cd "$mods" && find kernel -type f -name '*.ko*') | sort | comm -23 - "$keep.all" | (cd "$mods" && xargs -r rm -f)
find "$mods/kernel" -type d -empty -delete
# Every symbol a kept module needs must come from the kernel or a kept module: depmod -e checks
# against the kernel's Module.symvers (from the build stage's headers; Debian's System.map is a
# stub) and says "needs unknown symbol" otherwise.
unknown=$(stage_depmod -a -e -E "/usr/src/linux-headers-$kver/Module.symvers" 2>&1 | grep 'unknown symbol' || true)
[ -z "$unknown" ] || { echo "modules: kept modules need symbols of pruned ones:" >&2; echo "$unknown" >&2; exit 1; }
rm -f "$keep" "$keep.all"

# apt and what only it uses (10 MB of files, about 3.5 MB in the squashfs): the root is a
# read-only squashfs replaced whole by updates, so nothing installs packages on the box. The build
# used apt from its own stage above; dpkg's database stays for the manifest and the SBOM.
chroot "$root" dpkg --purge apt libapt-pkg7.0 sqv >/dev/null 2>&1
# Perl (9 MB of files, 1.9 MB of the squashfs): Essential in Debian for debconf and the
# maintainer scripts, which run only while the image is built; nothing on the box runs Perl. The
# packages that declare the dependency stay (their files are what the box uses).
chroot "$root" dpkg --purge --force-remove-essential --force-depends perl-base >/dev/null 2>&1
# What made the initramfs (customize-install.sh built it; the UKI carries it) and the archive's
# keyring (no apt): 1.5 MB of the squashfs. The kernel's package declares initramfs-tools, which
# only its maintainer scripts use.
chroot "$root" dpkg --purge --force-depends initramfs-tools initramfs-tools-core initramfs-tools-bin \
  klibc-utils libklibc cpio zstd busybox debian-archive-keyring >/dev/null 2>&1
rm -rf "$root/etc/initramfs-tools" "$root/usr/share/initramfs-tools/modules.d/gate64"
# Berkeley DB and SQLite (1.4 MB of the squashfs) serve three programs nothing on the box uses:
# iproute2's ARP daemon arpd, PAM's pam_userdb (no PAM stack here names it) and util-linux's
# lslogins (through liblastlog2; no login records are kept). The programs go with them, so that
# everything left finds its libraries (test/e2e/image.test.ts).
rm -f "$root/usr/sbin/arpd" "$root"/usr/lib/*-linux-gnu/security/pam_userdb.so "$root/usr/bin/lslogins"
chroot "$root" dpkg --purge --force-depends libdb5.3t64 liblastlog2-2 libsqlite3-0 >/dev/null 2>&1

# glibc's iconv converters for legacy character sets (8.4 MB; UTF-8 and ASCII are built in).
# libc6 is unpacked before dpkg's excludes (image/dpkg-exclude.cfg) are in place, so they go here.
find "$root"/usr/lib/*-linux-gnu/gconv -type f ! -name 'gconv-modules*' -delete
find "$root/usr/share/doc" -type f ! -name copyright -delete 2>/dev/null || true
find "$root/usr/share/doc" -type d -empty -delete 2>/dev/null || true
rm -rf "$root/usr/share/man" "$root/usr/share/info" "$root/usr/share/lintian" "$root/usr/share/bash-completion"
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} + 2>/dev/null || true
rm -rf "$root/var/lib/apt/lists/"* "$root/var/cache/apt/"*.bin "$root/var/cache/debconf/"*-old "$root/var/cache/ldconfig/aux-cache" \
  "$root/var/log/"* "$root/var/lib/dpkg/"*-old
