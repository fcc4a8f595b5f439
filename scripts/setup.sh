#!/usr/bin/env bash
# Installs everything stdchk needs on a Debian 12 machine, as root. Idempotent:
# a second run only checks and returns quickly.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "setup: $*"; }
export DEBIAN_FRONTEND=noninteractive

# gcc and libc6-dev build fuse-native's addon with the caller's uid/gid (scripts/build-fuse-native.sh).
# prometheus and chromium: the metrics test scrapes a grid with a real Prometheus, the dashboard
# test drives the system Chromium through puppeteer-core (no browser download); fonts for its screenshot.
SYSTEM_PACKAGES=(libfuse2 fuse3 runc iptables busybox-static fio iproute2 psmisc procps util-linux python3 ca-certificates xz-utils gcc libc6-dev
  prometheus chromium fonts-dejavu-core)
CRIU_BUILD_DEPS=(build-essential pkg-config libprotobuf-dev libprotobuf-c-dev protobuf-c-compiler protobuf-compiler
  python3-protobuf libnl-3-dev libnet1-dev libcap-dev libbsd-dev libnftables-dev libgnutls28-dev uuid-dev)
CRIU_VERSION=4.1.1

missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}

apt_updated=0
apt_install() {
  local missing
  missing=$(missing_packages "$@")
  [ -z "$missing" ] && return 0
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  log "installing $(echo $missing | tr '\n' ' ')"
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

if [ "$(id -u)" != 0 ]; then
  echo "setup: must run as root (installs system packages)" >&2
  exit 1
fi

apt_install "${SYSTEM_PACKAGES[@]}"

criu_ok() { command -v criu >/dev/null 2>&1 && criu check >/dev/null 2>&1; }

if ! criu_ok; then
  # Prefer the distribution's CRIU when it works on this kernel.
  apt_install criu || true
fi
if ! criu_ok; then
  log "building CRIU $CRIU_VERSION from Debian's source (the distribution's fails 'criu check' here)"
  apt_install "${CRIU_BUILD_DEPS[@]}"
  src_list=/etc/apt/sources.list.d/stdchk-trixie-src.sources
  if [ ! -f "$src_list" ]; then
    uris=$(grep -m1 '^URIs:' /etc/apt/sources.list.d/debian.sources 2>/dev/null || echo 'URIs: http://deb.debian.org/debian')
    printf 'Types: deb-src\n%s\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uris" >"$src_list"
  fi
  apt-get update -qq
  build=$(mktemp -d)
  (cd "$build" && apt-get source --download-only "criu=${CRIU_VERSION}-1" >/dev/null 2>&1 || true)
  tarball=$(ls "$build"/criu_${CRIU_VERSION}.orig.tar.* 2>/dev/null | head -1)
  if [ -z "$tarball" ]; then
    echo "setup: could not download criu_${CRIU_VERSION}.orig.tar from Debian's archive" >&2
    exit 1
  fi
  tar -C "$build" -xf "$tarball"
  make -C "$build/criu-${CRIU_VERSION}" -j"$(nproc)" criu >"$build/make.log" 2>&1 || {
    tail -30 "$build/make.log" >&2
    exit 1
  }
  install -m 0755 "$build/criu-${CRIU_VERSION}/criu/criu" /usr/local/sbin/criu
  rm -rf "$build"
  hash -r
  criu_ok || { echo "setup: built CRIU but 'criu check' still fails" >&2; criu check >&2 || true; exit 1; }
fi
log "criu $(criu --version | head -1 | awk '{print $2}') ok"

# npm dependencies, skipped when node_modules matches the lockfile.
# The stamp covers what npm ci builds from too: the patches and the addon's build script.
install_hash() { cat package-lock.json patches/*.patch scripts/build-fuse-native.sh | sha256sum; }
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s <(install_hash) node_modules/.stdchk-lock-hash 2>/dev/null; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  install_hash >node_modules/.stdchk-lock-hash
fi
# The patched FUSE addon (npm ci's postinstall builds it; again here if gcc came later).
[ -f node_modules/fuse-native/build/Release/fuse.node ] || bash scripts/build-fuse-native.sh
log "done"
