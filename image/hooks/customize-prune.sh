#!/bin/sh
# mmdebstrap customize hook: drop what the board does not need. Kernel modules are kept only if
# they match the board's allowlist; docs, manuals and caches go.
set -eu
root=$1
kver=$GATE64_KVER
moddir=$root/usr/lib/modules/$kver/kernel
allow=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$GATE64_TOP/$GATE64_BOARD_DIR/modules.txt")
find "$moddir" -type f -name '*.ko*' | while read -r f; do
  rel=${f#"$moddir"/}
  keep=no
  for p in $allow; do
    case $rel in "$p"*) keep=yes; break ;; esac
  done
  [ $keep = yes ] || rm -f "$f"
done
find "$moddir" -type d -empty -delete
chroot "$root" depmod -a "$kver"

find "$root/usr/share/doc" -type f ! -name copyright -delete 2>/dev/null || true
find "$root/usr/share/doc" -type d -empty -delete 2>/dev/null || true
rm -rf "$root/usr/share/man" "$root/usr/share/info" "$root/usr/share/lintian" "$root/usr/share/bash-completion"
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} + 2>/dev/null || true
rm -rf "$root/var/lib/apt/lists/"* "$root/var/cache/apt/"*.bin "$root/var/cache/debconf/"*-old "$root/var/cache/ldconfig/aux-cache" \
  "$root/var/log/"* "$root/var/lib/dpkg/"*-old
