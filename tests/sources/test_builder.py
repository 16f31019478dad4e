"""What the builder puts together must fit a saved analysis: layers whose entries claim more
than an int64 between them are refused in one line, and a path no engine could extract is
refused before its parents are stacked (under the sandbox's memory ceiling); package
metadata kept for attribution has a budget per layer and per image."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest

from layerscope.errors import UnsafeInputError
from layerscope.layers import capture
from layerscope.layers.capture import MAX_CAPTURE, MAX_CAPTURE_LAYER
from layerscope.units import MAX_SIZE
from tests.support.factory import MEDIA, ImageSpec
from tests.support.hostile import Sandbox, assert_refused
from tests.support.layouts import OCI_CONFIG, OCI_MANIFEST, OciLayout
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


def _dpkg_lists(count: int, size: int) -> bytes:
    """A gzip layer of `count` dpkg `.list` files of `size` bytes (whole blocks), each kept whole by the walk
    (capture.py), as gzip members: the content is compressed once (46x), not `count` times."""
    rng = random.Random(1)
    unit = bytearray(b"a" * 150)
    content = bytearray()
    while len(content) < size:
        unit[0] = rng.randrange(256)
        content += unit
    packed = gzip.compress(bytes(content[:size]), 6)
    parts = [gzip.compress(header("var/lib/dpkg/info/", typeflag=b"5"))]
    for i in range(count):
        parts += [gzip.compress(header(f"var/lib/dpkg/info/p{i}.list", size=size)), packed]
    return b"".join([*parts, gzip.compress(end())])


def _gzip_image(root: Path, blobs: list[bytes]) -> str:
    layout = OciLayout()
    spec = ImageSpec([b""] * len(blobs))  # diff_ids are not checked without --verify
    config = layout.add_blob(spec.config_bytes())
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, **config},
        "layers": [{"mediaType": MEDIA["gzip"], **layout.add_blob(b)} for b in blobs],
    }
    layout.entries.append({"mediaType": OCI_MANIFEST, **layout.add_blob(json.dumps(manifest).encode())})
    return f"oci:{layout.write_dir(str(root))}"


def test_a_layer_of_hundreds_of_8_mib_package_lists_is_refused(tmp_path: Path) -> None:
    """65 files of 8 MiB, 12 MB of gzip: 150 of them had ended in a MemoryError (exit 3)."""
    ref = _gzip_image(tmp_path / "oci", [_dpkg_lists(65, MAX_CAPTURE)])
    r = Sandbox(tmp_path / "box").run("inspect", ref, memory=2 << 30)
    assert_refused(r, f"more than {MAX_CAPTURE_LAYER >> 20} MiB of package metadata")


def test_the_image_keeps_at_most_its_metadata_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three layers each under the layer's budget, over the image's together (the budget made
    small here so that real layers of kilobytes cross it)."""
    from layerscope.api import analyze

    ref = _gzip_image(tmp_path / "oci", [_dpkg_lists(2, 40_960), _dpkg_lists(3, 40_960), _dpkg_lists(1, 40_960)])
    assert analyze(ref, use_cache=False).image.layers[1].files == 3
    monkeypatch.setattr(capture, "MAX_CAPTURE_IMAGE", 200_000)
    with pytest.raises(UnsafeInputError, match="the image's layers have more than 0 MiB of package metadata"):
        analyze(ref, use_cache=False)
