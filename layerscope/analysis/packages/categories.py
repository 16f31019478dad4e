"""Categories that explain an image's size, one per visible byte, and the rules behind them.

Every regular file of the final filesystem lands in exactly one category; the first rule
that matches wins, in this order:

1. ``package-caches``: files only a package manager reads when installing again.
   pip / uv / poetry / pdm / conda caches (any ``.cache/{pip,uv,pypoetry,pdm,conda}``
   directory, ``.conda/pkgs``, and ``PREFIX/pkgs`` next to a ``PREFIX/conda-meta``),
   apt (``var/cache/apt``: downloaded ``.deb`` archives and ``*.bin`` caches;
   ``var/lib/apt/lists``: the index files), apk (``var/cache/apk``), dnf / yum / zypper
   (``var/cache/{dnf,yum,zypp}``), and downloaded wheel files (``*.whl``) left in the image
   after an install (``COPY wheels /tmp/wheels`` without a cleanup in the same step).
2. ``model-weights``: a file of at least ``MODEL_WEIGHTS_MIN`` bytes that no OS or conda
   package owns, named ``*.safetensors``, ``*.pt``, ``*.pth``, ``*.bin``, ``*.onnx``,
   ``*.gguf``, ``*.ggml``, ``*.ckpt``, ``*.h5`` or ``*.tflite``, or lying under a
   Hugging Face or torch hub cache (``.cache/huggingface``, ``.cache/torch``), whose blobs
   have no suffix. These belong in a volume or an artifact store, not in an image layer.
3. ``bytecode``: ``*.pyc`` and ``*.pyo`` files, whoever owns them.
4. ``tests-and-docs``: a ``tests``, ``test``, ``docs`` or ``doc`` directory anywhere below a
   ``site-packages`` or ``dist-packages`` directory; CPython's own test suite
   (``lib/pythonX.Y/test``); ``usr/share/{doc,man,info}`` and ``usr/local/share/{doc,man}``.
5. ``accelerator-libraries``: CUDA / ROCm shared libraries by file name (``libcudart``,
   ``libcublas``, ``libcudnn*``, ``libnccl``, ``libnvrtc``, ``libnvJitLink``,
   ``libtorch_cuda*``, ``libamdhip64``, ``librocblas``, ``libMIOpen`` ...), whoever ships
   them (torch bundles some), and anything under ``usr/local/cuda*``, ``opt/nvidia``,
   ``opt/rocm*``.
6. The owning package's category (``package_category``): ``build-toolchains`` or
   ``accelerator-libraries`` by package name, else ``python-packages`` for Python dists
   and conda packages, ``os-packages`` for deb, apk and rpm packages and a source-built
   CPython.
7. Files in no package: headers under ``usr/include`` or ``usr/local/include`` are
   ``build-toolchains``; files under the image's WorkingDir (when it is not ``/``) or a
   top-level ``app``, ``srv``, ``code``, ``workspace`` or ``project`` directory, or
   ``usr/src/app``, are ``app``; everything else is ``other``.

Package names (canonical, PEP 503 style for Python) count as:

* ``build-toolchains``: compilers, linkers, build tools and headers a running program never
  needs: deb/rpm/apk ``gcc*``, ``g++*``, ``cpp*``, ``gfortran*``, ``clang*``, ``llvm*``,
  ``lld*``, ``binutils*``, ``golang*``, ``rustc*``, ``cargo*`` (but not the ``gcc-N-base``
  and ``gcc-libs`` runtimes), ``make``, ``cmake``, ``ninja-build``, ``meson``,
  ``autoconf``, ``automake``, ``libtool``, ``pkg-config``/``pkgconf``,
  ``build-essential``, ``dpkg-dev``, ``bison``, ``flex``, ``m4``, ``patch``, ``swig``,
  ``nasm``, ``yasm``, ``ccache``, any ``*-dev``, ``*-devel``, ``*-headers`` or ``*-static``
  package, and the compilers' private libraries (``libasanN``, ``libtsanN``, ``liblsanN``,
  ``libubsanN``, ``libhwasanN``, ``libitmN``, ``libcc1-N``, ``libislN``, ``libmpcN``,
  ``libbinutils``, ``libctf*``, ``libgprofng*``); Python build-only dists ``cython``,
  ``pybind11``, ``scikit-build``, ``scikit-build-core``, ``meson``, ``meson-python``,
  ``ninja``, ``cmake``, ``maturin``, ``setuptools-rust``, ``setuptools-scm``, ``wheel``,
  ``hatchling``, ``flit-core``, ``poetry-core``, ``pdm-backend``.
* ``accelerator-libraries``: Python ``nvidia-*``, ``triton``, ``pytorch-triton*``,
  ``cupy-cuda*``, ``cupy-rocm*``, ``jax-cuda*``, ``tensorrt*``, ``onnxruntime-gpu``,
  ``cuda-python``, ``cuda-bindings``; OS and conda ``cuda*``, ``libcuda*``, ``libcudnn*``,
  ``libnccl*``, ``libcublas*``, ``libcufft*``, ``libcurand*``, ``libcusolver*``,
  ``libcusparse*``, ``libnpp*``, ``libnvjpeg*``, ``libnvinfer*``, ``libnvrtc*``,
  ``libnvjitlink*``, ``nvidia-*``, ``libnvidia-*``, ``tensorrt*``, ``cudnn``, ``nccl``,
  ``cudatoolkit``, ``rocm*``, ``hip*``, ``miopen*``, ``rocblas*``, ``rccl*``.
"""

