#!/bin/bash
# modern-engine.sh: Docker Engine 28.5 (+ BuildKit, buildx) from Debian forky, run from a chroot on a
# Debian 12 host without systemd. Run as root. layerscope's engine tests (tests/engines.py) and .ci/run use it.
#
#   install                   debootstrap forky into ROOT and install docker.io, docker-cli, docker-buildx (idempotent)
#   up STATE [overlay2|containerd]
#                             mount the chroot, start dockerd with its data root, exec root, socket (STATE/docker.sock),
#                             pidfile and log under STATE (bind-mounted at the same path inside the chroot);
#                             STATE/engine.pid gets dockerd's PID; returns once the engine answers
#   down STATE                stop that dockerd by its PID, wait for it, unmount everything under ROOT
#   client STATE              print the environment for a host-side client (eval "$(modern-engine.sh client STATE)")
#   iptables_clean            after down: drop the firewall chains only Docker >= 28 creates, so that a 20.10 dockerd
#                             started next finds the layout it knows
#
# ROOT is $LAYERSCOPE_MODERN_ROOT (default /opt/layerscope-forky). Only one dockerd may use the docker0 bridge at a
# time: stop any other one first (tests/engines.py holds /tmp/layerscope-engine.lock while engines run).
set -euo pipefail
R=${LAYERSCOPE_MODERN_ROOT:-/opt/layerscope-forky}
R=${R%/}
SUITE=${LAYERSCOPE_MODERN_SUITE:-forky}
PACKAGES="docker.io docker-cli docker-buildx"

die() { echo "modern-engine.sh: $*" >&2; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "must run as root"; }

