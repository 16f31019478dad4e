#!/usr/bin/env python3
"""Read-speed benchmark: layerscope cold and warm vs dive vs the decompression floor.

Builds a large realistic image from real files of this machine (a Debian system's /usr and
the Python environment's site-packages: numpy, pandas, matplotlib, ...), about 1 GB
uncompressed and 25k+ files in several gzip layers, written as an oci-archive (gzip
layers, as registries serve them) and as a docker-archive (uncompressed layers, as
`docker save` on Docker < 25 writes them). Headers are written as Go's archive/tar writes
them for Docker and BuildKit: mtimes in whole seconds, USTAR with the prefix field for
long names, PAX only for names that do not fit (--pax-mtimes: sub-second mtimes, so a
PAX header before every entry, the worst case).
Then, median of --runs runs of each, in one go:

  layerscope cold   `inspect` with --no-cache and an empty cache dir, docker- and oci-archive
  layerscope warm   `inspect` again (the image summary and per-layer cache are filled)
  packages          `layerscope packages` cold and warm on the docker-archive
  syft              `syft docker-archive:X -o syft-json` (when installed)
  dive 0.13.1       `dive --ci --source docker-archive` on the docker-archive
  floor             isal decode of every gzip layer of the oci-archive, one core

and prints the table with ratios, peak RSS and CPU seconds (user + system) of every run.
CPU seconds tell a loaded machine apart from a slow program.

With --ml, the image is instead the ML image of issue 20 (benchmarks/ml_image.py: Debian,
python3, torch with its CUDA wheels, transformers, a 200 MB weights file; one large gzip
layer), built by a real Docker engine and written as docker-archive and OCI layout (gzip),
and pushed to a loopback docker-registry. Then also, every round:

  docker://         `inspect --no-cache` from the loopback registry, against the OCI layout
  rapidgzip         rapidgzip's parallel decode of every gzip layer, on all cores (issue 20
                    asks for this figure next to the isal floor)

Several GB of wheels, engine storage and archives: never in CI. Usage:

  python benchmarks/read_benchmark.py [--size-mb 1000] [--files 100000] [--runs 5] [--workdir DIR [--reuse]]
  python benchmarks/read_benchmark.py --ml [--runs 3] [--workdir DIR]   (DIR is kept: a second run reuses it)
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from isal import igzip

REPO = Path(__file__).resolve().parent.parent
# Many small files first (site-packages, headers, docs), then the big shared libraries: a
# Python service image's mix of ~30k entries per GB.
SOURCES = [
    str(Path(sys.base_prefix) / "lib"),
    "/usr/lib/python3",
    "/usr/include",
    "/usr/share/zoneinfo",
    "/usr/share/doc",
    "/usr/share/locale",
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/gcc",
    "/usr/libexec",
]


def _files(root: str):
    for dirpath, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            p = os.path.join(dirpath, name)
            if os.path.islink(p) or os.path.isfile(p):
                yield p


# More small files for --files: documentation, locales, the other Python installations.
EXTRA_SOURCES = ["/usr/share", "/usr/lib", str(Path(sys.base_prefix).parent), "/opt"]


def _format_like_go(ti: tarfile.TarInfo) -> int:
    """USTAR (a long name split into the prefix field) where it fits, else PAX: what Go's
    archive/tar, and so Docker and BuildKit, write for each header."""
    try:
        ti.tobuf(tarfile.USTAR_FORMAT, "utf-8", "strict")
        return tarfile.USTAR_FORMAT if ti.name.isascii() and ti.linkname.isascii() else tarfile.PAX_FORMAT
    except ValueError:
        return tarfile.PAX_FORMAT


def build_layers(budget: int, layers: int, files: int | None = None, pax_mtimes: bool = False) -> list[bytes]:
    """Split up to `budget` bytes of real files into `layers` tar layers.

    With `files`, aim at that many entries in the same bytes: files larger than 20x the
    average that allows are left out, and once the bytes are spent only files up to 4 KiB
    are still taken, until the count is reached.
    """
    per_layer = budget // layers
    cap = 50 << 20 if files is None else max(budget // files * 20, 64 << 10)
    out: list[bytes] = []
    buf = io.BytesIO()
    tar = tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT)  # noqa: SIM115 - one per layer, closed below
    used = total = entries = 0
    seen: set[str] = set()

    def done() -> bool:
        return total >= budget and (files is None or entries >= files)

    for root in SOURCES + (EXTRA_SOURCES if files else []):
        if not os.path.isdir(root):
            continue
        for p in _files(root):
            if p in seen:
                continue
            seen.add(p)
            try:
                ti = tar.gettarinfo(p, arcname=p.lstrip("/"))
                if not pax_mtimes:
                    ti.mtime = int(ti.mtime)  # Docker and BuildKit write whole seconds: no PAX header
                    tar.format = _format_like_go(ti)
                if ti.isreg():
                    if ti.size > cap or (total >= budget and ti.size > 4096):
                        continue
                    with open(p, "rb") as fh:
                        tar.addfile(ti, fh)
                else:
                    tar.addfile(ti)
            except OSError:
                continue
            used += ti.size
            total += ti.size
            entries += 1
            if used >= per_layer and len(out) < layers - 1:
                tar.close()
                out.append(buf.getvalue())
                buf = io.BytesIO()
                tar = tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT)  # noqa: SIM115 - as above
                used = 0
            if done():
                break
        if done():
            break
    tar.close()
    out.append(buf.getvalue())
    return out


def sha(b: bytes) -> str:
    return "sha256:" + hashlib.sha256(b).hexdigest()


def write_images(layers: list[bytes], workdir: Path) -> tuple[Path, Path, list[Path]]:
    cfg = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [sha(x) for x in layers]},
            "history": [{"created_by": f"benchmark layer {i}"} for i in range(len(layers))],
        }
    ).encode()
    # docker-archive, legacy layout
    dpath = workdir / "bench.docker.tar"
    with tarfile.open(dpath, "w") as t:
        names = []
        for x in layers:
            name = f"{hashlib.sha256(x).hexdigest()}/layer.tar"
            names.append(name)
            ti = tarfile.TarInfo(name)
            ti.size = len(x)
            t.addfile(ti, io.BytesIO(x))
        cname = hashlib.sha256(cfg).hexdigest() + ".json"
        for name, data in [
            (cname, cfg),
            ("manifest.json", json.dumps([{"Config": cname, "RepoTags": ["bench:1"], "Layers": names}]).encode()),
        ]:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    # oci-archive, gzip layers (level 6, like `gzip -6`)
    gz_paths = []
    descs = []
    blobs: list[tuple[str, bytes | Path]] = []
    for i, x in enumerate(layers):
        gz = workdir / f"layer{i}.gz"
        with igzip.open(gz, "wb", compresslevel=2) as fh:  # isal level 2 ~ gzip -6 ratio, much faster to make
            fh.write(x)
        gz_paths.append(gz)
        data = gz.read_bytes()
        descs.append(
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha(data), "size": len(data)}
        )
        blobs.append((sha(data), gz))
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(cfg), "size": len(cfg)},
            "layers": descs,
        }
    ).encode()
    index = json.dumps(
        {
            "schemaVersion": 2,
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": sha(manifest),
                    "size": len(manifest),
                }
            ],
        }
    ).encode()
    opath = workdir / "bench.oci.tar"
    with tarfile.open(opath, "w") as t:
        for name, data in [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", index)]:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
        for digest, data in [(sha(cfg), cfg), (sha(manifest), manifest), *blobs]:
            name = "blobs/sha256/" + digest.split(":")[1]
            if isinstance(data, Path):
                t.add(str(data), arcname=name)
            else:
                ti = tarfile.TarInfo(name)
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
    return dpath, opath, gz_paths


# Runs one command and prints its wall time and peak RSS (KiB): a fresh process per
# measurement, so RUSAGE_CHILDREN holds that command alone.
_PROBE = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
    "dt = time.perf_counter() - t\n"
    "sys.stderr.buffer.write(p.stderr[-500:])\n"
    "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(p.returncode, dt, u.ru_maxrss, u.ru_utime + u.ru_stime)\n"
)


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, int, float]:
    """Wall seconds, peak RSS (KiB) and CPU seconds of one run of `cmd`."""
    p = subprocess.run([sys.executable, "-c", _PROBE, *cmd], env=env, capture_output=True, text=True)
    code, dt, peak, cpu = p.stdout.split()
    if int(code) not in (0, 1):
        raise SystemExit(f"{cmd[0]} failed: {p.stderr[-500:]}")
    return float(dt), int(peak), float(cpu)


def _self_cpu() -> float:
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def floor(gz_paths: list[Path]) -> tuple[float, float]:
    """Wall and CPU seconds of isal decoding every layer, one after the other, on one core."""
    t0, c0 = time.perf_counter(), _self_cpu()
    for p in gz_paths:
        with igzip.open(p, "rb") as fh:
            while fh.read(1 << 20):
                pass
    return time.perf_counter() - t0, _self_cpu() - c0


def rapidgzip_decode(gz_paths: list[Path]) -> tuple[float, float] | None:
    """rapidgzip's parallel decode of every layer on all cores (None when not installed)."""
    try:
        import rapidgzip  # type: ignore[import-not-found]
    except ImportError:
        return None
    t0, c0 = time.perf_counter(), _self_cpu()
    for p in gz_paths:
        with rapidgzip.open(str(p), parallelization=os.cpu_count() or 1) as fh:
            while fh.read(4 << 20):
                pass
    return time.perf_counter() - t0, _self_cpu() - c0


