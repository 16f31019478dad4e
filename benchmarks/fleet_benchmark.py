"""`layerscope fleet` against a loop of single-image reads: 200 generated images sharing 20 bases.

    python benchmarks/fleet_benchmark.py [--images 200] [--bases 20] [--workers 1 2]

Starts a real docker-registry on loopback (Debian's docker-registry) in a temporary
directory, pushes the generated images (tests/support/pushimage.py), then measures:

* the loop: `layerscope.analyze(ref)` for every image, one after the other, without the
  per-layer cache (each image read whole, as a script over `inspect` would without a
  shared cache) and with one cold cache shared by the loop;
* `layerscope.fleet(...)` on a LocalCluster of 1 and of 2 worker processes, cache cold;
  the cluster's start (and the workers' first imports) is timed apart.

Each line gives the wall time and the blobs read. The projection for N workers takes the
1-worker run apart with the compute time of its tasks (Dask's task stream: resolves, blob
reads, image analyses): W spreads over N workers, the rest of the wall time does not:
T(N) = (T(1) − W) + W / N, never less than that rest plus the slowest blob. An estimate,
and it says so.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import io
import json
import logging
import os
import random
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import gzip

from distributed import Client, LocalCluster, get_task_stream

from tests.support.pushimage import push
from tests.support.registry import Registry

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for path, data in files.items():
            ti = tarfile.TarInfo(path)
            ti.size, ti.mtime = len(data), 1_700_000_000
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def base_layers(k: int) -> list[bytes]:
    """A base of three layers: an OS-ish tree, a Python package with its dist-info, config."""
    rnd = random.Random(k)
    os_files = {f"usr/lib/base{k}/lib{i}.so": rnd.randbytes(8000) + bytes(24000) for i in range(150)}
    name = f"basepkg{k}"
    pkg = {f"usr/lib/python3.12/site-packages/{name}/m{i}.py": (f"# {k}.{i}\n" * 300).encode() for i in range(40)}
    record = "".join(f"{p.split('site-packages/')[1]},,\n" for p in pkg)
    dist = f"usr/lib/python3.12/site-packages/{name}-1.{k}.dist-info"
    pkg[f"{dist}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.{k}\n".encode()
    pkg[f"{dist}/RECORD"] = record.encode()
    conf = {f"etc/base{k}/conf{i}": f"key={k}.{i}\n".encode() for i in range(20)}
    return [tar_of(os_files), tar_of(pkg), tar_of(conf)]


def app_layer(n: int) -> bytes:
    rnd = random.Random(10_000 + n)
    return tar_of({f"srv/app/f{i}.py": rnd.randbytes(500) + bytes(1500) for i in range(20)})


def image(layers: list[bytes], n: int) -> tuple[dict[str, bytes], bytes]:
    blobs: dict[str, bytes] = {}
    descs, diff_ids = [], []
    for tar in layers:
        gz = gzip.compress(tar, compresslevel=6, mtime=0)
        blobs[sha(gz)] = gz
        descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha(gz), "size": len(gz)})
        diff_ids.append(sha(tar))
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [{"created_by": f"step {i} of image {n}"} for i in range(len(layers))],
        }
    ).encode()
    blobs[sha(config)] = config
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "layers": descs,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(config), "size": len(config)},
    }
    return blobs, json.dumps(manifest).encode()


def generate(host: str, images: int, bases: int) -> list[str]:
    base = [base_layers(k) for k in range(bases)]
    refs = []
    for n in range(images):
        k = n % bases
        blobs, manifest = image([*base[k], app_layer(n)], n)
        repo = f"team{k % 4}/svc{k}"
        push(host, repo, f"v{n}", blobs, manifest, OCI_MANIFEST)
        refs.append(f"docker://{host}/{repo}:v{n}")
    return refs


def fresh_cache(root: Path, name: str) -> None:
    os.environ["LAYERSCOPE_CACHE_DIR"] = str(root / name)  # worker processes inherit it when spawned


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--bases", type=int, default=20)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--project", type=int, nargs="+", default=[4, 8, 16, 32])
    args = ap.parse_args()

    import layerscope

    with tempfile.TemporaryDirectory(prefix="fleet-bench-") as tmp:
        root = Path(tmp)
        registry = Registry(root / "registry")
        try:
            t0 = time.perf_counter()
            refs = generate(registry.host, args.images, args.bases)
            print(
                f"pushed {len(refs)} images on {args.bases} bases in {time.perf_counter() - t0:.1f} s "
                f"(4 layers each: 3 of the base, 1 of its own)"
            )
            rows = []

            fresh_cache(root, "loop-nocache")
            t0 = time.perf_counter()
            for ref in refs:
                layerscope.analyze(ref, use_cache=False)
            rows.append(("loop of analyze(), no cache", time.perf_counter() - t0, 4 * len(refs)))

            fresh_cache(root, "loop-cache")
            t0 = time.perf_counter()
            for ref in refs:
                layerscope.analyze(ref)
            unique = 3 * args.bases + len(refs)
            rows.append(("loop of analyze(), one shared cache", time.perf_counter() - t0, unique))

            measured: dict[int, float] = {}
            costs: list[float] = []
            costs1: list[float] = []
            spans1: dict[str, float] = {}
            for n in args.workers:
                fresh_cache(root, f"fleet-{n}")
                t0 = time.perf_counter()
                cluster = LocalCluster(
                    n_workers=n,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address="127.0.0.1:0",  # as the command's LocalCluster: any free port, loopback only
                    silence_logs=logging.ERROR,
                )
                with Client(cluster, set_as_default=False) as client:
                    client.run(importlib.import_module, "layerscope.fleet.tasks")  # the workers' imports
                    start = time.perf_counter() - t0
                    with get_task_stream(client) as stream:  # every task the scheduler runs, any client's
                        t0 = time.perf_counter()
                        result = layerscope.fleet(refs, scheduler=cluster.scheduler_address)
                        wall = time.perf_counter() - t0
                    spans = task_seconds(stream.data)
                cluster.close()
                assert result.totals.failed_images == 0, result.images["error"].dropna().head()
                measured[n] = wall
                costs = [float(x) for x in result.layers["read_seconds"].dropna()]
                if n == 1:
                    costs1, spans1 = costs, spans
                print(f"  {n} worker(s): task seconds by kind " + ", ".join(f"{k} {v:.1f} s" for k, v in spans.items()))
                label = f"fleet, {n} worker{'s' if n > 1 else ''} (+{start:.1f} s to start them)"
                rows.append((label, wall, result.totals.blobs_read))
        finally:
            registry.stop()

    print(f"\nload average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    print(f"{'run':<52} {'wall':>8} {'blobs read':>11}")
    for label, wall, blobs in rows:
        print(f"{label:<52} {wall:>7.1f}s {blobs:>11}")
    print(
        f"\nper-layer read costs on the workers: {len(costs)} blobs, Σ {sum(costs):.1f} s, "
        f"mean {1000 * sum(costs) / max(len(costs), 1):.0f} ms, slowest {1000 * max(costs, default=0):.0f} ms"
    )
    if 1 in measured and spans1:
        work = sum(spans1.values())
        fixed = measured[1] - work
        slowest = max(costs1, default=0.0)
        print(
            f"projection from the 1-worker run: its tasks computed {work:.1f} s (resolve, blob reads, image "
            f"analyses), the other {fixed:.1f} s of its wall time is scheduling, transfers and the client: "
            f"T(N) = {fixed:.1f} s + {work:.1f} s / N (an estimate: it assumes N free cores and a registry "
            "that keeps up):"
        )
        for n in args.project:
            print(f"  {n:>3} workers: {max(fixed + work / n, fixed + slowest):6.1f} s (estimate)")


def task_seconds(records: list[dict[str, Any]]) -> dict[str, float]:
    """Compute seconds per kind of task (resolve, blob, stats, image) from a task stream."""
    out: dict[str, float] = {}
    for r in records:
        kind = str(r["key"]).split("-", 1)[0]
        for ss in r["startstops"]:
            if ss["action"] == "compute":
                out[kind] = out.get(kind, 0.0) + ss["stop"] - ss["start"]
    return out


if __name__ == "__main__":
    main()
