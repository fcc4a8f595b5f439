#!/usr/bin/env bash
# Builds a minimal container root file system from Debian's busybox-static:
# bin/busybox plus a symlink per applet (sh, sleep, echo, cat, ...), the
# folders runc mounts over, and /etc basics. Writes it as a tarball whose
# bytes depend only on the busybox binary (sorted, fixed mtimes and owners),
# so building it twice gives the same content hash.
#   scripts/make-busybox-rootfs.sh OUT.tar
set -euo pipefail
out=${1:?usage: make-busybox-rootfs.sh OUT.tar}
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
tmp_out="$out.tmp.$$"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$dir" -cf "$tmp_out" .
mv "$tmp_out" "$out"
echo "$out"