FLOOR = "floor: isal decode of the gzip layers, 1 core"
RAPID = "rapidgzip decode of the gzip layers, all cores"
DIVE = "dive 0.13.1, docker-archive"
SYFT = "syft -o syft-json, docker-archive"
OCI_ROW = "layerscope cold, oci-archive"
LAYOUT_ROW = "layerscope cold, OCI layout (gzip)"
REGISTRY_ROW = "layerscope cold, docker:// loopback registry"
# (row, reference row, the target ratio)
TARGETS = [
    ("layerscope cold, docker-archive", DIVE, 0.5),
    ("layerscope warm, docker-archive", DIVE, 0.1),
    (OCI_ROW, FLOOR, 1.0),
    (LAYOUT_ROW, FLOOR, 1.0),
    ("packages cold, docker-archive", SYFT, 0.3),
    (REGISTRY_ROW, LAYOUT_ROW, 1.1),
]


def _process_cpu(registry: object) -> float | None:
    """CPU seconds (user + system) the registry's process has used so far (Linux /proc)."""
    pid = getattr(getattr(registry, "proc", None), "pid", None)
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stolen() -> float | None:
    """CPU seconds the hypervisor has given other guests so far, all cores (Linux /proc/stat)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _count_entries(fileobj: object) -> int:
    with tarfile.open(fileobj=fileobj) as t:  # type: ignore[call-overload]
        return sum(1 for _ in t)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=1000)
    ap.add_argument("--files", type=int, default=None, help="aim at this many entries (e.g. 100000)")
    ap.add_argument("--pax-mtimes", action="store_true", help="sub-second mtimes: a PAX header before every entry")
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--json", dest="json_out", default=None, help="also write results here")
    ap.add_argument("--reuse", action="store_true", help="use the image already in --workdir")
    ap.add_argument("--ml", action="store_true", help="the ML image of issue 20 (several GB; never in CI)")
    args = ap.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="layerscope-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    layout_ref: str | None = None
    if args.ml:
        import ml_image  # benchmarks/ is on sys.path: this script's directory

        image = ml_image.build(workdir)
        dpath, gz_paths, layout_ref = image.docker_archive, image.gzip_blobs, image.layout_ref
        opath = None
        unc, files = _archive_stats(dpath)
    elif args.reuse and (workdir / "bench.docker.tar").exists() and (workdir / "bench.oci.tar").exists():
        print(f"reusing the image in {workdir}", file=sys.stderr)
        dpath, opath = workdir / "bench.docker.tar", workdir / "bench.oci.tar"
        gz_paths = sorted(workdir.glob("layer*.gz"))
        unc, files = _archive_stats(dpath)
    else:
        print(f"building a {args.size_mb} MB image from real files in {workdir} ...", file=sys.stderr)
        layers = build_layers(args.size_mb * 1000**2, args.layers, args.files, args.pax_mtimes)
        dpath, opath, gz_paths = write_images(layers, workdir)
        files = sum(_count_entries(io.BytesIO(x)) for x in layers)
        unc = sum(len(x) for x in layers)
        del layers
    registry = None
    try:
        if layout_ref is not None:
            registry = _push(layout_ref, workdir)
        return _measure(args, workdir, dpath, opath, layout_ref, registry, gz_paths, unc, files)
    finally:
        if registry is not None:
            registry.stop()


def _archive_stats(dpath: Path) -> tuple[int, int]:
    """Uncompressed bytes and entries of a docker-archive's layers."""
    with tarfile.open(dpath) as outer:
        inner = [m for m in outer.getmembers() if m.name.endswith(("layer.tar", ".tar")) or m.name.startswith("blobs/")]
        inner = [m for m in inner if m.isfile() and m.size > 1024 and _is_tar(outer, m)]
        return sum(m.size for m in inner), sum(_count_entries(outer.extractfile(m)) for m in inner)