mirror() {
  local m=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    m=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
    m=$(awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' /etc/apt/sources.list)
  fi
  echo "${m:-http://deb.debian.org/debian}"
}

# Mount points under ROOT (ROOT itself included), deepest first.
mounts_under() {
  awk -v r="$R" '$5 == r || index($5, r "/") == 1 {print $5}' /proc/self/mountinfo | sort -r
}

mnt() { mountpoint -q "$2" || { mkdir -p "$2"; mount "${@:3}" "$1" "$2"; }; }

mounts_up() {
  # ROOT must be a mount point itself, or containerd cannot find the mount of its data root in
  # /proc/self/mountinfo ("failed to find the mount info") and its snapshotter plugins fail.
  mnt "$R" "$R" --bind
  mnt /proc "$R/proc" --bind
  if ! mountpoint -q "$R/sys"; then mnt /sys "$R/sys" --rbind; mount --make-rslave "$R/sys"; fi   # cgroups too
  if ! mountpoint -q "$R/dev"; then mnt /dev "$R/dev" --rbind; mount --make-rslave "$R/dev"; fi
  mountpoint -q "$R/run" || mount -t tmpfs -o mode=755 tmpfs "$R/run"   # a private /run
  cp -L /etc/resolv.conf "$R/etc/resolv.conf"
}

mounts_down() {
  local m
  for m in $(mounts_under); do
    if mountpoint -q "$m"; then umount -R "$m" 2> /dev/null || umount -l "$m" 2> /dev/null || true; fi
  done
  [ -z "$(mounts_under)" ] || die "could not unmount: $(mounts_under | tr '\n' ' ')"
}

install() {
  need_root
  command -v debootstrap > /dev/null || die "debootstrap is missing: apt-get install debootstrap"
  mkdir -p "$(dirname "$R")"
  exec 9> "$R.install.lock"   # two installs into one root must not interleave
  flock 9
  if [ -x "$R/usr/sbin/dockerd" ] && [ -x "$R/usr/libexec/docker/cli-plugins/docker-buildx" ]; then
    return 0
  fi
  if [ -n "$(mounts_under)" ]; then die "$R has mounts: run '$0 down STATE' first"; fi
  if [ -e "$R" ] && { [ -d "$R/debootstrap" ] || [ ! -x "$R/usr/bin/apt-get" ]; }; then
    rm -rf --one-file-system "$R"   # an interrupted debootstrap: start over
  fi
  local m
  m=$(mirror)
  if [ ! -x "$R/usr/bin/apt-get" ]; then
    # bookworm's debootstrap has no script for forky; sid's works
    debootstrap --variant=minbase "$SUITE" "$R" "$m" /usr/share/debootstrap/scripts/sid
  fi
  # a snapshot mirror can serve a Release file past its Valid-Until
  echo 'Acquire::Check-Valid-Until "false";' > "$R/etc/apt/apt.conf.d/99no-valid-until"
  echo "deb $m $SUITE main" > "$R/etc/apt/sources.list"
  mounts_up
  trap mounts_down EXIT
  chroot "$R" apt-get update -q
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive chroot "$R" apt-get install -y -q --no-install-recommends $PACKAGES
  chroot "$R" apt-get clean
  # keep no copy of the mirror's host name in the chroot
  rm -rf "$R"/var/lib/apt/lists/* "$R"/etc/apt/sources.list "$R"/etc/apt/sources.list.d/* "$R"/var/log/bootstrap.log
  mounts_down
  trap - EXIT
}

state_arg() {
  S=${1:?"usage: $0 $2 STATE"}
  S=$(cd "$S" && pwd -P) || die "no state directory $1"
}

up() {
  need_root
  state_arg "${1:-}" up
  local store=${2:-overlay2}
  [ -x "$R/usr/sbin/dockerd" ] || die "Docker 28.5 is not installed at $R: run '$0 install'"
  mounts_up
  mnt "$S" "$R$S" --bind   # same path inside: socket, data root, exec root, log
  mkdir -p "$S/dockercfg"
  # host-side clients: the forky docker and buildx binaries run on bookworm too
  printf '{"cliPluginsExtraDirs": ["%s/usr/libexec/docker/cli-plugins"]}\n' "$R" > "$S/dockercfg/config.json"
  case "$store" in
    overlay2) echo '{}' > "$S/daemon.json" ;;
    containerd) echo '{"features": {"containerd-snapshotter": true}}' > "$S/daemon.json" ;;
    *) die "unknown image store $store (overlay2 or containerd)" ;;
  esac
  setsid chroot "$R" /usr/sbin/dockerd --config-file "$S/daemon.json" --data-root "$S/data" \
    --exec-root "$S/exec" --pidfile "$S/dockerd.pid" -H "unix://$S/docker.sock" \
    >> "$S/dockerd.log" 2>&1 < /dev/null &
  echo $! > "$S/engine.pid"   # chroot execs dockerd: the same PID
  local i
  for i in $(seq 1 240); do
    if DOCKER_HOST="unix://$S/docker.sock" DOCKER_CONFIG="$S/dockercfg" "$R/usr/bin/docker" version > /dev/null 2>&1
    then return 0; fi
    kill -0 "$(cat "$S/engine.pid")" 2> /dev/null || break
    sleep 0.25
  done
  echo "dockerd did not answer; the end of $S/dockerd.log:" >&2
  tail -n 20 "$S/dockerd.log" >&2 || true
  down "$S"
  return 1
}

down() {
  need_root
  state_arg "${1:-}" down
  local p i
  if p=$(cat "$S/engine.pid" 2> /dev/null) && kill -0 "$p" 2> /dev/null; then
    kill "$p"
    for i in $(seq 1 300); do kill -0 "$p" 2> /dev/null || break; sleep 0.2; done
    if kill -0 "$p" 2> /dev/null; then kill -9 "$p"; sleep 0.5; fi
  fi
  rm -f "$S/engine.pid"
  mounts_down
  rmdir "$R$S" 2> /dev/null || true   # the empty mount point inside the chroot
}

iptables_clean() {
  need_root
  iptables -D FORWARD -j DOCKER-FORWARD 2> /dev/null || true
  iptables -D DOCKER ! -i docker0 -o docker0 -j DROP 2> /dev/null || true
  local c
  for c in DOCKER-FORWARD DOCKER-BRIDGE DOCKER-CT; do iptables -F "$c" 2> /dev/null || true; done
  for c in DOCKER-FORWARD DOCKER-BRIDGE DOCKER-CT; do iptables -X "$c" 2> /dev/null || true; done
  ip6tables -D FORWARD -j DOCKER-USER 2> /dev/null || true
  ip6tables -D FORWARD -j DOCKER-FORWARD 2> /dev/null || true
  ip6tables -t nat -D PREROUTING -m addrtype --dst-type LOCAL -j DOCKER 2> /dev/null || true
  ip6tables -t nat -D OUTPUT ! -d ::1/128 -m addrtype --dst-type LOCAL -j DOCKER 2> /dev/null || true
  ip6tables -t nat -F DOCKER 2> /dev/null || true
  ip6tables -t nat -X DOCKER 2> /dev/null || true
  local v6="DOCKER DOCKER-BRIDGE DOCKER-CT DOCKER-FORWARD DOCKER-ISOLATION-STAGE-1 DOCKER-ISOLATION-STAGE-2 DOCKER-USER"
  for c in $v6; do ip6tables -F "$c" 2> /dev/null || true; done
  for c in $v6; do ip6tables -X "$c" 2> /dev/null || true; done
}

client() {
  state_arg "${1:-}" client
  echo "export DOCKER_HOST=unix://$S/docker.sock DOCKER_CONFIG=$S/dockercfg DOCKER_CLI=$R/usr/bin/docker"
}

cmd=${1:-}
shift || true
case "$cmd" in
  install | up | down | client | iptables_clean) "$cmd" "$@" ;;
  *) die "usage: $0 install | up STATE [overlay2|containerd] | down STATE | client STATE | iptables_clean" ;;
esac