from __future__ import annotations

import posixpath
import re
from itertools import pairwise

from layerscope.analysis.packages.common import canonical

PYTHON_PACKAGES, OS_PACKAGES, APP = "python-packages", "os-packages", "app"
CACHES, BYTECODE, TESTS_DOCS = "package-caches", "bytecode", "tests-and-docs"
TOOLCHAINS, ACCELERATORS, WEIGHTS, OTHER = "build-toolchains", "accelerator-libraries", "model-weights", "other"
NAMES = (PYTHON_PACKAGES, OS_PACKAGES, APP, CACHES, BYTECODE, TESTS_DOCS, TOOLCHAINS, ACCELERATORS, WEIGHTS, OTHER)

MODEL_WEIGHTS_MIN = 10_000_000
WEIGHT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin", ".onnx", ".gguf", ".ggml", ".ckpt", ".h5", ".tflite")
_TOOL_CACHES = frozenset({"pip", "uv", "pypoetry", "pdm", "conda"})
_WEIGHT_CACHES = frozenset({"huggingface", "torch"})
_OS_CACHES = ("var/cache/apt", "var/lib/apt/lists", "var/cache/apk", "var/cache/dnf", "var/cache/yum", "var/cache/zypp")
_DOCS = ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/local/share/doc", "usr/local/share/man")
_TEST_DIRS = frozenset({"tests", "test", "docs", "doc"})
_SITE_DIRS = frozenset({"site-packages", "dist-packages"})
_STDLIB = re.compile(r"^python\d+\.\d+$")
_ACCEL_DIRS = re.compile(r"^(usr/local/cuda[^/]*|opt/nvidia|opt/rocm[^/]*)(/|$)")
_ACCEL_LIB = re.compile(
    r"^lib(cudart|cublas(Lt)?|cufftw?|curand|cusolver(Mg)?|cusparse(Lt)?|cudnn[a-z_]*|nccl|nvrtc(-builtins)?|nvJitLink"
    r"|nvToolsExt|cupti|cufile[a-z_]*|nvjpeg|npp[a-z]*|torch_cuda[a-z_]*|c10_cuda|cuda|cudss|cutensor[a-zA-Z]*"
    r"|nvinfer[a-z_]*|nvonnxparser|amdhip64|rocblas|MIOpen|rccl|hipblas(lt)?)(-[0-9a-f]{8})?\.so"
)
_INCLUDES = ("usr/include/", "usr/local/include/")
_OS_CACHE_PREFIXES = tuple(root + "/" for root in _OS_CACHES)
_DOCS_PREFIXES = tuple(root + "/" for root in _DOCS)
_APP_TOPS = frozenset({"app", "srv", "code", "workspace", "project"})

