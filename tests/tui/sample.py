"""A small image with every kind of change the explore views mark: added, modified (content
and mode), removed (a whiteout and an opaque directory), a symlink, a hardlink, waste."""

from __future__ import annotations

import os
from pathlib import Path

from layerscope import api
from layerscope.model import Analysis
from tests.support.factory import Entry, ImageSpec, d, f, hard, layer_tar, opq, sym, wh

SITE = "usr/lib/python3/site-packages"

HISTORY = [
    {"created_by": "ADD rootfs.tar / # buildkit", "created": "2024-01-01T00:00:00Z"},
    {"created_by": "ENV PATH=/usr/bin", "created": "2024-01-01T00:00:01Z", "empty_layer": True},
    {"created_by": "RUN /bin/sh -c pip install numpy requests # buildkit", "created": "2024-01-01T00:01:00Z"},
    {"created_by": "RUN /bin/sh -c rm -rf /root/.cache && useradd app # buildkit", "created": "2024-01-01T00:02:00Z"},
    {"created_by": "COPY app/ /app/ # buildkit", "created": "2024-01-01T00:03:00Z"},
]


DPKG_STATUS = """Package: dash
Status: install ok installed
Architecture: amd64
Version: 0.5.12-2

Package: libc6
Status: install ok installed
Architecture: amd64
Version: 2.36-9
"""


def dist_info(name: str, version: str, files: list[str]) -> list[Entry]:
    """A pip-installed dist's metadata: METADATA and a RECORD listing its files."""
    meta = f"{name}-{version}.dist-info"
    record = "".join(f"{p},,\n" for p in [*files, f"{meta}/METADATA", f"{meta}/RECORD"])
    return [
        d(f"{SITE}/{meta}"),
        f(f"{SITE}/{meta}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"),
        f(f"{SITE}/{meta}/RECORD", record),
    ]


def sample_spec(packages: bool = False) -> ImageSpec:
    """The sample; with `packages`, also a dpkg database in the base layer and pip's
    dist-info in the pip layer, so that package attribution finds dash, libc6, numpy, requests."""
    base: list[Entry] = [
        d("bin"),
        f("bin/sh", b"s" * 2000, mode=0o755),
        d("etc"),
        f("etc/os-release", b"ID=test\n"),
        f("etc/passwd", b"root:x:0:0::/root:/bin/sh\n"),
        d("usr"),
        d("usr/bin"),
        f("usr/bin/python3", b"p" * 5000, mode=0o755),
        sym("usr/bin/python", "python3"),
        d("usr/lib"),
        f("usr/lib/libc.so.6", b"c" * 8000, mode=0o755),
        d("root"),
    ]
    if packages:
        base += [
            d("var"),
            d("var/lib"),
            d("var/lib/dpkg"),
            d("var/lib/dpkg/info"),
            f("var/lib/dpkg/status", DPKG_STATUS),
            f("var/lib/dpkg/info/dash.list", "/.\n/bin\n/bin/sh\n"),
            f("var/lib/dpkg/info/libc6.list", "/.\n/usr\n/usr/lib\n/usr/lib/libc.so.6\n"),
        ]
    pip = [
        d("usr/lib/python3"),
        d(SITE),
        d(f"{SITE}/numpy"),
        f(f"{SITE}/numpy/__init__.py", b"n" * 3000),
        f(f"{SITE}/numpy/core.so", b"N" * 20000, mode=0o755),
        d(f"{SITE}/requests"),
        f(f"{SITE}/requests/__init__.py", b"r" * 500),
        f(f"{SITE}/requests/old.py", b"o" * 700),
        d("root/.cache"),
        d("root/.cache/pip"),
        f("root/.cache/pip/wheel-1.whl", b"w" * 9000),
    ]
    if packages:
        pip += dist_info("numpy", "1.26.0", ["numpy/__init__.py", "numpy/core.so"])
        pip += dist_info("requests", "2.31.0", ["requests/__init__.py", "requests/old.py"])
    cleanup = [
        wh("root/.cache"),
        d("etc"),
        f("etc/passwd", b"root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n"),
        f("bin/sh", b"s" * 2000, mode=0o700),
        d(f"{SITE}/requests"),
        opq(f"{SITE}/requests"),
        f(f"{SITE}/requests/__init__.py", b"R" * 600),
    ]
    app = [
        d("app", mode=0o755),
        Entry("app/main.py", b"print('hi')\n" * 10, mode=0o644, uid=1000, gid=1000),
        hard("app/run.py", "app/main.py"),
    ]
    return ImageSpec([layer_tar(x) for x in (base, pip, cleanup, app)], history=HISTORY)


def sample_analysis(directory: Path, name: str = "sample.tar") -> Analysis:
    """Read `directory`/`name` through the real API, from a relative reference so the
    header is the same every run."""
    here = os.getcwd()
    os.chdir(directory)
    try:
        return api.analyze(f"docker-archive:{name}")
    finally:
        os.chdir(here)


# The Dockerfile the sample's history records, and a context for it (explore --dockerfile).
DOCKERFILE = """FROM scratch
ADD rootfs.tar /
ENV PATH=/usr/bin
RUN pip install numpy requests
RUN rm -rf /root/.cache && useradd app
COPY app/ /app/
"""


def write_build(directory: Path) -> None:
    """`directory`/Dockerfile and its context: rootfs.tar, app/main.py, app/run.py, and an ignored notes.txt."""
    (directory / "Dockerfile").write_text(DOCKERFILE)
    (directory / "rootfs.tar").write_bytes(b"\0" * 1024)
    (directory / "app").mkdir()
    (directory / "app" / "main.py").write_text("print('hi')\n" * 10)
    (directory / "app" / "run.py").write_text("print('hi')\n" * 10)
    (directory / "notes.txt").write_text("not part of the image\n")
    (directory / ".dockerignore").write_text("notes.txt\n")
