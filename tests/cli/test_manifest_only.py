"""`inspect --manifest-only` for every local source: compressed sizes and history from the
manifest and config alone, and the output says which figures are therefore unknown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.factory import ImageSpec, d, f, layer_tar, wh

SPEC = ImageSpec([layer_tar([d("app"), f("app/a", b"x" * 5000)]), layer_tar([wh("app/a"), f("app/b", b"yy")])])
CONTENT_FIELDS = {"layers[].size", "layers[].files", "totals.size", "totals.final_size", "totals.wasted_bytes",
                  "totals.efficiency", "totals.files", "waste", "dive"}  # fmt: skip


def make(kind: str, tmp_path: Path) -> str:
    if kind == "docker-archive":
        return "docker-archive:" + SPEC.docker_archive(str(tmp_path / "img.tar"))
    if kind == "oci":
        return "oci:" + SPEC.oci_dir(str(tmp_path / "layout"), "zstd")
    if kind == "oci-archive":
        return "oci-archive:" + SPEC.oci_archive(str(tmp_path / "img.oci.tar"))
    return SPEC.docker_archive(str(tmp_path / "bare.tar"))  # a bare path, sniffed


@pytest.mark.parametrize("kind", ["docker-archive", "oci", "oci-archive", "path"])
def test_manifest_only_json(kind: str, tmp_path: Path, run_cli: Any) -> None:
    ref = make(kind, tmp_path)
    r = run_cli("inspect", "--json", "--manifest-only", ref)
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    full = json.loads(run_cli("inspect", "--json", ref).out)
    assert doc["manifest_only"] is True and set(doc["unknown"]) == CONTENT_FIELDS
    assert full["unknown"] == []
    assert [layer["size"] for layer in doc["layers"]] == [None, None]
    assert [layer["files"] for layer in doc["layers"]] == [None, None]
    assert [layer["compressed_size"] for layer in doc["layers"]] == [
        layer["compressed_size"] for layer in full["layers"]
    ]
    assert doc["totals"]["compressed_size"] == full["totals"]["compressed_size"] is not None
    for key in ("size", "final_size", "wasted_bytes", "efficiency", "files"):
        assert doc["totals"][key] is None
    assert doc["waste"] == [] and doc["dive"] is None
    assert doc["history"] == full["history"] and doc["image_id"] == full["image_id"]
    assert any("manifest-only" in n and "unknown" in n for n in doc["notes"])


def test_manifest_only_text(tmp_path: Path, run_cli: Any) -> None:
    r = run_cli("inspect", "--manifest-only", make("oci", tmp_path))
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    unknown = [line for line in lines if line.startswith("Unknown")]
    assert len(unknown) == 1
    for words in ("uncompressed layer sizes", "file counts", "wasted bytes", "efficiency", "dive's figures"):
        assert words in unknown[0]
    size = next(line for line in lines if line.startswith("Size"))
    assert "2 layers" in size and "uncompressed sizes unknown" in size
    stored = next(line for line in lines if line.startswith("Stored"))
    assert "unknown" not in stored  # compressed sizes come from the manifest
    assert not any(line.startswith(("Final fs", "Waste", "dive ")) for line in lines)
