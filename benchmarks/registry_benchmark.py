#!/usr/bin/env python3
"""Registry benchmark: `inspect --manifest-only docker://...` must answer in well under a
second without downloading layers; a full read is shown for comparison.

Starts a real docker-registry on loopback (Debian's docker-registry package), pushes an
image of --layers gzip layers of --layer-mb MB each (incompressible, so the blobs really
are that large) with skopeo, then times, median of --runs runs each:

  manifest-only   the CLI, `inspect --manifest-only --json`, as a user runs it
  manifest-only   in process (api.analyze), i.e. without Python's start-up and imports
  full read       the CLI with --no-cache (every layer downloaded, decoded and walked)

and prints the table plus how many blobs each mode fetched (through a counting proxy:
manifest-only fetches the config alone).

With --oci-archive PATH (e.g. the gzip oci-archive read_benchmark.py writes), that image is
pushed as it is (skopeo --preserve-digests: the same gzip blobs) and, round after round,
`inspect --no-cache` of docker:// on the loopback registry is timed against the same
image read from the oci-archive: the issue's "docker:// <= 1.1 x the OCI layout" ratio,
with wall and CPU seconds of both. Usage:

  python benchmarks/registry_benchmark.py [--layers 4] [--layer-mb 25] [--runs 5]
  python benchmarks/registry_benchmark.py --oci-archive PATH [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from layerscope import api  # noqa: E402
from tests.sources.registry.images import push_archive, skopeo_copy  # noqa: E402
from tests.sources.registry.servers import FaultProxy, Registry, tool_missing  # noqa: E402
from tests.support.factory import ImageSpec, f, layer_tar  # noqa: E402

CPU: list[float] = []  # user+sys seconds of each CLI run: wall time suffers on a busy machine


def cli(*args: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "layerscope", *args], capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if p.returncode != 0:
        raise SystemExit(f"layerscope {' '.join(args)} failed: {p.stderr.strip()}")
    return elapsed


def cpu_median() -> float | None:
    value = statistics.median(CPU) if CPU else None
    CPU.clear()
    return value


def median(fn: object, runs: int) -> float:
    return statistics.median(fn() for _ in range(runs))  # type: ignore[operator]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--layer-mb", type=int, default=25)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--oci-archive", default=None, help="push this gzip oci-archive; time docker:// against it")
    args = parser.parse_args()
    why = tool_missing()
    if why:
        raise SystemExit(why)
    if args.oci_archive:
        against_layout(Path(args.oci_archive).resolve(), args.runs)
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        os.environ["LAYERSCOPE_CACHE_DIR"] = str(work / "cache")
        registry = Registry(work / "registry")
        proxy = FaultProxy(f"http://{registry.host}")  # counts what each mode fetches
        try:
            layers = [layer_tar([f(f"data/{i}.bin", os.urandom(args.layer_mb << 20))]) for i in range(args.layers)]
            push_archive(ImageSpec(layers), registry.host, "bench/big:1", work)
            ref = f"docker://{proxy.host}/bench/big:1"
            rows: list[tuple[str, float, float | None, int]] = []

            def fetched() -> int:
                blob_gets = sum(1 for r in proxy.requests if "/blobs/" in r.path and r.method == "GET")
                proxy.requests.clear()
                return blob_gets

            t = median(lambda: cli("--version"), args.runs)
            rows.append(("CLI start-up (--version)", t, cpu_median(), fetched()))
            t = median(lambda: cli("inspect", "--manifest-only", "--json", ref), args.runs)
            rows.append(("manifest-only, CLI", t, cpu_median(), fetched() // args.runs))
            t = median(lambda: _timed(lambda: api.analyze(ref, manifest_only=True)), args.runs)
            rows.append(("manifest-only, in process", t, None, fetched() // args.runs))
            t = median(lambda: cli("inspect", "--json", "--no-cache", ref), max(1, args.runs // 2))
            rows.append(("full read, CLI --no-cache", t, cpu_median(), fetched() // max(1, args.runs // 2)))
            size = args.layers * args.layer_mb
            print(f"image: {args.layers} gzip layers, {size} MB compressed, registry on loopback")
            print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
            print(f"{'mode':<28} {'median s':>9} {'CPU s':>7} {'blob GETs per run':>18}")
            for name, seconds, cpu, gets in rows:
                cpu_text = "-" if cpu is None else f"{cpu:.3f}"
                print(f"{name:<28} {seconds:>9.3f} {cpu_text:>7} {gets:>18}")
            print(json.dumps({name: round(seconds, 3) for name, seconds, _, _ in rows}))
        finally:
            proxy.close()
            registry.stop()


def against_layout(archive: Path, runs: int) -> None:
    """docker:// from a loopback registry vs the same image's oci-archive, interleaved rounds."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        os.environ["LAYERSCOPE_CACHE_DIR"] = str(work / "cache")
        registry = Registry(work / "registry")
        try:
            skopeo_copy(
                f"oci-archive:{archive}",
                f"docker://{registry.host}/bench/oci:1",
                work,
                "--format",
                "oci",
                "--preserve-digests",
            )
            plan = {
                "docker:// (loopback registry)": f"docker://{registry.host}/bench/oci:1",
                "oci-archive": f"oci-archive:{archive}",
            }
            wall: dict[str, list[float]] = {k: [] for k in plan}
            cpu: dict[str, list[float]] = {k: [] for k in plan}
            for n in range(runs):
                print(f"round {n + 1}/{runs}", file=sys.stderr)
                for name, ref in plan.items():
                    wall[name].append(cli("inspect", "--json", "--quiet", "--no-cache", ref))
                    cpu[name].append(CPU.pop())
            print(
                f"image: {archive.name}, {archive.stat().st_size / 1e6:.0f} MB; {runs} rounds; "
                f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
            )
            print(f"{'run':<32} {'median s':>9} {'CPU s':>7}")
            for name in plan:
                print(f"{name:<32} {statistics.median(wall[name]):>9.2f} {statistics.median(cpu[name]):>7.2f}")
            reg, lay = wall["docker:// (loopback registry)"], wall["oci-archive"]
            per_round = sorted(a / b for a, b in zip(reg, lay, strict=True))
            ratio = statistics.median(reg) / statistics.median(lay)
            verdict = "met" if ratio <= 1.1 else "missed"
            print(
                f"docker:// / oci-archive: {ratio:.2f} (per round {per_round[0]:.2f}-{per_round[-1]:.2f}; "
                f"target <= 1.1) {verdict}"
            )
        finally:
            registry.stop()


def _timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
