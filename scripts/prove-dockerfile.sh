#!/usr/bin/env bash
# Proves the Dockerfile without a Docker engine: builds it with podman on a
# debootstrapped debian:bookworm base, then runs the binary from the exported
# runtime image in a chroot. Run as root, from anywhere. Prints one PASS/FAIL
# line per check; exits non-zero when any check fails.
#
# Caches (reruns are fast): the base rootfs tarball in $ROOTFS_CACHE
# (default /var/cache/mergeyard-rootfs) and podman's layer cache.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${ROOTFS_CACHE:-/var/cache/mergeyard-rootfs}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
base_image=docker.io/library/debian:bookworm
image=mergeyard:test
work=$(mktemp -d /tmp/prove-dockerfile.XXXXXX)
failures=0

say() { printf '[prove-dockerfile] %s\n' "$*"; }
pass() { say "PASS: $*"; }
fail() { say "FAIL: $*"; failures=$((failures + 1)); }
# Processes whose root is the chroot (what the demo left running).
kill_chroot_processes() {
  local p
  for p in /proc/[0-9]*; do
    if [[ $(readlink "$p/root" 2>/dev/null) == "$1" ]]; then kill -9 "${p#/proc/}" 2>/dev/null || true; fi
  done
  return 0
}
unmount_all() {
  [[ -n ${fs:-} ]] && kill_chroot_processes "$fs"
  for m in "${mounted[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
  mounted=()
}
cleanup() {
  unmount_all
  [[ -n ${ctr:-} ]] && podman rm -f "$ctr" >/dev/null 2>&1 || true
  # Never into a mount that is still there (the chroot's /proc or /dev).
  rm -rf --one-file-system "$work"
}
mounted=()
trap cleanup EXIT

if [[ $(id -u) -ne 0 ]]; then say "must run as root (debootstrap, podman, chroot)"; exit 2; fi

