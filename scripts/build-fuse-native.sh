#!/usr/bin/env bash
# Builds fuse-native's addon from its C source, patched (patches/fuse-native+*.patch,
# applied by patch-package) to pass the calling process's uid and gid to create,
# mkdir, mknod and symlink, so that files made through a shared mount belong to
# their maker, and to pass utimens both times with UTIME_NOW/UTIME_OMIT
# (flag_utime_omit_ok: libfuse then forwards a setattr of one time too).
# node-gyp-build loads build/Release/fuse.node before the prebuild.
# Without a C compiler the unpatched prebuild stays in use and new entries
# belong to the mount's user (a warning says so). Run by `npm ci` (postinstall).
set -euo pipefail
cd "$(dirname "$0")/../node_modules/fuse-native"
out=build/Release/fuse.node
warn() { echo "stdchk postinstall: $*; new files in a mount will belong to the mount's user" >&2; }
command -v gcc >/dev/null 2>&1 || { warn "no gcc, keeping fuse-native's prebuild"; exit 0; }
node_include="$(dirname "$(readlink -f "$(command -v node)")")/../include/node"
[ -f "$node_include/node_api.h" ] || { warn "no Node headers at $node_include"; exit 0; }
[ -e /lib/x86_64-linux-gnu/libfuse.so.2 ] || [ -e /usr/lib/x86_64-linux-gnu/libfuse.so.2 ] || ldconfig -p | grep -q 'libfuse.so.2 ' ||
  { warn "no libfuse.so.2 (apt install libfuse2)"; exit 0; }
grep -q caller_uid fuse-native.c || { warn "fuse-native.c is not patched"; exit 0; }
grep -q flag_utime_omit_ok fuse-native.c ||
  echo "stdchk postinstall: fuse-native.c has an older stdchk patch (rm -rf node_modules/fuse-native && npm ci); touch -m and tar's mtimes will not work in a mount" >&2
mkdir -p build/Release
gcc -O3 -g -Wall -fPIC -shared -D_FILE_OFFSET_BITS=64 \
  -I"$node_include" -I../napi-macros -I../fuse-shared-library-linux/libfuse/include \
  fuse-native.c -o "$out.tmp" -l:libfuse.so.2 -lpthread
mv "$out.tmp" "$out"
