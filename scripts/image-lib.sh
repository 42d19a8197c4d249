# shellcheck shell=bash
# Functions for scripts/build-image, one per pipeline step. Source it; do not run it.

# The Debian mirror: --mirror, else the first URI in the host's own apt sources.
host_mirror() {
  local uri
  uri=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n1)
  [ -n "$uri" ] || uri=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' /etc/apt/sources.list 2>/dev/null)
  [ -n "$uri" ] || die "cannot read a Debian mirror from /etc/apt; pass --mirror URI"
  echo "$uri"
}

# Package list file -> comma-separated list for mmdebstrap.
package_list() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$@" | paste -sd, -; }

# A UUID derived from a name, so that two builds of one commit lay out identical disks.
derive_uuid() {
  local h
  h=$(printf 'gate64:%s' "$1" | sha256sum | cut -c1-32)
  printf '%s-%s-5%s-8%s-%s\n' "${h:0:8}" "${h:8:4}" "${h:13:3}" "${h:17:3}" "${h:20:12}"
}

# mmdebstrap for ARCHES (comma-separated: the first is the chroot's own, the others foreign for
# multiarch packages) with the apt archive cache synced in and out of $GATE64_CACHE; $suite comes
# from the caller (build-image). Hook arguments are single-quoted: mmdebstrap expands "$1".
# shellcheck disable=SC2154,SC2016
debstrap() { # ARCHES MMDEBSTRAP-OPTIONS... SUITE TARGET MIRROR
  local arches=$1 cache="$GATE64_CACHE/apt/$suite-${1//,/-}" opts=() args=()
  shift
  # The caller's hooks run before the cache is synced out, so what they install is cached too.
  for a in "$@"; do case $a in --*) opts+=("$a") ;; *) args+=("$a") ;; esac; done
  mkdir -p "$cache"
  mmdebstrap --mode=root --variant=apt --arch="$arches" --components=main \
    --skip=essential/unlink --skip=download/empty \
    --setup-hook='mkdir -p "$1"/var/cache/apt/archives' \
    --setup-hook="sync-in '$cache' /var/cache/apt/archives/" \
    "${opts[@]}" \
    --customize-hook="sync-out /var/cache/apt/archives '$cache'" \
    --customize-hook='rm -f "$1"/var/cache/apt/archives/*.deb' \
    "${args[@]}"
}

# Fetch an npm tarball into the cache and check it against image/hashes.txt. The file name is
# npm pack's: "@scope/name@1.0.0" -> scope-name-1.0.0.tgz.
fetch_npm() {
  local spec=$1 dir="$GATE64_CACHE/npm" file
  file=${spec#@}
  file="${file//\//-}"
  file="${file/@/-}.tgz"
  mkdir -p "$dir"
  [ -f "$dir/$file" ] || (cd "$dir" && npm pack --silent "$spec" >/dev/null)
  (cd "$dir" && grep " $file\$" "$OLDPWD/image/hashes.txt" | sha256sum --quiet -c -) || die "$file does not match image/hashes.txt"
  echo "$dir/$file"
}

# A build's firmware version when no --version is given: the package version as a semver
# pre-release counted in commits (0.1.0-dev.253+g1a2b3c4d), so each commit's build is newer than
# the one before and older than the release 0.1.0.
dev_version() {
  local base count sha
  base=$(jq -r .version package.json)
  count=$(git rev-list --count HEAD 2>/dev/null || echo 0)
  sha=$(git rev-parse --short=8 HEAD 2>/dev/null || echo unknown)
  echo "$base-dev.$count+g$sha"
}

# Versions are semver (the box compares them to refuse a downgrade).
check_version() {
  [[ $1 =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$ ]] || die "--version $1: not a semantic version (like 1.4.0 or 1.4.0-rc.1)"
}

check_keys() {
  { [ -f "$1/update-cert.pem" ] && [ -f "$1/update-key.pem" ]; } ||
    die "no update signing keys in $1: make them once with 'npm run keys -- init $1' (or pass --keys DIR)"
}

# A build killed inside mmdebstrap leaves its chroots' mounts (proc, sys, dev/pts, a bind-mounted
# .deb) in the work tree, and rm -rf then fails on them: unmount what is under DIR, deepest first.
unmount_under() { # DIR
  local dir
  dir=$(realpath -m "$1")
  findmnt -rn -o TARGET | awk -v d="$dir/" 'index($0, d) == 1' | sort -r | xargs -r -n 1 umount -l
}

# The root tree as the slot's squashfs: zstd, without /boot and the device trees (the kernel and
# the board's DTB travel in the UKI), without what is under /var (the fstab mounts a tmpfs there
# at every boot, so nothing under it is ever seen: dpkg's database, 0.7 MB of the squashfs; the
# build keeps it in the work tree for the SBOM), timestamps from SOURCE_DATE_EPOCH so that one
# commit gives one image. 1 MiB blocks instead of the default 128 KiB: the x86-64 root is 8 %
# smaller (85.8 against 93.4 MB), the figures in docs/benchmarks.md.
make_root_squashfs() { # TREE OUT
  mksquashfs "$1" "$2" -noappend -quiet -comp zstd -Xcompression-level 19 -b 1M \
    -wildcards -e boot 'usr/lib/linux-image-*' 'var/*' -all-time "$SOURCE_DATE_EPOCH" -mkfs-time "$SOURCE_DATE_EPOCH" -no-progress >/dev/null
}

# Runs each HOOK with ROOT as its argument, with /proc, /sys and /dev/pts mounted in ROOT as
# mmdebstrap mounts them for its own hooks (mkinitramfs and maintainer scripts read them).
in_chroot_mounts() { # ROOT HOOK...
  local root=$1 hook rc=0
  shift
  mount -t proc proc "$root/proc"
  mount -t sysfs -o ro,nosuid,nodev,noexec sys "$root/sys"
  mount -t devpts -o noexec,nosuid,uid=5,mode=620,ptmxmode=666 none "$root/dev/pts"
  for hook in "$@"; do
    "$hook" "$root" || { rc=$?; echo "error: $hook failed (exit $rc)" >&2; break; }
  done
  umount "$root/dev/pts" "$root/sys" "$root/proc"
  return "$rc"
}

# A key of what makes a tree: the words in FACTS and the contents of FILES.
tree_key() { # FACTS FILE...
  (echo "$1" && shift && sha256sum "$@") | sha256sum | cut -c1-16
}

# Makes DEST a copy of out/NAME/root, a tree that BUILD-COMMAND builds (into the directory given as
# its last argument) only when out/NAME/key is not KEY: the boards of one architecture share their
# build stage and package root, which take most of an arm64 build under qemu-user. The lock makes
# a second build wait for the first's tree instead of building its own beside it.
cached_tree() { # NAME KEY DEST BUILD-COMMAND...
  local dir=out/$1 key=$2 dest=$3
  shift 3
  mkdir -p "$dir"
  exec 9>"$dir/lock"
  flock 9
  if [ "$(cat "$dir/key" 2>/dev/null)" = "$key" ]; then
    echo "$dir: made of this build's inputs (key $key), copied" >&2
  else
    unmount_under "$dir/root"
    rm -rf "$dir/root" "$dir/key"
    "$@" "$dir/root"
    # mmdebstrap only warns when it cannot unmount the chroot's /proc: no mount stays in the tree.
    unmount_under "$dir/root"
    echo "$key" >"$dir/key"
  fi
  # One file system: a mount left in the tree is never copied (a host's /proc is hundreds of GB).
  cp -a --one-file-system "$dir/root" "$dest"
  exec 9>&-
}
