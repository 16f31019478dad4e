"""analysis/validate.py: a loaded analysis is checked against the model's annotations."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from layerscope.analysis.serialize import load_saved, saved_document
from layerscope.analysis.validate import check_fields, problem
from layerscope.api import analyze
from layerscope.errors import FormatError
from layerscope.model import MAX_PATH, Analysis, FileRecord
from layerscope.units import MAX_SIZE
from tests.support.factory import ImageSpec, d, f, layer_tar


@pytest.fixture(scope="module")
def analysis(tmp_path_factory: pytest.TempPathFactory) -> Analysis:
    spec = ImageSpec([layer_tar([d("app"), f("app/a", b"a" * 100)]), layer_tar([f("app/a", b"b")])])
    path = spec.docker_archive(str(tmp_path_factory.mktemp("validate") / "img.tar"))
    return analyze(path, use_cache=False)


def test_a_real_analysis_passes(analysis: Analysis) -> None:
    assert check_fields(analysis, "") is None


def test_wrong_types_and_ranges_are_named(analysis: Analysis) -> None:
    t = analysis.totals
    assert check_fields(replace(analysis, totals=replace(t, size="1")), "") == (
        "totals.size: expected a whole number, got '1'"
    )
    assert check_fields(replace(analysis, totals=replace(t, wasted_bytes=-1)), "") == (
        "totals.wasted_bytes: -1 is out of range"
    )
    assert check_fields(replace(analysis, totals=replace(t, files=True)), "") == (
        "totals.files: expected a whole number, got True"
    )
    assert check_fields(replace(analysis, totals=replace(t, efficiency=float("inf"))), "") is not None
    assert check_fields(replace(analysis, notes=("ok", 3)), "") == "notes[1]: expected str, got 3"  # type: ignore[arg-type]


def test_file_records() -> None:
    ok = FileRecord("a", "file", 1, 0o644, 0, 0, -5)  # a file dated before 1970
    assert problem((ok,), tuple[FileRecord, ...], "files") is None
    big = FileRecord("a", "file", MAX_SIZE + 1, 0o644, 0, 0, 0)
    assert problem((ok, big), tuple[FileRecord, ...], "files") == f"files[1].size: {MAX_SIZE + 1} is out of range"
    assert problem(("x",), tuple[FileRecord, ...], "files") == "files[0]: not a file record"


def test_saved_analysis_round_trip_is_valid(analysis: Analysis) -> None:
    raw = json.dumps(saved_document(analysis)).encode()
    assert load_saved(raw, "saved.json").totals == analysis.totals


def test_a_path_longer_than_a_layer_may_hold_is_named() -> None:
    ok = FileRecord("a/" * 2047 + "x", "file", 1, 0o644, 0, 0, 0)
    assert len(ok.path) <= MAX_PATH
    assert problem((ok,), tuple[FileRecord, ...], "files") is None
    long = FileRecord("a/" * 30_000 + "x", "file", 1, 0o644, 0, 0, 0)
    assert problem((ok, long), tuple[FileRecord, ...], "files") == (
        f"files[1].path: 60001 characters, more than a layer may hold ({MAX_PATH})"
    )


def test_a_layer_index_that_is_not_its_position_is_refused(analysis: Analysis) -> None:
    """The report's figures index their rows by it: 10**9 had been an IndexError (exit 3)."""
    doc = saved_document(analysis)
    doc["layers"][1]["index"] = 10**9
    with pytest.raises(FormatError, match=r"image.layers\[1\].index: 1000000000 is not the layer's position"):
        load_saved(json.dumps(doc).encode(), "saved.json")
    doc["layers"][1]["index"] = 0
    with pytest.raises(FormatError, match="is not the layer's position"):
        load_saved(json.dumps(doc).encode(), "saved.json")
