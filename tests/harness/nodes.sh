#!/usr/bin/env bash
# Start and remove Docker-in-Docker test nodes: each a container of pyrke-test/node:bookworm
# with its own address, sshd and dockerd (overlay2 on its own volume).
#   nodes.sh up N PREFIX     start PREFIX1..PREFIXN in parallel, print "name address" lines
#   nodes.sh down PREFIX     remove every container named PREFIX* and its PREFIX*-docker volume
#   nodes.sh rm NAME...      remove these nodes and their volumes
# Env for up: NODE_AUTHORIZED_KEYS (root's public keys, one a line), NODE_SSHD_DELAY (seconds
# before sshd starts), NODE_DOCKERD=0 (no dockerd), NODE_BUILD=0 (skip the image check),
# NODE_OWNER (HOST:PID of the test process, a label: nodes.py removes nodes whose owner died),
# NODE_NETWORK (pyrke-test), NODE_SUBNET (172.30.0.0/24, apart from every node's docker0).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
IMAGE=pyrke-test/node:bookworm
NETWORK=${NODE_NETWORK:-pyrke-test}
SUBNET=${NODE_SUBNET:-172.30.0.0/24}
# Capability numbers 0..40, in order (linux/capability.h).
CAPS=(CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP
  LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER
  SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE
  SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP
  MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF
  CHECKPOINT_RESTORE)

usage() { sed -n '4,6s/^# \{0,1\}//p' "$0" >&2; exit 2; }

# --privileged asks runc for every capability the kernel knows; where the bounding set lacks
# one (CAP_SYS_RESOURCE on some CI VMs) it fails with "unable to apply caps". Then run with
# everything else instead: all capabilities we have, no seccomp/AppArmor, writable /proc
# and /sys paths, every device.
run_flags() {
  local bnd last i missing=()
  bnd=$((16#$(awk '/^CapBnd/ {print $2}' /proc/self/status)))
  last=$(cat /proc/sys/kernel/cap_last_cap)
  for ((i = 0; i <= last && i < ${#CAPS[@]}; i++)); do
    (((bnd >> i) & 1)) || missing+=(--cap-drop "${CAPS[i]}")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    FLAGS=(--privileged)
  else
    FLAGS=(--cap-add ALL "${missing[@]}" --security-opt seccomp=unconfined
      --security-opt apparmor=unconfined --security-opt systempaths=unconfined
      --device-cgroup-rule 'a *:* rwm')
  fi
}

remove() {
  [ $# -gt 0 ] || return 0
  docker rm -f -v "$@" >/dev/null 2>&1 || true
  local vols=() n
  for n in "$@"; do vols+=("$n-docker"); done
  docker volume rm "${vols[@]}" >/dev/null 2>&1 || true
}

up() {
  local n=$1 prefix=$2 i pids=() names=() failed=0 errs
  [[ $n =~ ^[1-9][0-9]*$ ]] || usage
  [ "${NODE_BUILD:-1}" = 0 ] || "$HERE/build-node-image.sh"
  docker network inspect "$NETWORK" >/dev/null 2>&1 ||
    docker network create --subnet "$SUBNET" "$NETWORK" >/dev/null 2>&1 ||
    docker network inspect "$NETWORK" >/dev/null   # created meanwhile by another run?
  run_flags
  [ -z "${NODE_OWNER:-}" ] || FLAGS+=(--label "pyrke.test.owner=$NODE_OWNER")
  errs=$(mktemp -d)
  trap 'rm -rf "$errs"' RETURN
  for ((i = 1; i <= n; i++)); do
    names+=("$prefix$i")
    docker run -d --init --name "$prefix$i" --hostname "$prefix$i" --network "$NETWORK" \
      --label pyrke.test.node=1 "${FLAGS[@]}" -v "$prefix$i-docker:/var/lib/docker" \
      -e NODE_AUTHORIZED_KEYS -e NODE_SSHD_DELAY -e NODE_DOCKERD \
      "$IMAGE" >/dev/null 2>"$errs/$i" &
    pids+=($!)
  done
  for ((i = 1; i <= n; i++)); do
    wait "${pids[i - 1]}" || { failed=1; sed "s/^/$prefix$i: /" "$errs/$i" >&2; }
  done
  if [ $failed = 1 ]; then
    remove "${names[@]}"
    return 1
  fi
  docker inspect -f "{{.Name}} {{(index .NetworkSettings.Networks \"$NETWORK\").IPAddress}}" \
    "${names[@]}" | sed 's|^/||'
}

down() {
  local prefix=$1 names=()
  [ -n "$prefix" ] || usage
  mapfile -t names < <(docker ps -a --format '{{.Names}}' | while read -r n; do
    [[ $n != "$prefix"* ]] || echo "$n"
  done)
  remove "${names[@]}"
  # volumes left by nodes removed some other way
  mapfile -t names < <(docker volume ls -q | while read -r v; do
    [[ $v != "$prefix"*-docker ]] || echo "$v"
  done)
  [ ${#names[@]} -eq 0 ] || docker volume rm "${names[@]}" >/dev/null 2>&1 || true
}

case ${1:-} in
  up) [ $# -eq 3 ] || usage; up "$2" "$3" ;;
  down) [ $# -eq 2 ] || usage; down "$2" ;;
  rm) shift; remove "$@" ;;
  *) usage ;;
esac
