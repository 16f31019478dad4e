"""`layerscope fleet` as a user runs it: JSON, text, exit codes, --output, budgets."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import CliResult
from tests.support.daskcluster import DaskCluster
from tests.support.fleetimages import Fleet, write_list
from tests.support.samples import SAMPLES

pytestmark = pytest.mark.registry
Cli = Callable[..., CliResult]
IMAGE_FIELDS = {"reference", "repository", "tag", "digest", "platform", "size", "compressed_size", "final_size",
                "wasted_bytes", "layers", "base_layer", "error"}  # fmt: skip
TOTALS = {"images", "failed_images", "unique_layers", "logical_bytes", "stored_bytes", "logical_compressed_bytes",
          "stored_compressed_bytes"}  # fmt: skip


def test_json_from_a_file_and_the_scheduler_from_the_environment(
    fleet: Fleet, dask_cluster: DaskCluster, run_cli: Cli, tmp_path: Path
) -> None:
    refs = [i.ref(fleet.host) for i in fleet.images if i.repository.startswith("ml/")]
    listing = write_list(tmp_path / "images.txt", refs[1:])
    r = run_cli("fleet", refs[0], "--from-file", str(listing), "--json",
                env={"DASK_SCHEDULER_ADDRESS": dask_cluster.address})  # fmt: skip
    assert r.code == 0, r.err
    assert r.err == ""  # no progress bar off a terminal
    doc = json.loads(r.out)
    assert [i["reference"] for i in doc["images"]] == refs
    assert set(doc["images"][0]) >= IMAGE_FIELDS
    assert set(doc["totals"]) >= TOTALS
    train = [i for i in doc["images"] if "/ml/train:" in i["reference"]]
    assert len({i["base_layer"] for i in train}) == 1 and all(i["error"] is None for i in train)
    assert doc["totals"]["stored_bytes"] < doc["totals"]["logical_bytes"]
    assert train[0]["repository"] == f"{fleet.host}/ml/train" and train[0]["tag"] == "v1"


def test_every_image_failing_exits_2_and_text_is_escaped(
    fleet: Fleet, dask_cluster: DaskCluster, run_cli: Cli, tmp_path: Path
) -> None:
    listing = write_list(tmp_path / "bad.txt", ["docker-archive:/nonexistent/\x1b[31mred\x07.tar"])
    r = run_cli("fleet", "--scheduler", dask_cluster.address, "--from-file", str(listing),
                f"docker://{fleet.host}/missing/image:1")  # fmt: skip
    assert r.code == 2, r.err
    assert "Could not read:" in r.out
    assert "\x1b" not in r.out and "\x07" not in r.out
    assert "\\x1b[31mred\\x07.tar" in r.out
    assert "missing/image" in r.out and "not found" in r.out


def test_output_dir_and_budget_failures(fleet: Fleet, dask_cluster: DaskCluster, run_cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / ".layerscope.toml"
    config.write_text('[defaults]\nmax-size = "4 MB"\nmax-layers = 20\n')
    out = tmp_path / "out"
    refs = [i.ref(fleet.host) for i in fleet.images if i.repository.startswith("samples/")]
    r = run_cli("fleet", *refs, fleet.broken[0].ref(fleet.host), "--scheduler", dask_cluster.address,
                "--output", str(out), "--config", str(config))  # fmt: skip
    assert r.code == 1, r.err  # the fat sample (4.5 MB) breaks the budget; the broken image alone does not fail the run
    assert "Budget failures (1 images):" in r.out and "samples/fat:1: max-size" in r.out
    names = {p.name for p in out.iterdir()}
    assert {f"{t}.parquet" for t in ("images", "layers", "image_layers", "packages", "categories", "savings")} <= names
    images = pq.read_table(out / "images.parquet").to_pandas()
    assert set(images.columns) >= IMAGE_FIELDS and len(images) == 5
    assert images["error"].notna().sum() == 1
    packages = pq.read_table(out / "packages.parquet").to_pandas()
    assert {"reference", "ecosystem", "name", "version", "bytes", "category"} <= set(packages.columns)
    assert (packages["name"] == "requests").any()
    budget = pq.read_table(out / "budget.parquet").to_pandas()
    assert set(budget[budget["status"] == "fail"]["reference"]) == {refs[0]}
    html = (out / "report.html").read_text()
    headings = ("logical against stored", "dedupe ratio", "Most shared layers", "Base images",
                "Packages with the most bytes", "Packages in the most images", "Largest estimated savings",
                "Budget failures")  # fmt: skip
    for heading in headings:
        assert heading in html, heading
    assert "data:image/svg+xml;base64," in html and "<script" not in html and "http://" not in html.split("<body>")[1]


def test_a_local_cluster_by_default(run_cli: Cli, tmp_path: Path) -> None:
    """No scheduler given: an in-process LocalCluster (one worker here) reads local archives
    and a saved analysis."""
    saved = tmp_path / "slim.analysis.json"
    inspect = run_cli("inspect", str(SAMPLES / "slim.docker.tar"), "--json", "--save", str(saved))
    assert inspect.code == 0, inspect.err
    refs = [str(SAMPLES / "slim.docker.tar"), f"oci-archive:{SAMPLES / 'pip.oci.tar'}", f"analysis:{saved}"]
    r = run_cli("fleet", *refs, "--workers", "1", "--json", env={"DASK_SCHEDULER_ADDRESS": ""})
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["totals"]["images"] == 3 and doc["totals"]["failed_images"] == 0
    want = json.loads(inspect.out)["totals"]
    for image in (doc["images"][0], doc["images"][2]):
        assert (image["size"], image["final_size"], image["wasted_bytes"]) == (
            want["size"],
            want["final_size"],
            want["wasted_bytes"],
        )


def test_usage_errors(run_cli: Cli) -> None:
    r = run_cli("fleet")
    assert r.code == 2 and r.err.startswith("layerscope: no images") and "Traceback" not in r.err
    r = run_cli("fleet", "x.tar", "--latest", "2")
    assert r.code == 2 and "--catalog" in r.err
    r = run_cli("fleet", "x.tar", "--scheduler", "tcp://127.0.0.1:1", "--workers", "2")
    assert r.code == 2 and "--workers" in r.err
    r = run_cli("fleet", "x.tar", "--platform", "bogus", "--workers", "1")
    assert r.code == 2 and "bad platform" in r.err and r.out == ""


def test_catalog_from_the_command_line(fleet: Fleet, dask_cluster: DaskCluster, run_cli: Cli) -> None:
    r = run_cli("fleet", "--catalog", f"docker://{fleet.host}/apps", "--tags", r"^1\.", "--latest", "2",
                "--scheduler", dask_cluster.address, "--json")  # fmt: skip
    assert r.code == 0, r.err
    refs = [i["reference"] for i in json.loads(r.out)["images"]]
    assert refs == [f"docker://{fleet.host}/apps/agent:1.10", f"docker://{fleet.host}/apps/agent:1.11"]


def test_bad_input_is_one_line_and_exit_2(run_cli: Cli, tmp_path: Path) -> None:
    """Each refused before any cluster starts: one line on stderr, exit 2, nothing on stdout."""
    a_file = tmp_path / "not-a-dir"
    a_file.write_text("x")
    with socket.create_server(("127.0.0.1", 0)) as s:
        closed = s.getsockname()[1]  # nothing listens here once closed
    cases = [
        (["--from-file", str(tmp_path / "missing.txt")], "cannot read reference list"),
        (["--catalog", "docker://127.0.0.1:1", "--tags", "(["], "--tags '([': not a regular expression"),
        (["--catalog", f"docker://127.0.0.1:{closed}"], f"cannot reach 127.0.0.1:{closed}"),
        (["--catalog", "docker://registry.invalid/team"], "cannot reach registry.invalid"),
        (["x.tar", "--output", str(a_file)], "not a directory"),
        (["x.tar", "--output", str(a_file / "sub")], "Not a directory"),
    ]
    for args, why in cases:
        r = run_cli("fleet", *args, "--workers", "1")
        assert r.code == 2, (args, r.err)
        assert r.err.count("\n") == 1 and r.err.startswith("layerscope: ") and why in r.err, (args, r.err)
        assert r.out == "" and "Traceback" not in r.err
    assert a_file.read_text() == "x"


def test_references_on_standard_input(fleet: Fleet, dask_cluster: DaskCluster, run_cli: Cli) -> None:
    refs = fleet.refs()[:2]
    listing = "# the first two\n" + "\n".join(refs) + "\n\n"
    r = run_cli("fleet", "--from-file", "-", "--scheduler", dask_cluster.address, "--json", stdin=listing)
    assert r.code == 0, r.err
    assert [i["reference"] for i in json.loads(r.out)["images"]] == refs
    r = run_cli("fleet", "--from-file", "-", "--password-stdin", "--username", "u", stdin=listing)
    assert r.code == 2 and r.err.count("\n") == 1 and "both want standard input" in r.err


def test_every_local_image_failing_says_so_on_stderr(run_cli: Cli, tmp_path: Path) -> None:
    """Exit 2 has its one line on stderr even when the reasons are in the output (a special
    file given as the only image once exited 2 with stderr empty)."""
    r = run_cli(
        "fleet", "/dev/zero", str(tmp_path / "missing.tar"), "--workers", "1", env={"DASK_SCHEDULER_ADDRESS": ""}
    )
    assert r.code == 2, r.err
    assert r.err.splitlines() == ["layerscope: fleet: none of the 2 image(s) could be read (reasons above)"], r.err
    assert "character device" in r.out and "Traceback" not in r.err


def test_an_output_file_that_cannot_be_replaced_leaves_no_temp_file(
    fleet: Fleet, dask_cluster: DaskCluster, run_cli: Cli, tmp_path: Path
) -> None:
    """Each output file is written whole under a temp name and renamed into place; when the
    rename fails (here report.html is a directory) the temp file goes too (it stayed behind)."""
    out = tmp_path / "out"
    (out / "report.html").mkdir(parents=True)
    r = run_cli("fleet", fleet.images[0].ref(fleet.host), "--scheduler", dask_cluster.address, "--output", str(out))
    assert r.code == 2, r.err
    assert r.err.count("\n") == 1 and "cannot write" in r.err and "report.html" in r.err
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []
