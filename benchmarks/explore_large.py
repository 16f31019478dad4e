"""How long `layerscope explore` takes on a 100k-file image: the parts a person waits for.

    python benchmarks/explore_large.py [--files 100000]

Builds the image in a temporary directory (factory + tarfile), then times: reading it,
building each kind of Files view, filtering, and a headless app from start to its first
files tree. Tests assert laziness, never these numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from layerscope import api
from layerscope.tui import make_app
from layerscope.tui.fsmodel import FsModel
from layerscope.tui.fsview import CHANGES, STACKED, visible_paths
from tests.support.factory import ImageSpec, f, layer_tar, wh


def big_layer(files: int, per_dir: int = 1000) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for i in range(files):
            ti = tarfile.TarInfo(f"data/d{i // per_dir:04}/f{i % per_dir:04}")
            ti.size = 1
            t.addfile(ti, io.BytesIO(b"x"))
    return buf.getvalue()


def timed(label: str, fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn()
    print(f"{label:<44} {time.perf_counter() - start:7.3f} s")
    return result


async def first_tree(ref: str) -> None:
    app = make_app(ref)
    async with app.run_test() as pilot:
        while not app.load_done.is_set():
            await pilot.pause(0.01)
        for _ in range(200):
            await pilot.pause(0.01)
            await app.workers.wait_for_complete()
            if "building" not in str(app.screen.query_one("#files-bar").render()):
                break


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        spec = ImageSpec([big_layer(args.files), layer_tar([wh("data/d0001"), f("data/d0002/f0000", "yy")])])
        archive = spec.docker_archive(str(Path(tmp) / "large.tar"))
        ref = f"docker-archive:{archive}"
        analysis = timed(f"api.analyze ({args.files:,} files)", lambda: api.analyze(ref))
        model = timed("FsModel (path index)", lambda: FsModel([la.record for la in analysis.image.layers]))
        view = timed("view L0 filesystem", lambda: model.view(0, STACKED))
        timed("view L1 filesystem (one more layer)", lambda: model.view(1, STACKED))
        timed("view L1 changes", lambda: model.view(1, CHANGES))
        timed("view L0 changes (restack from the bottom)", lambda: model.view(0, CHANGES))
        timed("filter 'f0999' over L0", lambda: visible_paths(view, "f0999"))
        timed("only changes over L1", lambda: visible_paths(model.view(1, STACKED), only_changes=True))
        timed("touches(path), first call builds the index", lambda: model.touches("data/d0001/f0001"))
        timed("headless app: start to first files tree", lambda: asyncio.run(first_tree(ref)))


if __name__ == "__main__":
    main()
