#!/usr/bin/env bash
# Run by npm after installing stdchk's dependencies: `npm ci` in a checkout, and
# `npm install -g stdchk-*.tgz` of a packed release (where devDependencies, patch-package
# among them, are not installed). Patches fuse-native (patches/fuse-native+*.patch: see
# build-fuse-native.sh) and builds its addon. Never fails the install: without a patch tool
# or a C compiler the unpatched prebuild stays in use, with a warning.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# Where npm put fuse-native: under this package (a checkout, a global install) or hoisted
# into the project that depends on stdchk.
fuse_dir="$(node -p "require('node:path').dirname(require.resolve('fuse-native/package.json'))")"
if [ "$fuse_dir" = "$root/node_modules/fuse-native" ] && command -v patch-package >/dev/null 2>&1; then
  patch-package
elif grep -q caller_uid "$fuse_dir/fuse-native.c"; then
  : # patched already (an install run twice)
elif command -v patch >/dev/null 2>&1; then
  for p in "$root"/patches/fuse-native+*.patch; do
    # The patch names a/node_modules/fuse-native/FILE: strip to FILE, wherever fuse-native is.
    patch --forward --silent -p3 -d "$fuse_dir" <"$p"
  done
else
  echo "stdchk postinstall: neither patch-package nor patch(1) found, fuse-native stays unpatched" >&2
fi
FUSE_NATIVE_DIR="$fuse_dir" bash "$root/scripts/build-fuse-native.sh"
