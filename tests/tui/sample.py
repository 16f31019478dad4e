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


def sample_spec() -> ImageSpec:
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


def sample_analysis(directory: Path) -> Analysis:
    """Read `directory`/sample.tar through the real API, from a relative reference so the
    header is the same every run."""
    here = os.getcwd()
    os.chdir(directory)
    try:
        return api.analyze("docker-archive:sample.tar")
    finally:
        os.chdir(here)