def _is_tar(outer: tarfile.TarFile, member: tarfile.TarInfo) -> bool:
    fh = outer.extractfile(member)
    return fh is not None and fh.read(262)[257:262] == b"ustar"


def _push(layout_ref: str, workdir: Path) -> object:
    """A loopback docker-registry holding the OCI layout's blobs as they are (same gzip bytes)."""
    sys.path.insert(0, str(REPO))
    from tests.sources.registry.images import skopeo_copy
    from tests.sources.registry.servers import Registry

    shutil.rmtree(workdir / "registry", ignore_errors=True)
    registry = Registry(workdir / "registry")
    print(f"pushing {layout_ref} to {registry.host} ...", file=sys.stderr)
    try:
        dest = f"docker://{registry.host}/bench/ml:1"
        cmd = ["skopeo", "copy", "-q", "--dest-tls-verify=false", "--format", "oci", "--preserve-digests"]
        p = subprocess.run([*cmd, layout_ref, dest], capture_output=True, text=True, timeout=3600)
        if p.returncode != 0:
            raise SystemExit(f"skopeo copy to the registry failed: {p.stderr[-2000:]}")
        del skopeo_copy
    except BaseException:
        registry.stop()
        raise
    return registry


def _measure(
    args: argparse.Namespace,
    workdir: Path,
    dpath: Path,
    opath: Path | None,
    layout_ref: str | None,
    registry: object,
    gz_paths: list[Path],
    unc: int,
    files: int,
) -> int:
    # Bytecode as `pip install` leaves it: with PYTHONDONTWRITEBYTECODE set (as on some CI
    # machines) every run would otherwise compile layerscope's modules again (~25 ms).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "layerscope")], check=True)
    cold_cache, warm_cache = workdir / "cache-cold", workdir / "cache-warm"
    shutil.rmtree(warm_cache, ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cold_env = {**env, "LAYERSCOPE_CACHE_DIR": str(cold_cache)}
    warm_env = {**env, "LAYERSCOPE_CACHE_DIR": str(warm_cache)}
    ls = [sys.executable, "-m", "layerscope"]
    inspect = [*ls, "inspect", "--json", "--quiet"]
    packages = [*ls, "packages", "--json", "--quiet"]
    docker_ref = f"docker-archive:{dpath}"
    oci_ref = layout_ref or f"oci-archive:{opath}"
    oci_kind = "OCI layout (gzip)" if layout_ref else "oci-archive"
    # (row, command, environment, empty the cold cache first)
    plan: list[tuple[str, list[str], dict[str, str], bool]] = [
        ("layerscope cold, docker-archive", [*inspect, "--no-cache", docker_ref], cold_env, True),
        (f"layerscope cold, {oci_kind}", [*inspect, "--no-cache", oci_ref], cold_env, True),
        ("layerscope warm, docker-archive", [*inspect, docker_ref], warm_env, False),
        (f"layerscope warm, {oci_kind}", [*inspect, oci_ref], warm_env, False),
        ("packages cold, docker-archive", [*packages, "--no-cache", docker_ref], cold_env, True),
        ("packages warm, docker-archive", [*packages, docker_ref], warm_env, False),
    ]
    if registry is not None:
        host = registry.host  # type: ignore[attr-defined]
        plan.append((REGISTRY_ROW, [*inspect, "--no-cache", f"docker://{host}/bench/ml:1"], cold_env, True))
    dive, syft = shutil.which("dive"), shutil.which("syft")
    if dive:
        plan.append((DIVE, [dive, "--ci", "--source", "docker-archive", str(dpath)], env, False))
    if syft:
        plan.append((SYFT, [syft, docker_ref, "-o", "syft-json"], env, False))
    for cmd in ([*inspect, docker_ref], [*inspect, oci_ref], [*packages, docker_ref]):  # fill the warm cache
        subprocess.run(cmd, env=warm_env, stdout=subprocess.DEVNULL, check=True)
    load = os.getloadavg()  # other work on the machine shows in the wall times, not in CPU seconds
    stolen = _stolen()  # so does a busy host under a virtual machine, as steal time
    rows: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    rss: dict[str, int] = {}
    # Round after round, every command once: a machine whose load changes meanwhile
    # changes every row alike, and the medians stay comparable.
    server_cpu: list[float] = []
    for n in range(args.runs):
        print(f"round {n + 1}/{args.runs}", file=sys.stderr)
        for name, cmd, cmd_env, fresh in plan:
            if fresh:
                shutil.rmtree(cold_cache, ignore_errors=True)
            served = _process_cpu(registry) if name == REGISTRY_ROW else None
            dt, peak, seconds = timed(cmd, cmd_env)
            if served is not None:  # the registry's own CPU competes for the same cores
                server_cpu.append(_process_cpu(registry) - served)  # type: ignore[operator]
            rows.setdefault(name, []).append(dt)
            cpu.setdefault(name, []).append(seconds)
            rss[name] = max(rss.get(name, 0), peak)
        for name, result in ((FLOOR, floor(gz_paths)), (RAPID, rapidgzip_decode(gz_paths) if args.ml else None)):
            if result is not None:
                rows.setdefault(name, []).append(result[0])
                cpu.setdefault(name, []).append(result[1])
    med = {k: statistics.median(v) for k, v in rows.items()}
    floor_s, dive_s = med[FLOOR], med.get(DIVE)
    gz_bytes = sum(p.stat().st_size for p in gz_paths)
    largest = max(p.stat().st_size for p in gz_paths)
    print(
        f"\nimage: {unc / 1e9:.2f} GB uncompressed, {files} entries, "
        f"{len(gz_paths)} gzip layers ({gz_bytes / 1e9:.2f} GB, largest {largest / 1e9:.2f} GB)"
    )
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {os.cpu_count()} cores, Python {platform.python_version()}, {args.runs} rounds")
    print(f"{'run':<44} {'median s':>9} {'x floor':>8} {'x dive':>7} {'CPU s':>6} {'peak RSS':>9}")
    for k, v in med.items():
        xd = f"{v / dive_s:.2f}" if dive_s else "-"
        peak = f"{rss[k] / 1024:.0f} MB" if k in rss else "-"
        c = f"{statistics.median(cpu[k]):.2f}" if k in cpu else "-"
        print(f"{k:<44} {v:>9.3f} {v / floor_s:>8.2f} {xd:>7} {c:>6} {peak:>9}")
    if server_cpu:
        print(f"docker-registry's own CPU s while serving the docker:// read: {statistics.median(server_cpu):.2f}")
    print(f"load average (1 min) before and after: {load[0]:.2f}, {os.getloadavg()[0]:.2f}")
    now_stolen = _stolen()
    steal = None if stolen is None or now_stolen is None else now_stolen - stolen
    if steal is not None:
        print(f"CPU s taken by the hypervisor for other guests during the rounds (steal): {steal:.1f}")
    for missing, tool in ((DIVE, "dive"), (SYFT, "syft")):
        if missing not in med:
            print(f"{tool} is not installed here: its rows have no reference")
    print("\ntargets (issues 10 and 20): ratio of the medians; in brackets the median and range of per-round ratios")
    for row, ref, target in TARGETS:
        if row in med and ref in med:
            ratio = med[row] / med[ref]
            per_round = sorted(a / b for a, b in zip(rows[row], rows[ref], strict=True))
            verdict = "met" if ratio <= target else "missed"
            spread = f"[{statistics.median(per_round):.2f}, {per_round[0]:.2f}-{per_round[-1]:.2f}]"
            cpu_ratio = statistics.median(cpu[row]) / statistics.median(cpu[ref]) if ref in cpu else None
            cpu_text = f"; CPU s {cpu_ratio:.2f}" if cpu_ratio is not None else ""
            print(f"  {row} / {ref}: {ratio:.2f} {spread} (target <= {target}) {verdict}{cpu_text}")
    if args.json_out:
        doc = {
            "uncompressed_bytes": unc,
            "entries": files,
            "machine": machine,
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "median_seconds": med,
            "median_cpu_seconds": {k: statistics.median(v) for k, v in cpu.items()},
            "peak_rss_kb": rss,
            "seconds": rows,
            "load_average_before_after": [load[0], os.getloadavg()[0]],
            "registry_server_cpu_seconds": server_cpu,
            "steal_seconds": steal,
        }
        Path(args.json_out).write_text(json.dumps(doc, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
