"""Text outputs name the blob bytes honestly: a `docker save` archive keeps plain tars ("stored uncompressed"),
an OCI archive keeps gzipped blobs ("compressed"). Same image, both sources (sample_images/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from layerscope.units import fmt_size

SAMPLES = Path(__file__).resolve().parents[3] / "sample_images"
CASES = [("slim.docker.tar", "stored uncompressed", "blob size (stored uncompressed)"),
         ("slim.oci.tar", "compressed", "compressed size")]  # fmt: skip


@pytest.mark.parametrize(("name", "word", "what"), CASES)
def test_inspect_and_check_say_which_bytes(tmp_path, run_cli, name, word, what) -> None:
    ref = str(SAMPLES / name)
    r = run_cli("inspect", ref)
    assert r.code == 0, r.err
    stored = next(line for line in r.out.splitlines() if line.startswith("Stored "))
    assert ("compressed, as stored or pulled" in stored) == (word == "compressed")
    assert ("this source keeps layers uncompressed" in stored) == (word != "compressed")
    doc = json.loads(run_cli("inspect", ref, "--json").out)
    comp = doc["totals"]["compressed_size"]  # the JSON keeps its field name whatever the source

    cfg = tmp_path / ".layerscope.toml"
    cfg.write_text('[defaults]\nmax-compressed-size = "1 B"\n')
    md = tmp_path / "check.md"
    r = run_cli("check", "--json", "--config", str(cfg), "--markdown", str(md), ref)
    assert r.code == 1, r.err
    result = next(x for x in json.loads(r.out)["results"] if x["rule"] == "max-compressed-size")
    assert result["actual"] == comp
    assert result["message"].startswith(f"{what} ")
    assert f", {word} {fmt_size(comp)}, " in md.read_text()
    if word != "compressed":
        assert " compressed " not in md.read_text().split("| Status |")[0]


@pytest.mark.parametrize(
    ("names", "word"),
    [
        (["slim.docker.tar", "fat.docker.tar"], "stored uncompressed"),
        (["slim.oci.tar", "fat.oci.tar"], "compressed"),
        (["slim.docker.tar", "slim.oci.tar"], "stored, partly uncompressed"),
    ],
)
def test_fleet_totals_say_which_bytes(run_cli, names, word) -> None:
    r = run_cli("fleet", *(str(SAMPLES / n) for n in names))
    assert r.code == 0, r.err
    logical, stored = (line for line in r.out.splitlines() if line.startswith(("Logical ", "Stored ")))
    assert f" {word} (Σ image sizes)" in logical
    assert f" {word} (unique blobs once)" in stored
