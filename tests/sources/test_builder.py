"""What the builder puts together must fit a saved analysis: layers whose entries claim more
than an int64 between them are refused in one line, and a path no engine could extract is
refused before its parents are stacked (under the sandbox's memory ceiling)."""

from __future__ import annotations

from pathlib import Path

from layerscope.units import MAX_SIZE
from tests.support.factory import ImageSpec
from tests.support.hostile import Sandbox, assert_refused
from tests.support.tarcraft import end, entry, header, pax


def test_layers_claiming_more_than_an_int64_between_them_are_refused(tmp_path: Path) -> None:
    def claiming(name: str) -> bytes:
        return pax({"size": str(MAX_SIZE)}) + header(name, typeflag=b"5") + end()

    image = ImageSpec([claiming("d1/"), claiming("d2/")]).docker_archive(str(tmp_path / "img.tar"))
    box = Sandbox(tmp_path / "box")
    for command in ("inspect", "packages", "check"):
        assert_refused(box.run(command, image), "the image's layers claim more than")


def test_a_path_of_fifty_thousand_components_is_refused_within_the_memory_ceiling(tmp_path: Path) -> None:
    """It had taken 3 GB and ended in a MemoryError (exit 3): 50,000 implied parent directories."""
    layer = pax({"path": "/".join(["d"] * 50_000)}) + entry("x", b"1") + end()
    image = ImageSpec([layer]).docker_archive(str(tmp_path / "img.tar"))
    box = Sandbox(tmp_path / "box")
    for command in ("inspect", "packages"):
        assert_refused(box.run(command, image), "path of 99999 characters")
