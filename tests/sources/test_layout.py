"""An OCI layout's descriptors against the blobs they name: a size that is not the blob's
is refused (image-spec descriptor.md), as the registry path refuses it, whether the layer
is read or answered from the cache; a size past an int64 is a malformed descriptor."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.factory import ImageSpec, d, f, layer_tar
from tests.support.hostile import Sandbox, assert_accepted, assert_refused
from tests.support.layouts import OciLayout

SPEC = ImageSpec([layer_tar([d("etc"), f("etc/a", b"hello")])])
Edit = Callable[[dict[str, Any]], None]


def _layout(edit: Edit) -> OciLayout:
    layout = OciLayout()
    layout.entries.append(layout.add_image(SPEC, edit=edit))
    return layout


def _layer_size(value: int) -> Edit:
    def edit(m: dict[str, Any]) -> None:
        m["layers"][0]["size"] = value

    return edit


def _config_size(value: int) -> Edit:
    def edit(m: dict[str, Any]) -> None:
        m["config"]["size"] = value

    return edit


def _refs(tmp_path: Path, edit: Edit) -> list[str]:
    layout = _layout(edit)
    return [
        f"oci:{layout.write_dir(str(tmp_path / 'dir'))}",
        f"oci-archive:{layout.write_archive(str(tmp_path / 'a.tar'))}",
    ]


@pytest.mark.parametrize(
    ("edit", "expect"),
    [
        (_layer_size(5), "layer 0 (sha256:"),
        (_layer_size(10**12), "its descriptor says 1000000000000"),
        (_config_size(3), "image config is"),
        (_config_size(10**15), "its descriptor says 1000000000000000"),
        (_layer_size(2**63), "size 9223372036854775808 is not a byte count"),
        (_layer_size(2**64), "is not a byte count"),
    ],
)
def test_a_size_that_is_not_the_blobs_is_refused(tmp_path: Path, edit: Edit, expect: str) -> None:
    box = Sandbox(tmp_path / "box")
    for ref in _refs(tmp_path, edit):
        for command in ("inspect", "packages"):
            assert_refused(box.run(command, ref), expect)


def test_a_wrong_layer_size_is_refused_when_the_layer_is_cached(tmp_path: Path) -> None:
    """The layer cache knows the blob by its file; the descriptor is checked all the same."""
    box = Sandbox(tmp_path / "box")
    layout = _layout(lambda m: None)
    root = Path(layout.write_dir(str(tmp_path / "dir")))
    assert '"size": 5' in assert_accepted(box.run("inspect", "--json", f"oci:{root}"))
    index = json.loads((root / "index.json").read_text())
    manifest_path = root / "blobs" / "sha256" / index["manifests"][0]["digest"].split(":")[1]
    manifest = json.loads(manifest_path.read_bytes())
    _layer_size(7)(manifest)
    fixed = OciLayout(blobs=dict(layout.blobs))
    fixed.entries.append(
        {"mediaType": index["manifests"][0]["mediaType"], **fixed.add_blob(json.dumps(manifest).encode())}
    )
    fixed.write_dir(str(root))
    assert_refused(box.run("inspect", f"oci:{root}"), "its descriptor says 7")
