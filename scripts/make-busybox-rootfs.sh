#!/usr/bin/env bash
# Builds a minimal container root file system from Debian's busybox-static:
# bin/busybox plus a symlink per applet (sh, sleep, echo, cat, ...), the
# folders runc mounts over, and /etc basics. Writes it as a tarball whose
# bytes depend only on the busybox binary (sorted, fixed mtimes and owners),
# so building it twice gives the same content hash.
# --dev (as root) adds what a container image's /dev holds: char devices
# null, zero, tty, console, a block device loop0 (group 6), a FIFO
# dev/initctl, plus a hard link etc/passwd- and a home folder owned by uid
# 1000 (the issue 14 acceptance unpacks it into a mount); owners are then
# kept as they are instead of all 0.
#   scripts/make-busybox-rootfs.sh [--dev] OUT.tar
set -euo pipefail
dev=0
if [ "${1:-}" = --dev ]; then
  dev=1
  shift
fi
out=${1:?usage: make-busybox-rootfs.sh [--dev] OUT.tar}
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || { echo "make-busybox-rootfs: busybox is not installed (apt-get install busybox-static)" >&2; exit 1; }
if ldd "$busybox" >/dev/null 2>&1; then
  echo "make-busybox-rootfs: $busybox is dynamically linked; install busybox-static" >&2
  exit 1
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
chmod 0755 "$dir"
mkdir -p "$dir"/{bin,dev,etc,proc,sys,tmp,root,run,var/tmp}
cp "$busybox" "$dir/bin/busybox"
chmod 0755 "$dir/bin/busybox"
for applet in $("$dir/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$dir/bin/$applet"
done
ln -s bin "$dir/sbin"
mkdir -p "$dir/usr"
ln -s ../bin "$dir/usr/bin"
ln -s ../bin "$dir/usr/sbin"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$dir/etc/passwd"
printf 'root:x:0:\n' >"$dir/etc/group"
printf '127.0.0.1 localhost\n' >"$dir/etc/hosts"
chmod 1777 "$dir/tmp" "$dir/var/tmp"
if [ "$dev" = 1 ]; then
  [ "$(id -u)" = 0 ] || { echo "make-busybox-rootfs: --dev needs root (mknod)" >&2; exit 1; }
  mknod -m 0666 "$dir/dev/null" c 1 3
  mknod -m 0666 "$dir/dev/zero" c 1 5
  mknod -m 0666 "$dir/dev/tty" c 5 0
  mknod -m 0600 "$dir/dev/console" c 5 1
  mknod -m 0660 "$dir/dev/loop0" b 7 0
  chgrp 6 "$dir/dev/loop0"
  mkfifo -m 0600 "$dir/dev/initctl"
  ln "$dir/etc/passwd" "$dir/etc/passwd-"
  mkdir -m 0700 -p "$dir/home/user"
  printf 'export PS1="$ "\n' >"$dir/home/user/.profile"
  chmod 0600 "$dir/home/user/.profile"
  chown -R 1000:1000 "$dir/home/user"
fi
owners=(--owner=0 --group=0)
[ "$dev" = 1 ] && owners=()
tmp_out="$out.tmp.$$"
tar --sort=name --mtime=@0 "${owners[@]}" --numeric-owner -C "$dir" -cf "$tmp_out" .
mv "$tmp_out" "$out"
echo "$out"
