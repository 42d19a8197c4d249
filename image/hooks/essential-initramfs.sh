#!/bin/sh
# mmdebstrap essential hook: settings that must be in place before the remaining packages
# install (the kernel's postinst builds the initramfs; dpkg drops docs as it unpacks).
set -eu
root=$1
mkdir -p "$root/etc/initramfs-tools/conf.d" "$root/usr/share/initramfs-tools/modules.d" "$root/etc/dpkg/dpkg.cfg.d"
# MODULES=dep cannot work in a chroot; a short list gave a 10 MB initramfs and a 4 s faster boot.
printf 'MODULES=list\nCOMPRESS=zstd\n' >"$root/etc/initramfs-tools/conf.d/gate64.conf"
sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$GATE64_TOP/$GATE64_BOARD_DIR/initramfs-modules.txt" >"$root/usr/share/initramfs-tools/modules.d/gate64"
cp "$GATE64_TOP/image/dpkg-nodoc.cfg" "$root/etc/dpkg/dpkg.cfg.d/gate64-nodoc"