# 1. Tools.
need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v podman >/dev/null || need+=(podman)
if ((${#need[@]})); then
  say "installing ${need[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# 2. The base image: a minimal bookworm rootfs, imported as debian:bookworm.
tarball=$cache/bookworm-minbase.tar
if [[ ! -s $tarball ]]; then
  say "debootstrapping bookworm into $cache (first run only)"
  mkdir -p "$cache"
  rootfs=$cache/rootfs.tmp
  # A debootstrap killed earlier may have left /proc, /sys or /dev mounted in it.
  findmnt -rn -o TARGET | { grep -F "$rootfs/" || true; } | sort -r | while read -r m; do umount -l "$m" || true; done
  rm -rf --one-file-system "$rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log"; say "debootstrap failed"; exit 1; }
  # The same sources as the official image.
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  chroot "$rootfs" apt-get clean
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin
  tar -C "$rootfs" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  rm -rf --one-file-system "$rootfs"
fi
if ! podman image exists "$base_image"; then
  say "importing $tarball as $base_image"
  podman import "$tarball" "$base_image" >/dev/null
fi
pass "base image $base_image present"

# 3. Build the Dockerfile.
say "building $image (podman build --isolation=chroot; compiles mergeyard in release mode)"
if podman build --pull=never --isolation=chroot -t "$image" -f "$root/Dockerfile" "$root" \
     >"$work/build.log" 2>&1; then
  pass "podman build of Dockerfile"
else
  tail -40 "$work/build.log"
  fail "podman build of Dockerfile"
  say "$failures check(s) failed"
  exit 1
fi

# 4. The image's configuration.
user=$(podman image inspect "$image" --format '{{.Config.User}}')
entry=$(podman image inspect "$image" --format '{{json .Config.Entrypoint}}')
cmd=$(podman image inspect "$image" --format '{{json .Config.Cmd}}')
env=$(podman image inspect "$image" --format '{{json .Config.Env}}')
ports=$(podman image inspect "$image" --format '{{json .Config.ExposedPorts}}')
[[ $user == mergeyard ]] && pass "runs as user 'mergeyard'" || fail "image user is '$user', want mergeyard"
[[ $entry == '["mergeyard"]' ]] && pass "entrypoint $entry" || fail "entrypoint is $entry"
[[ $cmd == '["serve"]' ]] && pass "cmd $cmd" || fail "cmd is $cmd"
[[ $env == *MERGEYARD_DATA_DIR=/var/lib/mergeyard* && $env == *MERGEYARD_LISTEN=0.0.0.0:8080* ]] \
  && pass "environment sets MERGEYARD_DATA_DIR and MERGEYARD_LISTEN" || fail "environment is $env"
[[ $ports == *8080/tcp* ]] && pass "exposes 8080/tcp" || fail "exposed ports are $ports"

# 5. Export the runtime image and run the binary in a chroot of it.
fs=$work/fs
mkdir -p "$fs"
ctr=$(podman create "$image")
podman export "$ctr" | tar -C "$fs" -x
uid=$(awk -F: '$1 == "mergeyard" {print $3}' "$fs/etc/passwd")
gid=$(awk -F: '$1 == "mergeyard" {print $4}' "$fs/etc/passwd")
if [[ -n $uid && $uid != 0 ]]; then pass "user mergeyard has uid $uid (not root)"; else fail "no non-root mergeyard user in /etc/passwd"; fi
as_user=(chroot --userspec="${uid:-0}:${gid:-0}" "$fs")
if "${as_user[@]}" /usr/local/bin/mergeyard --help >"$work/help.log" 2>&1; then
  pass "mergeyard --help runs in the runtime image"
else
  cat "$work/help.log"; fail "mergeyard --help in the runtime image"
fi
if "${as_user[@]}" env -i MERGEYARD_DATA_DIR=/tmp/mergeyard-data /usr/local/bin/mergeyard migrate \
     >"$work/migrate.log" 2>&1 && [[ -s $fs/tmp/mergeyard-data/mergeyard.db ]]; then
  pass "mergeyard migrate creates /tmp/mergeyard-data/mergeyard.db as uid $uid"
else
  cat "$work/migrate.log"; fail "mergeyard migrate in the runtime image"
fi
missing=$(chroot "$fs" sh -c 'ldd /usr/local/bin/mergeyard 2>&1 | grep "not found" || true')
[[ -z $missing ]] && pass "every shared library of the binary is in the runtime image" \
  || fail "missing libraries: $missing"
# 6. The whole product in the runtime image: `mergeyard demo` starts the real
# service, which fetches, merges, tests (git, sh, the sandbox) and lands.
# /dev is a fresh tmpfs with the few nodes a process needs, not the host's.
make_dev() {
  mount -t tmpfs -o mode=0755,size=1m tmpfs "$1" || return 1
  mounted+=("$1")
  mknod -m 666 "$1/null" c 1 3 && mknod -m 666 "$1/zero" c 1 5 &&
    mknod -m 666 "$1/random" c 1 8 && mknod -m 666 "$1/urandom" c 1 9 &&
    ln -s /proc/self/fd "$1/fd" && mkdir -m 1777 "$1/shm"
}
if mount -t proc proc "$fs/proc" && mounted+=("$fs/proc") && make_dev "$fs/dev"; then
  chmod 1777 "$fs/tmp"
  if timeout 300 "${as_user[@]}" env -i HOME=/var/lib/mergeyard PATH=/usr/local/bin:/usr/bin:/bin \
       /usr/local/bin/mergeyard demo >"$work/demo.log" 2>&1; then
    pass "mergeyard demo lands, kicks and refuses as expected in the runtime image, as uid $uid"
  else
    tail -40 "$work/demo.log"; fail "mergeyard demo in the runtime image"
  fi
else
  say "SKIP: mergeyard demo needs /proc and /dev in the chroot, and this machine refused to mount them"
fi
unmount_all

if ((failures)); then say "$failures check(s) failed"; exit 1; fi
say "all checks passed"