_TOOL_OS = re.compile(
    r"^((gcc|g\+\+|cpp|gfortran|clang|llvm|lld|binutils|golang|rustc|cargo)(-.*)?"
    r"|make|cmake|cmake-data|ninja-build|meson|autoconf|automake|autotools-dev|libtool|libtool-bin|pkg-config"
    r"|pkgconf|pkgconf-bin|build-essential|dpkg-dev|bison|flex|m4|patch|swig|nasm|yasm|ccache"
    r"|.*-(dev|devel|headers|static)"
    r"|lib(asan|tsan|lsan|ubsan|hwasan|itm|isl|mpc)\d+|libcc1-\d+|libbinutils|libctf.*|libgprofng.*)$"
)
_TOOL_OS_RUNTIME = re.compile(r"^(gcc-\d+-base|gcc-libs|gcc-base)$")
_TOOL_PY = frozenset(
    {
        "cython",
        "pybind11",
        "scikit-build",
        "scikit-build-core",
        "meson",
        "meson-python",
        "ninja",
        "cmake",
        "maturin",
        "setuptools-rust",
        "setuptools-scm",
        "wheel",
        "hatchling",
        "flit-core",
        "poetry-core",
        "pdm-backend",
    }
)
_ACCEL_PY = re.compile(
    r"^(nvidia-.*|triton|pytorch-triton.*|cupy-cuda.*|cupy-rocm.*|jax-cuda.*|tensorrt.*|onnxruntime-gpu|cuda-python"
    r"|cuda-bindings)$"
)
_ACCEL_OS = re.compile(
    r"^(cuda|libcuda|libcudnn|libnccl|libcublas|libcufft|libcurand|libcusolver|libcusparse|libnpp|libnvjpeg|libnvinfer"
    r"|libnvrtc|libnvjitlink|nvidia|libnvidia|tensorrt|cudnn|nccl|cudatoolkit|rocm|hip|miopen|rocblas|rccl)([-_.0-9].*)?$"
)


# The category of a package by its name, one function per kind of ecosystem: each entry of
# ECOSYSTEMS (ecosystems.py) names its own, and package_category there looks it up.
def python_package_category(name: str) -> str:
    canon = canonical(name)
    if canon in _TOOL_PY:
        return TOOLCHAINS
    return ACCELERATORS if _ACCEL_PY.match(canon) else PYTHON_PACKAGES


def _os_named(name: str) -> str | None:
    lower = name.lower()
    if _ACCEL_OS.match(lower):
        return ACCELERATORS
    if _TOOL_OS.match(lower) and not _TOOL_OS_RUNTIME.match(lower):
        return TOOLCHAINS
    return None


def os_package_category(name: str) -> str:
    """A distribution's package (dpkg, rpm, apk)."""
    return _os_named(name) or OS_PACKAGES


def conda_package_category(name: str) -> str:
    """conda ships native libraries under the distributions' names, for Python environments."""
    return _os_named(name) or PYTHON_PACKAGES


