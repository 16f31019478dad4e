"""Input at fault is exit 2 with one line, never exit 3 (issue #17): deeply nested JSON, TOML
and YAML, text files that are not UTF-8, absurd sizes, values of the wrong type in a config,
a baseline or a saved analysis, and output files that cannot be written."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.factory import ImageSpec, d, f, layer_tar
from tests.support.hostile_text import assert_plain, run_raw

DEEP = 100_000  # far past Python's recursion limit


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = ImageSpec([layer_tar([d("app"), f("app/a", b"a" * 100)]), layer_tar([f("app/a", b"b")])])
    return Path(spec.docker_archive(str(tmp_path_factory.mktemp("faults") / "img.tar")))


@pytest.fixture(scope="module")
def saved(image: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("saved") / "saved.json"
    r = run_raw("inspect", "--save", str(path), str(image))
    assert r.code == 0, r.err
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


def refused(*args: str, expect: str, cwd: Path | None = None) -> str:
    """Exit 2, one line on stderr starting `layerscope: `, no traceback, nothing on stdout."""
    r = run_raw(*args, cwd=cwd)
    err = assert_plain(r.err, "stderr")
    assert r.code == 2, (r.code, err)
    assert len(err.splitlines()) == 1 and err.startswith("layerscope: "), err
    assert "Traceback" not in err and "internal error" not in err, err
    assert expect.lower() in err.lower(), err
    assert r.out == b""
    return err


def _write(path: Path, data: str | bytes) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _budget(tmp_path: Path, body: str, name: str = ".layerscope.toml") -> str:
    return str(_write(tmp_path / name, body))


def test_deeply_nested_documents(tmp_path: Path, image: Path) -> None:
    deep_json = _write(tmp_path / "deep.json", "[" * DEEP + "]" * DEEP)
    cfg = _budget(tmp_path, '[images.a]\nmax-growth = "1 MB"\n')
    refused("check", "--config", cfg, "--baseline", str(deep_json), str(image), expect="cannot read baseline")
    refused("inspect", f"analysis:{deep_json}", expect="not JSON")
    toml = _budget(tmp_path, "a = " + "[" * DEEP + "]" * DEEP + "\n", "deep.toml")
    refused("check", "--config", toml, str(image), expect="not valid TOML")
    yaml = _write(tmp_path / ".dive-ci", "rules:\n  lowestEfficiency: " + "[" * DEEP + "]" * DEEP + "\n")
    refused("check", "--config", str(yaml), str(image), expect="not valid YAML")


def test_text_files_that_are_not_utf8(tmp_path: Path, image: Path) -> None:
    dive = _write(tmp_path / ".dive-ci", b"rules:\n  lowestEfficiency: 0.9  # caf\xe9\n")
    refused("check", "--config", str(dive), str(image), expect="is not UTF-8 (byte 0xe9")
    toml = _write(tmp_path / ".layerscope.toml", b'[images.a]\nmax-size = "1 GB" # caf\xe9\n')
    refused("check", "--config", str(toml), str(image), expect="is not UTF-8")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    _write(ctx / "Dockerfile", b"FROM busybox\nRUN echo caf\xe9\n")
    refused("cache", "--context", str(ctx), "--changed", "x", expect="Dockerfile")


@pytest.mark.parametrize(
    ("body", "expect"),
    [
        ('[images.a]\nmax-size = "' + "9" * 400 + '"\n', "not a size"),
        ('[images.a]\nmax-size = "1000000000000 TB"\n', "not a size"),
        ("[images.a]\nmax-size = -5\n", "not a size"),
        ("[images.a]\nmax-size = [1]\n", "expected a size"),
        ('[images.a]\nmax-growth-percent = "nan"\n', "percentage"),
        ("[images.a]\nrequire-non-root = 3\n", "true or false"),
        ("images = 3\n", "must be a table of images"),
        ("[images]\na = 3\n", "must be a table"),
        ("[defaults]\nmax-layers = 1.5\n[images.a]\n", "whole number"),
    ],
)
def test_budget_values(tmp_path: Path, image: Path, body: str, expect: str) -> None:
    refused("check", "--config", _budget(tmp_path, body), str(image), expect=expect)


@pytest.mark.parametrize("tool", ["[tool]\nlayerscope = 3\n", "[tool.layerscope]\nimages = 3\n"])
def test_pyproject_tables_of_the_wrong_type(tmp_path: Path, image: Path, tool: str) -> None:
    path = _budget(tmp_path, tool, "pyproject.toml")
    refused("check", "--config", path, str(image), expect="must be a table")


@pytest.mark.parametrize(
    ("totals", "expect"),
    [({"size": "123"}, "totals.size"), ({"compressed_size": -1}, "totals.compressed_size"), ([], "totals")],
)
def test_baseline_values(tmp_path: Path, image: Path, saved: dict[str, Any], totals: Any, expect: str) -> None:
    doc = copy.deepcopy(saved)
    if isinstance(totals, dict):
        doc["totals"].update(totals)
    else:
        doc["totals"] = totals
    baseline = _write(tmp_path / "baseline.json", json.dumps(doc))
    cfg = _budget(tmp_path, '[images.a]\nmax-growth = "1 MB"\nmax-compressed-growth = "1 MB"\n')
    refused("check", "--config", cfg, "--baseline", str(baseline), str(image), expect=expect)


def _set(doc: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node: Any = doc
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


@pytest.mark.parametrize(
    ("where", "value", "expect"),
    [
        ("totals.size", "123", "totals.size: expected a whole number"),
        ("totals.wasted_bytes", -5, "totals.wasted_bytes: -5 is out of range"),
        ("totals.efficiency", "high", "totals.efficiency: expected a number"),
        ("layers.0.size", 10**400, "image.layers[0].size"),
        ("layers.0.compressed_size", 1.5, "image.layers[0].compressed_size"),
        ("waste.0.bytes", "9", "waste[0].bytes"),
        ("history_full.0.created_by", 5, "image.history[0].created_by"),
        ("layers.0.record.files.0.2", "100", "image.layers[0].record.files[0].size"),
        ("reference", None, "image.reference"),
    ],
)
def test_saved_analysis_values(tmp_path: Path, saved: dict[str, Any], where: str, value: Any, expect: str) -> None:
    doc = copy.deepcopy(saved)
    _set(doc, where, value)
    path = _write(tmp_path / "damaged.json", json.dumps(doc))
    for command in ("inspect", "packages"):
        refused(command, f"analysis:{path}", expect=f"damaged saved analysis: {expect}")


def test_output_files_that_cannot_be_written(tmp_path: Path, image: Path) -> None:
    cfg = _budget(tmp_path, '[images.a]\nmax-size = "1 GB"\n')
    refused("check", "--config", cfg, "--junit", str(tmp_path), str(image), expect="--junit: cannot write")
    missing = tmp_path / "no" / "such" / "summary.md"
    refused("check", "--config", cfg, "--markdown", str(missing), str(image), expect="--markdown: cannot write")
