#!/usr/bin/env bash
# Build the test node images without pulling anything:
#   pyrke-test/node-base:bookworm  debootstrap (minbase + sshd, docker.io, ...) from the Debian
#                                  mirror this machine's apt uses, read at run time; reused when
#                                  it exists (REBUILD_BASE=1 forces a rebuild, ~45 s)
#   pyrke-test/node:bookworm       thin layer from image/ (node-init, nodectl, sshd settings, runc
#                                  wrapper), rebuilt only when image/ or the base changed
# Env: MIRROR (override the mirror), REBUILD_BASE=1. Needs root, docker and debootstrap.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BASE=pyrke-test/node-base:bookworm
NODE=pyrke-test/node:bookworm
SUITE=bookworm
LABEL=pyrke.test.inputs
PACKAGES=openssh-server,docker.io,iproute2,iptables,ca-certificates,procps,util-linux,mount,python3-minimal,passwd

# The first "deb" source of this machine's apt for $SUITE, one-line or deb822 format.
apt_mirror() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    case $f in
      *.sources)
        awk -v suite="$SUITE" '
          BEGIN { RS = ""; FS = "\n" }
          {
            deb = 0; ok = 0; on = 1; uri = ""
            for (i = 1; i <= NF; i++) {
              if ($i ~ /^Types:/ && $i ~ /[ \t]deb([ \t]|$)/) deb = 1
              if ($i ~ /^Enabled:[ \t]*no/) on = 0
              if ($i ~ /^URIs:/) { split($i, u, /[ \t]+/); uri = u[2] }
              if ($i ~ /^Suites:/) { n = split($i, s, /[ \t]+/); for (j = 2; j <= n; j++) if (s[j] == suite) ok = 1 }
            }
            if (deb && ok && on && uri != "") { print uri; exit }
          }' "$f" ;;
      *)
        awk -v suite="$SUITE" '
          $1 == "deb" {
            i = 2
            if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
            if ($(i + 1) == suite) { print $i; exit }
          }' "$f" ;;
    esac
  done | head -n 1
}

build_base() {
  local mirror
  mirror=${MIRROR:-$(apt_mirror)}
  [ -n "$mirror" ] || { echo "no '$SUITE' source in /etc/apt/sources.list*; set MIRROR" >&2; exit 1; }
  command -v debootstrap >/dev/null || { echo "debootstrap is not installed" >&2; exit 1; }
  root=$(mktemp -d /var/tmp/pyrke-node-root.XXXXXX)   # global: the EXIT trap needs it
  trap 'rm -rf "$root" "$root.log"' EXIT
  echo "building $BASE with debootstrap (about 45 s)" >&2
  debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$root" "$mirror" \
    >"$root.log" 2>&1 || { tail -n 20 "$root.log" >&2; exit 1; }
  rm -f "$root.log"
  chroot "$root" apt-get clean
  chroot "$root" sh -c 'getent group docker >/dev/null || groupadd --system docker'
  # Nothing that names the mirror, and no host keys shared by every node.
  rm -rf "$root/etc/apt/sources.list" "$root"/etc/ssh/ssh_host_* "$root"/var/lib/apt/lists/* \
    "$root"/var/log/apt "$root"/var/log/*.log "$root"/var/cache/debconf/*-old \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/*
  local host=${mirror#*://}
  host=${host%%/*}
  if grep -rIlF -- "$host" "$root/etc" "$root/var" "$root/root" >&2; then
    echo "the files above name the mirror; refusing to build the image" >&2
    exit 1
  fi
  tar --numeric-owner -C "$root" -c . | docker import - "$BASE" >/dev/null
  rm -rf "$root"
  trap - EXIT
}

# What the thin layer is made of: every file of image/ (name, mode, content) and the base.
layer_inputs() {
  {
    docker image inspect -f '{{.Id}}' "$BASE"
    cd "$HERE/image"
    find . -type f -print0 | LC_ALL=C sort -z | xargs -0 stat -c '%n %a'
    find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
  } | sha256sum | cut -d' ' -f1
}

# Two test runs starting at once build once.
exec 9>/tmp/pyrke-test-node-image.lock
flock 9

if [ "${REBUILD_BASE:-0}" = 1 ] || ! docker image inspect "$BASE" >/dev/null 2>&1; then
  build_base
fi
inputs=$(layer_inputs)
if [ "$(docker image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$NODE" 2>/dev/null)" != "$inputs" ]; then
  old=$(docker image inspect -f '{{.Id}}' "$NODE" 2>/dev/null || true)
  # the legacy builder builds FROM a local image without a registry (and says it is deprecated)
  out=$(DOCKER_BUILDKIT=0 docker build -q --label "$LABEL=$inputs" -t "$NODE" "$HERE/image" 2>&1) ||
    { echo "$out" >&2; exit 1; }
  # the replaced layer, unless a running node still uses it
  [ -z "$old" ] || docker rmi "$old" >/dev/null 2>&1 || true
  echo "built $NODE" >&2
fi
