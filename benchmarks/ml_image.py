"""The ML image of issue 20, built on request (`read_benchmark.py --ml`; several GB, never in CI).

Made the way ML services are: Debian bookworm with python3 (a debootstrap minbase imported
into the engine), torch with its nvidia CUDA wheels and transformers installed by pip in one
RUN (one large layer), and a 200 MB weights file. Built by a real Docker engine (20.10, under
the engine lock, started and stopped by tests/support/dockerd.py), then written as:

  docker-archive   `docker save`
  OCI layout       `skopeo copy --dest-compress-format gzip` of the docker-archive (gzip layers,
                   as registries serve them); pushed as it is to the loopback registry

The wheels are fetched on the host with `pip download` into the build context and bound into
the RUN, so the build needs no network inside the container. Everything lives in `workdir`;
with `reuse` an image already there is used as it is.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.dockerd import LOCK, EngineSpec, run_engine  # noqa: E402

BASE = "local/debian-ml:bookworm"
TAG = "bench/ml:1"
TORCH = "torch==2.14.1"  # the CUDA build pip takes from this machine's disk for Python 3.11
WEIGHTS_MB = 200
# Debian bookworm's python3 is 3.11 on x86_64: the wheels are fetched for that interpreter.
PY = ["--python-version", "3.11"]
PLATFORMS = [
    "manylinux_2_36_x86_64",
    *(f"manylinux_2_{n}_x86_64" for n in range(35, 4, -1)),
    "manylinux2014_x86_64",
    "manylinux2010_x86_64",
    "manylinux1_x86_64",
    "linux_x86_64",
]
DOCKERFILE = f"""\
FROM {BASE}
RUN --mount=type=bind,source=wheels,target=/wheels \\
    pip install --break-system-packages --no-index --no-cache-dir --find-links /wheels {TORCH} transformers
COPY model /models/bench
ENV HF_HUB_OFFLINE=1
CMD ["python3"]
"""


@dataclass(frozen=True)
class MlImage:
    docker_archive: Path
    layout: Path  # an OCI layout directory, tag "ml"
    gzip_blobs: list[Path]  # the layout's gzip layer blobs, for the decode floor

    @property
    def layout_ref(self) -> str:
        return f"oci:{self.layout}:ml"


def _run(cmd: list[str], **kw: object) -> None:
    print("+", " ".join(cmd[:6]), "...", file=sys.stderr)
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)  # type: ignore[call-overload]
    if p.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed:\n{p.stdout[-2000:]}\n{p.stderr[-3000:]}")


def _mirror() -> str:
    for line in Path("/etc/apt/sources.list.d/debian.sources").read_text().splitlines():
        if line.startswith("URIs:"):
            return line.split()[1]
    return "http://deb.debian.org/debian"


def base_tar(workdir: Path) -> Path:
    """Debian bookworm minbase with python3 and pip, as a rootfs tar for `docker import`."""
    out = workdir / "debian-ml-bookworm.tar"
    if out.is_file():
        return out
    rootfs = workdir / "rootfs"
    shutil.rmtree(rootfs, ignore_errors=True)
    _run(["debootstrap", "--variant=minbase", "--include=python3,python3-pip", "bookworm", str(rootfs), _mirror()])
    _run(["chroot", str(rootfs), "apt-get", "clean"])
    shutil.rmtree(rootfs / "var/lib/apt/lists", ignore_errors=True)
    (rootfs / "var/lib/apt/lists/partial").mkdir(parents=True)
    _run(["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(out.with_suffix(".part")), "."])
    out.with_suffix(".part").rename(out)
    shutil.rmtree(rootfs, ignore_errors=True)
    return out


def context(workdir: Path) -> Path:
    """The build context: wheels (pip download on the host), the weights, the Dockerfile."""
    ctx = workdir / "ctx"
    wheels = ctx / "wheels"
    if not (wheels / ".complete").exists():
        wheels.mkdir(parents=True, exist_ok=True)
        platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
        download = [sys.executable, "-m", "pip", "download", "-q", "-d", str(wheels), "--only-binary=:all:"]
        _run([*download, *PY, *platforms, TORCH, "transformers"])
        (wheels / ".complete").touch()
    model = ctx / "model"
    weights = model / "model.safetensors"
    if not weights.is_file():
        model.mkdir(parents=True, exist_ok=True)
        # Trained weights barely compress (fp16 mantissas): a deterministic pseudo-random stream.
        with weights.open("wb") as fh:
            block = hashlib.sha512(b"layerscope-ml-weights").digest()
            for i in range(WEIGHTS_MB * 1024 * 1024 // (1 << 20)):
                seed = hashlib.sha512(block + i.to_bytes(8, "little")).digest()
                fh.write(hashlib.shake_256(seed).digest(1 << 20))
        (model / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 1024}))
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    return ctx


def build_archive(workdir: Path) -> Path:
    """`docker build` + `docker save` with a Docker 20.10 engine, under the engine lock."""
    out = workdir / "ml.docker.tar"
    if out.is_file():
        return out
    tar, ctx = base_tar(workdir), context(workdir)
    with open(LOCK, "a") as lock:
        print(f"waiting for {LOCK} ...", file=sys.stderr)
        fcntl.flock(lock, fcntl.LOCK_EX)  # the engine fixtures see it held (lock_inherited)
        try:
            with run_engine(EngineSpec("docker-20.10", "20.10", "overlay2")) as eng:
                with tar.open("rb") as fh:
                    eng.docker("import", "-", BASE, stdin=fh.read(), timeout=600)
                eng.docker("build", "--progress=plain", "-t", TAG, str(ctx), timeout=1800)
                eng.docker("save", "-o", str(out.with_suffix(".part")), TAG, timeout=1800)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    out.with_suffix(".part").rename(out)
    return out


def build(workdir: Path) -> MlImage:
    archive = build_archive(workdir)
    layout = workdir / "ml.oci"
    if not (layout / "index.json").is_file():
        shutil.rmtree(layout, ignore_errors=True)
        copy = ["skopeo", "copy", "-q", "--dest-compress", "--dest-compress-format", "gzip"]
        _run([*copy, f"docker-archive:{archive}", f"oci:{layout}:ml"], timeout=3600)
    return MlImage(archive, layout, gzip_blobs(layout))


def gzip_blobs(layout: Path) -> list[Path]:
    index = json.loads((layout / "index.json").read_text())
    digest = index["manifests"][0]["digest"]
    manifest = json.loads((layout / "blobs" / digest.replace(":", "/")).read_text())
    return [
        layout / "blobs" / layer["digest"].replace(":", "/")
        for layer in manifest["layers"]
        if layer["mediaType"].endswith("gzip")
    ]


if __name__ == "__main__":
    image = build(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/layerscope-ml"))
    print(image)
    os.sync()
