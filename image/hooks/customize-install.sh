#!/bin/sh
# The board's layer, first half: put gate64 into a copy of the architecture's package root (Jool
# modules, overlays, Node, CoreDNS, the agent) and set up units. Runs on the host with the root
# directory as $1 (scripts/build-image, step 5).
set -eu
root=$1
top=$GATE64_TOP
work=$top/$GATE64_WORK

# The one initramfs build (essential-initramfs.sh diverted update-initramfs until now), with the
# board's modules (MODULES=list) and our hooks and scripts: without udev (image/dpkg-exclude.cfg),
# blkid by a hook of our own and /dev moved by a script.
sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$top/$GATE64_BOARD_DIR/initramfs-modules.txt" >"$root/usr/share/initramfs-tools/modules.d/gate64"
cp -r "$top/image/initramfs/." "$root/etc/initramfs-tools/"
rm "$root/usr/sbin/update-initramfs"
chroot "$root" dpkg-divert --quiet --local --rename --remove /usr/sbin/update-initramfs
chroot "$root" update-initramfs -c -k "$GATE64_KVER" >/dev/null

# Its modules are indexed with the others' by customize-prune.sh (depmod, natively).
cp "$work/gate64-jool-modules.deb" "$root/tmp/"
chroot "$root" dpkg -i /tmp/gate64-jool-modules.deb >/dev/null
rm "$root/tmp/gate64-jool-modules.deb"

install -d "$root/data" "$root/efi"
cp -a "$top/overlays/common/." "$root/"
board=$(basename "$GATE64_BOARD_DIR")
[ ! -d "$top/$GATE64_BOARD_DIR/overlay" ] || cp -a "$top/$GATE64_BOARD_DIR/overlay/." "$root/"

# Node (stripped by the build stage; no compiler comes with it), CoreDNS and the agent, with
# node-pty's JavaScript from the lockfile and its prebuilt binary for the board's architecture
# (fetched pinned by hash: npm ci on the build host installs only the host's).
install -D -m 755 "$work/node/package/bin/node" "$root/usr/bin/node"
install -D -m 755 "$top/out/coredns/$GATE64_CORE_ARCH/coredns" "$root/usr/sbin/coredns"
install -d "$root/usr/lib/gate64/node_modules/@lydell"
cp "$top/out/agent/"*.cjs "$root/usr/lib/gate64/"
cp -a "$top/node_modules/@lydell/node-pty" "$root/usr/lib/gate64/node_modules/@lydell/"
cp -a "$work/pty/package" "$root/usr/lib/gate64/node_modules/$GATE64_PTY"
sh "$top/image/hooks/stamp-version.sh" "$root" "$GATE64_VERSION"

# Updates: RAUC's system.conf for this board and the operator's certificate as its keyring (only
# the certificate: the signing key never enters a root).
install -d "$root/etc/rauc"
sed "s/@BOARD@/$board/" "$top/image/rauc/system.conf.in" >"$root/etc/rauc/system.conf"
install -D -m 644 "$GATE64_UPDATE_CERT" "$root/etc/rauc/keyring.pem"

# Which units run: the preset file in the overlay (usr/lib/systemd/system-preset/10-gate64.preset).
chroot "$root" systemctl --quiet preset-all
# Its "disable *" also unlinks a template's instances, masks of modprobe@ instances among them:
# the overlays' masks (links to /dev/null) are laid down again.
for d in "$top/overlays/common" "$top/$GATE64_BOARD_DIR/overlay"; do
  [ ! -d "$d/etc/systemd/system" ] || find "$d/etc/systemd/system" -maxdepth 1 -lname /dev/null -exec cp -P -t "$root/etc/systemd/system" {} +
done

# Identity comes from provisioning and /data, never from the build host.
: >"$root/etc/machine-id"
rm -f "$root/etc/hostname" "$root/var/lib/dbus/machine-id"
# The console credential is provisioned: /etc/shadow is rendered onto /data from the factory copy
# with the provisioned hash (root stays locked without one). No password exists in the image.
# (Debian's base root has root only in /etc/passwd, with "*": point it at the shadow entry.)
sed -i 's/^root:[^:]*:/root:x:/' "$root/etc/passwd"
install -D -m 640 "$root/etc/shadow" "$root/usr/share/factory/etc/shadow"
sed -i '/^root:/d' "$root/usr/share/factory/etc/shadow"
sed -i '1i root:!::0:99999:7:::' "$root/usr/share/factory/etc/shadow"
ln -sf /data/gate64/shadow "$root/etc/shadow"
# The agent's .network files are kept on /data, where networkd finds them at boot (its drop-in
# orders it after /data's mount); the boards' .link files are in /usr/lib/systemd/network.
rmdir "$root/etc/systemd/network"
ln -s /data/gate64/network "$root/etc/systemd/network"
