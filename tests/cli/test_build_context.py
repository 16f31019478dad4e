"""`--build-context` from the shell, on the four commands that simulate a build (cache, packages, explore,
report): checked the same way (bad form, missing directory: one line, exit 2) and used the same way."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from layerscope.buildcache.inputs.whatif import WhatIf
from layerscope.cli import explore
from tests.buildcache.scenario import write_files, write_tree
from tests.conftest import REPO, CliResult

Run = Callable[..., CliResult]
SERVICE = REPO / "sample_images" / "service"
FAT = REPO / "sample_images" / "fat.docker.tar"

DOCKERFILE = """\
FROM sample/busybox:base
COPY --from=libs a.txt /a.txt
RUN cat /a.txt
COPY README.md /
"""


@pytest.fixture
def ctx(tmp_path: Path) -> Path:
    write_tree(tmp_path / "ctx", {"README.md": "hi\n"}, DOCKERFILE)
    write_files(tmp_path / "libs", {"a.txt": "a\n", "b.txt": "b\n"})
    return tmp_path


def one_line_exit_2(r: CliResult, message: str) -> None:
    assert r.code == 2, (r.code, r.err)
    assert message in r.err and r.err.count("\n") == 1 and "Traceback" not in r.err, r.err


BAD = [
    ("libs", "expected NAME=DIR, NAME=docker-image://REF or NAME=oci-layout://DIR[:TAG]"),
    ("libs=/no/such/dir", "no such directory /no/such/dir"),
    ("libs=https://example.com/libs.tar", "only NAME=DIR, NAME=docker-image://REF or NAME=oci-layout://DIR[:TAG]"),
    ("Bad Name=.", "not a valid context name"),
]


def test_cache_with_a_directory_context(run_cli: Run, ctx: Path) -> None:
    libs = ctx / "libs"
    r = run_cli("cache", "--context", str(ctx / "ctx"), "--build-context", f"libs={libs}",
                "--changed", str(libs / "a.txt"), "--json")  # fmt: skip
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert [s["status"] for s in doc["steps"]] == ["hit", "miss", "miss", "miss"]
    assert doc["steps"][1]["cause"] == {"kind": "file", "name": "libs:a.txt"}
    # the same build without the context: libs is an image, said in a note
    r = run_cli("cache", "--context", str(ctx / "ctx"), "--changed", "README.md")
    assert r.code == 0 and "--from=libs (line 2) names no stage and no --build-context" in r.out


def test_cache_with_an_image_context(run_cli: Run, ctx: Path) -> None:
    r = run_cli("cache", "--context", str(ctx / "ctx"), "--build-context", "libs=docker-image://acme/libs:1",
                "--base-changed", "libs")  # fmt: skip
    assert r.code == 0, r.err
    assert "base image libs=docker-image://acme/libs:1 changed" in r.out
    assert "3 step(s) miss; first miss: line 2" in r.out


def test_cache_old_build_context(run_cli: Run, ctx: Path) -> None:
    write_files(ctx / "libs-before", {"a.txt": "a, before\n", "b.txt": "b\n"})
    r = run_cli("cache", "--context", str(ctx / "ctx"), "--build-context", f"libs={ctx / 'libs'}",
                "--old-build-context", f"libs={ctx / 'libs-before'}", "--json")  # fmt: skip
    assert r.code == 0, r.err
    assert json.loads(r.out)["steps"][1]["cause"] == {"kind": "file", "name": "libs:a.txt"}


@pytest.mark.parametrize(("item", "message"), BAD)
def test_cache_bad_build_context(run_cli: Run, ctx: Path, item: str, message: str) -> None:
    one_line_exit_2(run_cli("cache", "--context", str(ctx / "ctx"), "--changed", "README.md",
                            "--build-context", item), message)  # fmt: skip


def test_cache_classic_refuses_named_contexts(run_cli: Run, ctx: Path) -> None:
    r = run_cli("cache", "--context", str(ctx / "ctx"), "--builder", "classic", "--changed", "README.md",
                "--build-context", f"libs={ctx / 'libs'}")  # fmt: skip
    one_line_exit_2(r, "the classic builder does not support named build contexts (--build-context libs)")


def test_help_names_the_modelled_forms(run_cli: Run) -> None:
    for command in ("cache", "packages", "explore", "report"):
        r = run_cli(command, "--help")
        text = " ".join(r.out.split())
        assert "NAME=DIR, NAME=docker-image://REF, NAME=oci-layout://DIR[:TAG]" in text, command
        assert "not git or HTTP sources" in text, command


def stage_site_packages(root: Path) -> Path:
    """A directory like the `site-packages` context sample_images/build.sh passes (a root with usr/local)."""
    site = root / "site-packages"
    write_files(site, {"usr/local/lib/python3.11/site-packages/requests/__init__.py": "# requests\n"})
    return site


def test_packages_with_a_directory_context(run_cli: Run, tmp_path: Path) -> None:
    site = stage_site_packages(tmp_path)
    r = run_cli("packages", str(FAT), "--dockerfile", str(SERVICE / "Dockerfile.fat"), "--context", str(SERVICE),
                "--build-context", f"site-packages={site}", "--json")  # fmt: skip
    assert r.code == 0, r.err
    requests = next(p for p in json.loads(r.out)["packages"] if p["name"] == "requests")
    rebuild = requests["rebuild"]
    assert rebuild["step_line"] == 21
    assert rebuild["change"] == "the 1 files COPY (line 21) takes from the named context site-packages changed"
    assert rebuild["layers"] == [4, 5, 6, 7]


@pytest.mark.parametrize(("item", "message"), BAD)
def test_packages_bad_build_context(run_cli: Run, item: str, message: str) -> None:
    r = run_cli("packages", str(FAT), "--dockerfile", str(SERVICE / "Dockerfile.fat"), "--context", str(SERVICE),
                "--build-context", item)  # fmt: skip
    one_line_exit_2(r, message)


def test_packages_build_context_needs_the_dockerfile(run_cli: Run, tmp_path: Path) -> None:
    r = run_cli("packages", str(FAT), "--build-context", f"site-packages={tmp_path}")
    one_line_exit_2(r, "--build-context describes the build of --dockerfile")


def test_report_with_a_directory_context(run_cli: Run, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    site = stage_site_packages(tmp_path)
    out = tmp_path / "report.html"
    changed = str(site / "usr/local/lib/python3.11/site-packages/requests/__init__.py")
    r = run_cli("report", str(FAT), "-o", str(out), "--dockerfile", str(SERVICE / "Dockerfile.fat"),
                "--context", str(SERVICE), "--build-context", f"site-packages={site}", "--changed", changed,
                "--json")  # fmt: skip
    assert r.code == 0, r.err
    html = out.read_text()
    assert "COPY --from=site-packages / /" in html
    assert json.loads(r.out)["format"] == "html"


@pytest.mark.parametrize(("item", "message"), BAD)
def test_report_bad_build_context(run_cli: Run, tmp_path: Path, item: str, message: str) -> None:
    r = run_cli("report", str(FAT), "-o", str(tmp_path / "r.html"), "--dockerfile", str(SERVICE / "Dockerfile.fat"),
                "--context", str(SERVICE), "--changed", "requirements.txt", "--build-context", item)  # fmt: skip
    one_line_exit_2(r, message)
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize(("item", "message"), BAD)
def test_explore_bad_build_context(run_cli: Run, item: str, message: str) -> None:
    r = run_cli("explore", str(FAT), "--dockerfile", str(SERVICE / "Dockerfile.fat"), "--context", str(SERVICE),
                "--build-context", item)  # fmt: skip
    one_line_exit_2(r, message)


def test_explore_build_context_needs_the_dockerfile(run_cli: Run, tmp_path: Path) -> None:
    one_line_exit_2(run_cli("explore", str(FAT), "--build-context", f"x={tmp_path}"),
                    "--build-context describes the build of --dockerfile")  # fmt: skip


def test_explore_cache_view_changes_a_context(tmp_path: Path) -> None:
    """The Cache view's request carries the contexts; a step taking files from one changes through them."""
    site = stage_site_packages(tmp_path)
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    explore.register(sub)
    args = parser.parse_args(["explore", str(FAT), "--dockerfile", str(SERVICE / "Dockerfile.fat"),
                              "--context", str(SERVICE), "--build-context", f"site-packages={site}"])  # fmt: skip
    req = explore.cache_request(args)
    assert req is not None and [c.spec for c in req.build_contexts] == [f"site-packages={site}"]
    whatif = WhatIf(req)
    change = whatif.step_change("stage-0", 21)
    assert change.what == "the 1 files COPY (line 21) takes from the named context site-packages changed"
    from layerscope.buildcache.features.change import simulate_change

    sim = simulate_change(req, change.change)
    got = {s.line: s.status for s in sim.steps}
    assert (got[19], got[21], got[23], got[25], got[27]) == ("hit", "miss", "miss", "miss", "miss")
