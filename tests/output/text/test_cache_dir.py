"""`layerscope cache-dir`'s text (output/text/cache_dir.py) says what its JSON says, on a real
per-layer cache filled by reading an image."""

from __future__ import annotations

import json

from layerscope.units import fmt_size
from tests.support.factory import ImageSpec, f, layer_tar


def test_the_text_and_the_json_agree_before_and_after_a_prune(tmp_path, run_cli):
    env = {"LAYERSCOPE_CACHE_DIR": str(tmp_path / "cache")}
    path = ImageSpec([layer_tar([f("a", b"1" * 5000)]), layer_tar([f("b", b"2" * 10)])]).docker_archive(
        str(tmp_path / "img.tar")
    )
    assert run_cli("inspect", path, env=env).code == 0
    doc = json.loads(run_cli("cache-dir", "--json", env=env).out)
    assert doc["entries"] > 0
    r = run_cli("cache-dir", env=env)
    assert r.code == 0, r.err
    assert r.out.splitlines() == [doc["path"], f"{doc['entries']} entries, {fmt_size(doc['bytes'])}"]

    r = run_cli("cache-dir", "--prune", "--max-size", "0", env=env)
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[:2] == [doc["path"], f"0 entries, {fmt_size(0)}"]
    assert lines[2] == f"pruned {doc['entries']} entries, freed {fmt_size(doc['bytes'])}"
