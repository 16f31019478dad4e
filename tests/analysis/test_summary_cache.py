"""The summary cache answers only with what a saved analysis may hold: an entry the loader
refuses (written by other code, or damaged) is a miss, read again and rewritten, never the
run's failure."""

from __future__ import annotations

import json
from pathlib import Path

from layerscope.layers.layercache import read_entry, write_entry
from tests.support.factory import ImageSpec, d, f, layer_tar
from tests.support.hostile import Sandbox, assert_accepted


def test_an_entry_the_loader_refuses_is_a_miss(tmp_path: Path) -> None:
    image = ImageSpec([layer_tar([d("app"), f("app/a", b"a" * 100)])]).docker_archive(str(tmp_path / "img.tar"))
    box = Sandbox(tmp_path / "box")
    first = assert_accepted(box.run("inspect", "--json", image))
    entries = list((box.cache).glob("images-v*/*/*.json.zst"))
    assert len(entries) == 1
    doc = read_entry(str(entries[0]))
    assert doc is not None
    doc["summary"]["layers"][0]["compressed_size"] = 2**64  # out of any saved analysis' range
    write_entry(str(entries[0]), doc)

    again = assert_accepted(box.run("inspect", "--json", image))
    assert json.loads(again) == json.loads(first)
    rewritten = read_entry(str(entries[0]))
    assert rewritten is not None and rewritten["summary"]["layers"][0]["compressed_size"] == 10240
