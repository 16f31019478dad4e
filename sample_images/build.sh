#!/bin/bash
# build.sh: rebuild the committed sample images with a real builder (BuildKit through buildx).
#
# Writes, next to this script, for NAME in fat slim whiteouts pip:
#   NAME.docker.tar   `docker save` of the image (Docker >= 25 layout: OCI layout + manifest.json)
#   NAME.oci.tar      `skopeo copy docker-archive:NAME.docker.tar oci-archive:NAME.oci.tar:...`
#
# Needs: root (for the engine), a running Docker Engine >= 25 with the buildx plugin
# (`docker buildx version` must work; BuildKit named contexts and RUN --mount are used),
# skopeo, python3 with pip, and either the apt mirror (`apt-get download busybox-static`) or a
# static busybox in $BUSYBOX. Packages come from the package index through the host's pip:
# nothing inside a build reaches the network.
#
# On the project's machines the engine is Docker 28.5 from Debian forky (environment.md §12);
# hold the engine lock the whole time it runs:
#   flock /tmp/layerscope-engine.lock bash -c '
#     modern-docker.sh up && eval "$(modern-docker.sh client)" && sample_images/build.sh
#     rc=$?; modern-docker.sh down; modern-docker.sh iptables_clean; exit $rc'
#
# Takes about 15 s once the engine answers (measured on 2 cores with Docker 28.5.2): pip
# downloads and staged installs ~5 s (wheels are kept in sample_images/.cache/, which git
# ignores), four builds ~5 s, saves and skopeo copies ~3 s. A rebuild changes digests (file
# times in RUN layers, build timestamps, random model bytes in whiteouts), not the structure;
# COPY layers of staged inputs keep their diff_ids (every staged file gets one fixed mtime).
# Environment: DOCKER (client, default `docker`), BUSYBOX (a static busybox instead of apt's),
# PYTHON (default python3), NO_CACHE=1 (build without the engine's build cache),
# KEEP_IMAGES=1 (leave the images in the engine).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
DOCKER=${DOCKER:-docker}
PYTHON=${PYTHON:-python3}
CACHE=$HERE/.cache
NS=layerscope-samples            # image names: $NS/busybox:1.35, $NS/<sample>:1
BASE=$NS/busybox:1.35
# mtime given to every file staged for COPY, so unchanged inputs give unchanged layers
STAMP=2024-10-01T00:00:00Z
PIP_PLATFORM=(--only-binary=:all: --python-version 3.11 --implementation cp
  --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64)

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

check_tools() {
  $DOCKER version --format '{{.Server.Version}}' > /dev/null 2>&1 || die "no Docker engine answers (DOCKER=$DOCKER)"
  $DOCKER buildx version > /dev/null 2>&1 || die "the buildx plugin is missing: BuildKit builds need it"
  command -v skopeo > /dev/null || die "skopeo is missing (apt-get install skopeo)"
  $PYTHON -m pip --version > /dev/null || die "$PYTHON has no pip"
  log "engine: Docker $($DOCKER version --format '{{.Server.Version}}'), $($DOCKER buildx version)"
}

# --- inputs prepared on the host ------------------------------------------------------------

busybox_binary() {
  if [ -n "${BUSYBOX:-}" ]; then echo "$BUSYBOX"; return; fi
  local d=$CACHE/busybox-static
  if [ ! -x "$d/bin/busybox" ]; then
    mkdir -p "$d"
    (cd "$d" && apt-get download -q busybox-static > /dev/null 2>&1 && dpkg-deb -x busybox-static_*.deb .) \
      || die "cannot get busybox-static from apt; set BUSYBOX to a static busybox binary"
  fi
  echo "$d/bin/busybox"
}