class Classifier:
    """Category and an anchor path (where the bytes are, for `paths`) of each file."""

    def __init__(self, conda_prefixes: set[str], workdir: str) -> None:
        self._conda_pkgs = {f"{p}/pkgs" if p else "pkgs" for p in conda_prefixes}
        self._workdir = workdir.strip("/")

    def classify(self, path: str, size: int, owner_category: str | None, owner_rank: int | None) -> tuple[str, str]:
        parts = path.split("/")
        cache = self._cache(path, parts)
        if cache:
            return CACHES, cache
        if (owner_rank is None or owner_rank >= 2) and size >= MODEL_WEIGHTS_MIN and self._weights(path, parts):
            return WEIGHTS, path
        if path.endswith((".pyc", ".pyo")):
            return BYTECODE, (_site_anchor(parts) if "-packages/" in path else None) or _anchor(parts)
        docs = _tests_docs(path, parts)
        if docs:
            return TESTS_DOCS, docs
        accel = _ACCEL_DIRS.match(path)
        if accel:
            return ACCELERATORS, accel.group(1)
        if _ACCEL_LIB.match(parts[-1]):
            return ACCELERATORS, posixpath.dirname(path)
        if owner_category is not None:
            return owner_category, (_site_anchor(parts) if "-packages/" in path else None) or _anchor(parts)
        if path.startswith(_INCLUDES):
            return TOOLCHAINS, "/".join(parts[:3])
        if self._workdir and (path == self._workdir or path.startswith(self._workdir + "/")):
            return APP, self._workdir
        if parts[0] in _APP_TOPS or path.startswith("usr/src/app/"):
            return APP, parts[0] if parts[0] in _APP_TOPS else "usr/src/app"
        return OTHER, _anchor(parts)

    def _cache(self, path: str, parts: list[str]) -> str | None:
        # The loop only matches a ".cache/" or ".conda/" component: most paths skip it.
        for i, comp in enumerate(parts[:-1] if ".cache/" in path or ".conda/" in path else ()):
            if comp == ".cache" and parts[i + 1] in _TOOL_CACHES and i + 2 < len(parts):
                return "/".join(parts[: i + 2])
            if comp == ".conda" and parts[i + 1] == "pkgs" and i + 2 < len(parts):
                return "/".join(parts[: i + 2])
        if path.startswith(_OS_CACHE_PREFIXES):
            for root in _OS_CACHES:
                if path.startswith(root + "/"):
                    return root
        if path.endswith(".whl"):
            return "/".join(parts[:-1]) or parts[0]
        for pkgs in self._conda_pkgs:
            if path.startswith(pkgs + "/"):
                return pkgs
        return None

    @staticmethod
    def _weights(path: str, parts: list[str]) -> bool:
        if path.lower().endswith(WEIGHT_SUFFIXES):
            return True
        return any(c == ".cache" and n in _WEIGHT_CACHES for c, n in pairwise(parts))


class RecordingClassifier(Classifier):
    """A classifier that notes the category of each file it is asked about (the per-layer
    split of categories is recovered from it: analysis/state.py)."""

    def __init__(self, conda_prefixes: set[str], workdir: str) -> None:
        super().__init__(conda_prefixes, workdir)
        self.seen: dict[str, str] = {}

    def classify(self, path: str, size: int, owner_category: str | None, owner_rank: int | None) -> tuple[str, str]:
        category, anchor = super().classify(path, size, owner_category, owner_rank)
        self.seen[path] = category
        return category, anchor


def _tests_docs(path: str, parts: list[str]) -> str | None:
    if path.startswith(_DOCS_PREFIXES):
        for root in _DOCS:
            if path.startswith(root + "/"):
                return root
    site = next((i for i, c in enumerate(parts[:-1]) if c in _SITE_DIRS), None) if "-packages/" in path else None
    if site is not None:
        for j in range(site + 1, len(parts) - 1):
            if parts[j] in _TEST_DIRS:
                return "/".join(parts[: j + 1])
        return None
    for i, comp in enumerate(parts[:-2] if "/test/" in path else ()):
        if comp == "lib" and _STDLIB.match(parts[i + 1]) and parts[i + 2] == "test" and i + 3 < len(parts):
            return "/".join(parts[: i + 3])
    return None


def _site_anchor(parts: list[str]) -> str | None:
    """`.../site-packages/<top>`: where a Python file's bytes are, grouped by import name."""
    for i, comp in enumerate(parts[:-1]):
        if comp in _SITE_DIRS:
            return "/".join(parts[: i + 2]) if i + 2 < len(parts) else "/".join(parts[: i + 1])
    return None


def _anchor(parts: list[str]) -> str:
    """A file's directory, at most three levels deep: enough to say where, few enough to sum."""
    return "/".join(parts[: min(3, len(parts) - 1)]) or parts[0]
