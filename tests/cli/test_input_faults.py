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
from tests.support.hostile import Sandbox, assert_refused
from tests.support.hostile_text import assert_plain

DEEP = 100_000  # far past Python's recursion limit


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = ImageSpec([layer_tar([d("app"), f("app/a", b"a" * 100)]), layer_tar([f("app/a", b"b")])])
    return Path(spec.docker_archive(str(tmp_path_factory.mktemp("faults") / "img.tar")))


@pytest.fixture(scope="module")
def saved(image: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("saved")
    path = root / "saved.json"
    r = Sandbox(root / "box").run("inspect", "--save", str(path), str(image), outputs=(path,))
    assert r.code == 0 and not r.written, (r.err, r.written)
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


_BOX: list[Sandbox] = []


@pytest.fixture(autouse=True)
def box(tmp_path: Path) -> Sandbox:
    """Each test runs the CLI in its own sandbox (tests/support/hostile.py)."""
    _BOX[:] = [Sandbox(tmp_path / "box")]
    return _BOX[0]


def refused(*args: str, expect: str, outputs: tuple[Path, ...] = ()) -> str:
    """Exit 2, one line on stderr starting `layerscope: `, no traceback, nothing written
    (hostile.assert_refused), nothing on stdout, and the line itself escaped."""
    r = _BOX[0].run(*args, outputs=outputs)
    line = assert_refused(r, expect)
    assert_plain(r.raw_err, "stderr")
    assert r.raw_out == b""
    return line


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
    refused("check", "--config", str(dive), str(image), expect="is not UTF-8 text (byte 37)")
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
        ("layers.0.index", 10**9, "image.layers[0].index: 1000000000 is not the layer's position"),
        ("layers.0.record.files.0.0", "a/" * 30_000, "image.layers[0].record.files[0].path: 60000 characters"),
    ],
)
def test_saved_analysis_values(tmp_path: Path, saved: dict[str, Any], where: str, value: Any, expect: str) -> None:
    doc = copy.deepcopy(saved)
    _set(doc, where, value)
    path = _write(tmp_path / "damaged.json", json.dumps(doc))
    for command in ("inspect", "packages"):
        refused(command, f"analysis:{path}", expect=f"damaged saved analysis: {expect}")
    out = tmp_path / "report.html"  # the report indexes its rows by layer: 10**9 had been exit 3
    refused("report", "-o", str(out), f"analysis:{path}", expect=f"damaged saved analysis: {expect}")


def test_output_files_that_cannot_be_written(tmp_path: Path, image: Path) -> None:
    cfg = _budget(tmp_path, '[images.a]\nmax-size = "1 GB"\n')
    # the named output is tried (and is all that is): the sandbox allows it
    directory = tmp_path / "reports"
    directory.mkdir()
    refused("check", "--config", cfg, "--junit", str(directory), str(image), expect="--junit: cannot write",
            outputs=(directory,))  # fmt: skip
    missing = tmp_path / "no" / "such" / "summary.md"
    refused("check", "--config", cfg, "--markdown", str(missing), str(image), expect="--markdown: cannot write",
            outputs=(missing,))  # fmt: skip
