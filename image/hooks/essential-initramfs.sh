#!/bin/sh
# mmdebstrap essential hook: settings that must be in place before the remaining packages
# install (the kernel's postinst builds the initramfs; dpkg drops docs as it unpacks). Nothing
# here is a board's: the package root it starts is shared by an architecture's boards
# (scripts/build-image, step 5).
set -eu
root=$1
mkdir -p "$root/etc/initramfs-tools/conf.d" "$root/usr/share/initramfs-tools/modules.d" "$root/etc/dpkg/dpkg.cfg.d"
# MODULES=dep cannot work in a chroot; a short list gave a 10 MB initramfs and a 4 s faster boot.
# zstd 19 decompresses as fast as the default level 3 and makes it 0.8 MB smaller. busybox
# brings the initramfs's modprobe (image/initramfs/hooks/busybox-modprobe, which the board's
# layer puts in with the module list: customize-install.sh).
printf 'MODULES=list\nCOMPRESS=zstd\nCOMPRESSLEVEL=19\nBUSYBOX=y\n' >"$root/etc/initramfs-tools/conf.d/gate64.conf"
cp "$GATE64_TOP/image/dpkg-exclude.cfg" "$root/etc/dpkg/dpkg.cfg.d/gate64-exclude"
# The initramfs is built once, by customize-install.sh, after every package is in: the kernel's
# postinst and each package's initramfs trigger would build it two or three times, at ~1.5 min a
# time under qemu-user for arm64. Until then update-initramfs is diverted to a no-op.
chroot "$root" dpkg-divert --quiet --local --rename --add /usr/sbin/update-initramfs
mkdir -p "$root/usr/sbin"
printf '#!/bin/sh
# gate64 image build: the initramfs is built once at the end (image/hooks).
exit 0
' >"$root/usr/sbin/update-initramfs"
chmod 755 "$root/usr/sbin/update-initramfs"
