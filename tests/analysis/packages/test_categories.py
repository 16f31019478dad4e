"""Category rules (categories.py) and the savings they lead to, on an image with a real
dpkg database, caches, weights, app code and accelerator libraries."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerscope.analysis.packages.categories import Classifier
from layerscope.analysis.packages.ecosystems import package_category
from layerscope.api import analyze
from tests.support import debs
from tests.support.factory import ImageSpec, d, f, layer_tar
from tests.support.pyinstall import layer_entries, snapshot


@pytest.mark.parametrize(
    ("ecosystem", "name", "category"),
    [
        ("deb", "gcc-12", "build-toolchains"),
        ("deb", "cpp-12", "build-toolchains"),
        ("deb", "libc6-dev", "build-toolchains"),
        ("deb", "linux-libc-dev", "build-toolchains"),
        ("deb", "build-essential", "build-toolchains"),
        ("deb", "libasan8", "build-toolchains"),
        ("deb", "gcc-12-base", "os-packages"),
        ("deb", "libgcc-s1", "os-packages"),
        ("deb", "libc6", "os-packages"),
        ("rpm", "glibc-devel", "build-toolchains"),
        ("apk", "musl-dev", "build-toolchains"),
        ("deb", "libcudnn8", "accelerator-libraries"),
        ("deb", "cuda-cudart-12-4", "accelerator-libraries"),
        ("conda", "cudatoolkit", "accelerator-libraries"),
        ("conda", "numpy", "python-packages"),
        ("python", "nvidia-cublas-cu12", "accelerator-libraries"),
        ("python", "nvidia_cudnn_cu12", "accelerator-libraries"),
        ("python", "triton", "accelerator-libraries"),
        ("python", "Cython", "build-toolchains"),
        ("python", "wheel", "build-toolchains"),
        ("python", "torch", "python-packages"),
        ("python", "setuptools", "python-packages"),
    ],
)
def test_package_categories(ecosystem: str, name: str, category: str) -> None:
    assert package_category(ecosystem, name) == category


SP = "usr/lib/x/site-packages/"
HF = "root/.cache/huggingface/hub/m/blobs/abc"  # hub blobs have no suffix


@pytest.mark.parametrize(
    ("path", "size", "owner", "expected"),
    [
        ("root/.cache/pip/http-v2/a/b/c", 10, None, ("package-caches", "root/.cache/pip")),
        ("home/u/.cache/uv/wheels/x.whl", 10, None, ("package-caches", "home/u/.cache/uv")),
        ("var/lib/apt/lists/deb_dists_Packages.lz4", 10, None, ("package-caches", "var/lib/apt/lists")),
        ("var/cache/apt/archives/x.deb", 10, None, ("package-caches", "var/cache/apt")),
        ("opt/conda/pkgs/numpy-1.0/info/x", 10, None, ("package-caches", "opt/conda/pkgs")),
        ("models/m.safetensors", 10_000_000, None, ("model-weights", "models/m.safetensors")),
        ("models/m.safetensors", 9_999_999, None, ("other", "models")),
        (HF, 20_000_000, None, ("model-weights", HF)),
        (SP + "pkg/__pycache__/m.cpython-311.pyc", 10, "python-packages", ("bytecode", SP + "pkg")),
        (SP + "pkg/tests/test_a.py", 10, "python-packages", ("tests-and-docs", SP + "pkg/tests")),
        ("usr/local/lib/python3.11/test/test_os.py", 10, None, ("tests-and-docs", "usr/local/lib/python3.11/test")),
        ("usr/share/doc/libc6/copyright", 10, "os-packages", ("tests-and-docs", "usr/share/doc")),
        (SP + "torch/lib/libcudnn_ops.so.9", 10, "python-packages", ("accelerator-libraries", SP + "torch/lib")),
        ("usr/local/cuda-12.4/lib64/libfoo.so", 10, None, ("accelerator-libraries", "usr/local/cuda-12.4")),
        ("usr/lib/x86_64-linux-gnu/libcurl.so.4", 10, "os-packages", ("os-packages", "usr/lib/x86_64-linux-gnu")),
        ("usr/local/include/foo.h", 10, None, ("build-toolchains", "usr/local/include")),
        ("srv/api/main.py", 10, None, ("app", "srv")),
        ("work/dir/main.py", 10, None, ("app", "work/dir")),
        ("etc/hostname", 10, None, ("other", "etc")),
    ],
)  # fmt: skip
def test_file_rules(path: str, size: int, owner: str | None, expected: tuple[str, str]) -> None:
    c = Classifier({"opt/conda"}, "/work/dir")
    rank = None if owner is None else (2 if owner == "python-packages" else 0)
    assert c.classify(path, size, owner, rank) == expected


@pytest.mark.skipif(not debs.available(), reason="dpkg and dpkg-deb are needed")
def test_categories_and_savings_on_an_image(tmp_path: Path, run_cli) -> None:
    out = tmp_path / "debs"
    out.mkdir()
    root = debs.DpkgRoot.create(tmp_path / "root")
    root.install(
        debs.build_deb(
            out, "gcc-12", "12.2.0-14", {"/usr/bin/gcc-12": b"g" * 40_000, "/usr/share/doc/gcc-12/c": b"d" * 500}
        ),
        debs.build_deb(out, "libc6-dev", "2.36-9", {"/usr/include/stdio.h": b"h" * 7_000}),
        debs.build_deb(out, "gcc-12-base", "12.2.0-14", {"/usr/share/gcc/python/x.py": b"r" * 300}),
    )
    base = layer_tar(layer_entries(snapshot(root.path), ""))
    extra = [d("root"), d("root/.cache"), d("root/.cache/pip"), f("root/.cache/pip/selfcheck.json", b"s" * 1_000)]
    extra += [d("var/lib/apt"), d("var/lib/apt/lists"), f("var/lib/apt/lists/x_Packages", b"p" * 2_000)]
    extra += [d("models"), f("models/llm.gguf", b"\0" * 10_000_000), d("app"), f("app/main.py", b"a" * 123)]
    extra += [d("usr/local"), d("usr/local/cuda-12"), f("usr/local/cuda-12/libcudart.so.12", b"c" * 5_000)]
    extra += [d("usr/local/include"), f("usr/local/include/mine.h", b"i" * 77)]
    spec = ImageSpec([base, layer_tar(extra)], config_extra={"config": {"WorkingDir": "/app"}})
    path = spec.docker_archive(str(tmp_path / "img.tar"))
    a = analyze(path)
    cats = {c.name: c.bytes for c in a.packages.categories}
    assert cats["package-caches"] == 3_000
    assert cats["model-weights"] == 10_000_000
    assert cats["app"] == 123
    assert cats["accelerator-libraries"] == 5_000
    assert cats["build-toolchains"] == 40_000 + 7_000 + 77
    assert cats["tests-and-docs"] == 500
    assert cats["os-packages"] == 300  # gcc-12-base is a runtime
    assert sum(cats.values()) == a.totals.final_size
    saved = {s.what: s for s in a.packages.savings}
    tools = saved["build-toolchains"]
    assert tools.bytes == 40_500 + 7_000 + 77  # whole packages (their docs too) plus headers in no package
    assert "deb:gcc-12 12.2.0-14 (40.5 kB)" in tools.evidence
    assert saved["package manager caches"].bytes == 3_000
    assert saved["model weights"].evidence == ("/models/llm.gguf (10.0 MB)",)
    assert a.packages.savings[0].what == "model weights"  # largest first
    r = run_cli("packages", path)
    assert r.code == 0, r.err
    assert "a multi-stage build that leaves out build-toolchains would save ≈ 47.6 kB" in r.out
    assert "why: 2 package(s) that only compile, link or build (gcc-12, libc6-dev)" in r.out