# One-layer base image: busybox, a relative symlink per applet, /etc/passwd, /etc/group, /tmp.
import_base() {
  local bb=$1 root=$CACHE/base-rootfs
  rm -rf "$root"; mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/root"
  cp "$bb" "$root/bin/busybox"
  local a
  for a in $("$root/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"; done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
  chmod 1777 "$root/tmp"; chmod 700 "$root/root"
  tar -C "$root" --sort=name --mtime="$STAMP" --owner=0 --group=0 --numeric-owner -cf "$CACHE/base.tar" .
  # re-import only when the layer would differ: a new base image would defeat the build cache
  local want have
  want=sha256:$(sha256sum "$CACHE/base.tar" | cut -d' ' -f1)
  have=$($DOCKER image inspect --format '{{index .RootFS.Layers 0}}' "$BASE" 2> /dev/null || true)
  if [ "$want" = "$have" ]; then log "base image $BASE is up to date"; return; fi
  $DOCKER import -c 'CMD ["/bin/sh"]' -m "$("$root/bin/busybox" | head -1)" - "$BASE" < "$CACHE/base.tar" > /dev/null
  log "base image $BASE imported"
}

# pip download the pinned wheels of a requirements file into $CACHE/wheels/<group>/.
download_wheels() {
  local req=$1 group=$2
  mkdir -p "$CACHE/wheels/$group"
  $PYTHON -m pip download -q --no-deps "${PIP_PLATFORM[@]}" -d "$CACHE/wheels/$group" -r "$req" 2> "$CACHE/pip.log" \
    || { cat "$CACHE/pip.log" >&2; die "pip download -r $req failed"; }
}

# pip install those wheels into a staging root ($CACHE/stage/<group>/usr/local/...), as
# `pip install --prefix PREFIX` run by /usr/local/bin/python3.11 would: console-script
# shebangs name the image's interpreter, RECORD files are pip's own.
stage_install() {
  local req=$1 group=$2 prefix=$3
  local out=$CACHE/stage/$group
  rm -rf "$out"; mkdir -p "$out"
  PIP_CONFIG_FILE=/dev/null $PYTHON - "$out" "$prefix" "$CACHE/wheels/$group" "$req" <<'EOF'
import sys
out, prefix, wheels, req = sys.argv[1:]
sys.executable = "/usr/local/bin/python3.11"   # pip writes it into console-script shebangs
from pip._internal.cli.main import main
sys.exit(main(["install", "-q", "--ignore-installed", "--no-deps", "--no-index", "--no-compile",
               "--disable-pip-version-check", "--root-user-action=ignore", "--find-links", wheels,
               "--root", out, "--prefix", prefix, "-r", req]))
EOF
  find "$out" -exec touch -h -d "$STAMP" {} +
}

prepare_inputs() {
  local s
  for s in service/requirements.txt:service service/build-requirements.txt:build-tools \
           pip/requirements.txt:pip pip/upgrade.txt:pip-upgrade; do
    download_wheels "$HERE/${s%%:*}" "${s##*:}"
  done
  stage_install "$HERE/service/requirements.txt" service /usr/local
  stage_install "$HERE/service/build-requirements.txt" build-tools /opt/build-tools
  stage_install "$HERE/pip/requirements.txt" pip /usr/local
  stage_install "$HERE/pip/upgrade.txt" pip-upgrade /usr/local
  # the wheels as `pip download` leaves them, for the images that keep them
  rm -rf "$CACHE/stage/wheels"; cp -a "$CACHE/wheels/service" "$CACHE/stage/wheels"
  find "$CACHE/stage/wheels" -exec touch -h -d "$STAMP" {} +
  log "wheels and site-packages staged in $CACHE"
}

# --- builds and exports ---------------------------------------------------------------------

build() {  # build NAME DOCKERFILE CONTEXT [--build-context ...]
  local name=$1 file=$2 ctx=$3; shift 3
  log "building $NS/$name:1"
  $DOCKER buildx build --progress=plain --provenance=false ${NO_CACHE:+--no-cache} \
    -f "$file" -t "$NS/$name:1" "$@" "$ctx" \
    > "$CACHE/build-$name.log" 2>&1 || { cat "$CACHE/build-$name.log" >&2; die "build of $name failed"; }
}

export_image() {
  local name=$1
  rm -f "$HERE/$name.docker.tar" "$HERE/$name.oci.tar"
  $DOCKER save -o "$HERE/$name.docker.tar" "$NS/$name:1"
  skopeo copy -q "docker-archive:$HERE/$name.docker.tar" "oci-archive:$HERE/$name.oci.tar:$NS/$name:1"
}

main() {
  check_tools
  mkdir -p "$CACHE"
  local bb; bb=$(busybox_binary)
  import_base "$bb"
  prepare_inputs
  local st=$CACHE/stage
  # fat copies its whole context (no .dockerignore, on purpose): keep local byte-code out of it
  find "$HERE/service" -name __pycache__ -prune -exec rm -rf {} +
  local svc=(--build-context "wheels=$st/wheels" --build-context "build-tools=$st/build-tools"
             --build-context "site-packages=$st/service")
  build fat "$HERE/service/Dockerfile.fat" "$HERE/service" "${svc[@]}"
  build slim "$HERE/service/Dockerfile.slim" "$HERE/service" "${svc[@]}"
  build whiteouts "$HERE/whiteouts/Dockerfile" "$HERE/whiteouts"
  build pip "$HERE/pip/Dockerfile" "$HERE/pip" \
    --build-context "site-packages=$st/pip" --build-context "upgrade=$st/pip-upgrade"
  local n total=0 size
  for n in fat slim whiteouts pip; do
    export_image "$n"
    for f in "$HERE/$n.docker.tar" "$HERE/$n.oci.tar"; do
      size=$(stat -c %s "$f"); total=$((total + size))
      printf '%10d  %s\n' "$size" "${f#"$HERE"/}"
      [ "$size" -lt 5000000 ] || die "${f#"$HERE"/} is over 5 MB"
    done
  done
  printf '%10d  total\n' "$total"
  [ "$total" -lt 20000000 ] || die "the archives add up to more than 20 MB"
  if [ -z "${KEEP_IMAGES:-}" ]; then
    $DOCKER rmi "$NS/fat:1" "$NS/slim:1" "$NS/whiteouts:1" "$NS/pip:1" > /dev/null
  fi
}

main "$@"
