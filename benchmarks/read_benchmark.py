#!/usr/bin/env python3
"""Read-speed benchmark: layerscope cold and warm vs dive vs the decompression floor.

Builds a large realistic image from real files of this machine (a Debian system's /usr and
the Python environment's site-packages: numpy, pandas, matplotlib, ...), about 1 GB
uncompressed and 25k+ files in several gzip layers, written as an oci-archive (gzip
layers, as registries serve them) and as a docker-archive (uncompressed layers, as
`docker save` on Docker < 25 writes them). Then, median of --runs runs of each, in one go:

  layerscope cold   (--no-cache, empty cache dir) on the docker-archive and the oci-archive
  layerscope warm   (per-layer cache filled) on both
  dive 0.13.1       `dive --ci --source docker-archive` on the docker-archive
  floor             isal decode of every gzip layer of the oci-archive, one core

and prints the table plus ratios, and peak RSS of the layerscope runs. Usage:

  python benchmarks/read_benchmark.py [--size-mb 1000] [--runs 5] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
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


def build_layers(budget: int, layers: int) -> list[bytes]:
    """Split up to `budget` bytes of real files into `layers` tar layers."""
    per_layer = budget // layers
    out: list[bytes] = []
    buf = io.BytesIO()
    tar = tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT)
    used = total = 0
    seen: set[str] = set()
    for root in SOURCES:
        if not os.path.isdir(root):
            continue
        for p in _files(root):
            if p in seen:
                continue
            seen.add(p)
            try:
                ti = tar.gettarinfo(p, arcname=p.lstrip("/"))
                if ti.isreg():
                    if ti.size > 50 << 20:
                        continue
                    with open(p, "rb") as fh:
                        tar.addfile(ti, fh)
                else:
                    tar.addfile(ti)
            except OSError:
                continue
            used += ti.size
            total += ti.size
            if used >= per_layer and len(out) < layers - 1:
                tar.close()
                out.append(buf.getvalue())
                buf = io.BytesIO()
                tar = tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT)
                used = 0
            if total >= budget:
                break
        if total >= budget:
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
    "print(p.returncode, dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, int]:
    p = subprocess.run([sys.executable, "-c", _PROBE, *cmd], env=env, capture_output=True, text=True)
    code, dt, peak = p.stdout.split()
    if int(code) not in (0, 1):
        raise SystemExit(f"{cmd[0]} failed: {p.stderr[-500:]}")
    return float(dt), int(peak)


def floor(gz_paths: list[Path]) -> float:
    t0 = time.perf_counter()
    for p in gz_paths:
        with igzip.open(p, "rb") as fh:
            while fh.read(1 << 20):
                pass
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=1000)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--json", dest="json_out", default=None, help="also write results here")
    args = ap.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="layerscope-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"building a {args.size_mb} MB image from real files in {workdir} ...", file=sys.stderr)
    layers = build_layers(args.size_mb * 1000**2, args.layers)
    dpath, opath, gz_paths = write_images(layers, workdir)
    files = sum(1 for x in layers for _ in tarfile.open(fileobj=io.BytesIO(x)))
    unc = sum(len(x) for x in layers)
    del layers
    cache = workdir / "cache"
    env = {**os.environ, "PYTHONPATH": str(REPO), "LAYERSCOPE_CACHE_DIR": str(cache)}
    ls = [sys.executable, "-m", "layerscope", "inspect", "--json", "--quiet"]
    dive = shutil.which("dive")
    rows: dict[str, list[float]] = {}
    rss: dict[str, int] = {}

    def run(name: str, cmd: list[str], fresh_cache: bool) -> None:
        for _ in range(args.runs):
            if fresh_cache:
                shutil.rmtree(cache, ignore_errors=True)
            dt, peak = timed(cmd, env)
            rows.setdefault(name, []).append(dt)
            rss[name] = max(rss.get(name, 0), peak)

    for label, path in [("docker-archive", dpath), ("oci-archive", opath)]:
        run(f"layerscope cold, {label}", [*ls, "--no-cache", f"{label}:{path}"], True)
        subprocess.run([*ls, f"{label}:{path}"], env=env, stdout=subprocess.DEVNULL, check=True)
        run(f"layerscope warm, {label}", [*ls, f"{label}:{path}"], False)
    if dive:
        run("dive 0.13.1, docker-archive", [dive, "--ci", "--source", "docker-archive", str(dpath)], False)
    rows["floor: isal decode of the gzip layers, 1 core"] = [floor(gz_paths) for _ in range(args.runs)]
    med = {k: statistics.median(v) for k, v in rows.items()}
    floor_s = med["floor: isal decode of the gzip layers, 1 core"]
    dive_s = med.get("dive 0.13.1, docker-archive")
    print(f"\nimage: {unc / 1e9:.2f} GB uncompressed, {files} entries, {len(gz_paths)} gzip layers")
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"{'run':<48} {'median s':>9} {'x floor':>8} {'x dive':>7} {'peak RSS':>9}")
    for k, v in med.items():
        xd = f"{v / dive_s:.2f}" if dive_s else "-"
        peak = f"{rss[k] / 1024:.0f} MB" if k in rss else "-"
        print(f"{k:<48} {v:>9.3f} {v / floor_s:>8.2f} {xd:>7} {peak:>9}")
    if args.json_out:
        Path(args.json_out).write_text(
            json.dumps(
                {"uncompressed_bytes": unc, "entries": files, "median_seconds": med, "peak_rss_kb": rss}, indent=2
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
