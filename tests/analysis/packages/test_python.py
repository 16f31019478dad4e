"""Python metadata parsers on syft's real (trimmed) dist-info, egg-info and conda files."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerscope.analysis.packages import conda, python
from layerscope.analysis.packages.common import canonical, join_rel

SITE = "usr/lib/python3.8/site-packages"


@pytest.fixture
def pyfix(fixtures_dir: Path) -> Path:
    return fixtures_dir / "syft" / "python"


def view_of(src: Path, dest: str, layer: int = 0) -> dict[str, tuple[int, bytes]]:
    """The files of a fixture directory as a layer walk captures them under `dest`."""
    return {f"{dest}/{p.name}": (layer, p.read_bytes()) for p in sorted(src.iterdir()) if p.is_file()}


def test_dist_info_record_paths_resolve_against_the_site_dir(pyfix: Path) -> None:
    d = f"{SITE}/with-license-file-declared.dist-info"
    view = view_of(pyfix / "site-packages/license/with-license-file-declared.dist-info", d, layer=3)
    (dist,), notes = python.find(view)
    assert (dist.name, dist.version, dist.ecosystem) == ("Pygments", "2.6.1", "python")
    assert dist.location == "/" + SITE
    assert dist.stamp == 3
    assert dist.meta == (f"{d}/METADATA",)
    assert dist.claim_dirs == (d,)
    # `../../../bin/pygmentize` from usr/lib/python3.8/site-packages is usr/bin/pygmentize
    assert "usr/bin/pygmentize" in dist.files
    assert f"{SITE}/pygments/__pycache__/__init__.cpython-38.pyc" in dist.files
    assert f"{d}/AUTHORS" in dist.files
    assert notes == []


def test_malformed_record_rows_are_skipped_and_reported(pyfix: Path) -> None:
    d = f"{SITE}/Flask-1.0.2.dist-info"
    view = view_of(pyfix / "site-packages/malformed-record/dist-info", d)
    (dist,), notes = python.find(view)
    assert dist.name == "Pygments"  # the fixture's METADATA is Pygments'; its RECORD is Flask's, damaged
    assert f"{SITE}/flask/json/tag.py" in dist.files
    assert len(notes) == 1 and "malformed row(s) skipped" in notes[0] and "RECORD" in notes[0]


def test_dist_info_without_record_owns_its_directory(pyfix: Path) -> None:
    d = f"{SITE}/partial.dist-info"
    (dist,), _ = python.find(view_of(pyfix / "site-packages", SITE) | {f"{d}/METADATA": (0, b"Name: Partial\n")})
    assert dist.files == () and dist.claim_dirs == (d,)


def test_egg_info_installed_files_are_relative_to_the_egg_info_dir(pyfix: Path) -> None:
    d = f"{SITE}/dicttoxml-1.7.4-py3.6.egg-info"
    view = view_of(pyfix / "installed-files", d) | {f"{d}/PKG-INFO": (0, b"Name: dicttoxml\nVersion: 1.7.4\n")}
    (dist,), _ = python.find(view)
    assert (dist.name, dist.version) == ("dicttoxml", "1.7.4")
    assert f"{SITE}/dicttoxml.py" in dist.files
    assert f"{SITE}/__pycache__/dicttoxml.cpython-36.pyc" in dist.files
    assert f"{d}/top_level.txt" in dist.files


def test_single_file_egg_info_and_names_from_file_names(pyfix: Path) -> None:
    view = {
        f"{SITE}/requests-2.22.0.egg-info": (1, (pyfix / "site-packages/test/test.egg-info").read_bytes()),
        f"{SITE}/no-version-py3.8.egg-info": (
            1,
            (pyfix / "site-packages/no-version/no-version-py3.8.egg-info").read_bytes(),
        ),
        f"{SITE}/empty-1.0.0-py3.8.egg-info": (1, (pyfix / "empty-1.0.0-py3.8.egg-info").read_bytes()),
        "usr/lib/python2.7/lib-dynload/Python-2.7.egg-info": (1, (pyfix / "Python-2.7.egg-info").read_bytes()),
        f"{SITE}/mxnet-1.8.0.egg-info": (
            1,
            (pyfix / "site-packages/nested/egg-name/egg-info/PKG-INFO-INVALID").read_bytes(),
        ),
    }
    found, notes = python.find(view)
    got = sorted((f.name, f.version, f.meta, f.claim_dirs) for f in found)
    assert got == [
        ("empty", "1.0.0", (f"{SITE}/empty-1.0.0-py3.8.egg-info",), ()),
        ("mxnet", "1.8.0", (f"{SITE}/mxnet-1.8.0.egg-info",), ()),
        ("no-version", "", (f"{SITE}/no-version-py3.8.egg-info",), ()),
        ("requests", "2.22.0", (f"{SITE}/requests-2.22.0.egg-info",), ()),
    ]  # CPython's own Python-2.7.egg-info is not a package (as in syft)
    assert notes == []


def test_metadata_without_a_name_anywhere_is_reported_not_raised() -> None:
    found, notes = python.find({"x/site-packages/weird.dist-info/METADATA": (0, b"\x00\xff garbage without headers")})
    assert found == [] and len(notes) == 1 and "no Name" in notes[0]


def test_record_paths_that_climb_out_of_the_root_are_dropped() -> None:
    assert join_rel("a/site-packages", "../../../../etc/passwd") is None
    assert join_rel("a/site-packages", "/abs/path") == "abs/path"
    assert join_rel("usr/lib/python3/site-packages", "../../../bin/x") == "usr/bin/x"


def test_pep503_names() -> None:
    assert canonical("Demo_Pkg") == canonical("demo.pkg") == canonical("DEMO--pkg") == "demo-pkg"


def test_conda_meta_files_are_relative_to_the_prefix(pyfix: Path) -> None:
    view = {
        f"opt/conda/conda-meta/{p.name}": (2, p.read_bytes())
        for p in sorted((pyfix / "conda/pr938/conda-meta").iterdir())
    }
    view["opt/conda/conda-meta/package-1.2.3-pyhd8ed1ab_0.json"] = (
        2,
        (pyfix / "conda/conda-meta-bad-json/conda-meta/package-1.2.3-pyhd8ed1ab_0.json").read_bytes(),
    )
    found, notes = conda.find(view)
    by = {f.name: f for f in found}
    assert set(by) == {"jupyterlab", "arrow-cpp"}
    jl = by["jupyterlab"]
    assert (jl.version, jl.location, jl.ecosystem, len(jl.files)) == ("2.1.0", "/opt/conda", "conda", 245)
    assert "opt/conda/etc/jupyter/jupyter_notebook_config.d/jupyterlab.json" in jl.files
    assert by["arrow-cpp"].version == "0.2.post" and len(by["arrow-cpp"].files) == 42
    assert notes == ["/opt/conda/conda-meta/package-1.2.3-pyhd8ed1ab_0.json: not JSON; skipped"]


@pytest.mark.parametrize(
    ("direct_url", "project"),
    [
        (b'{"dir_info": {"editable": true}, "url": "file:///srv/my%20app"}', "srv/my app"),
        (b'{"dir_info": {"editable": true}, "url": "file:///"}', ""),  # the root: no claim on everything
        (b'{"dir_info": {}, "url": "file:///wheels/x-1.0-py3-none-any.whl"}', ""),  # a local wheel, not editable
        (b'{"vcs_info": {"vcs": "git"}, "url": "https://example.com/x.git"}', ""),
        (b'{"dir_info": {"editable": true}, "url": "https://example.com/x"}', ""),
        (b"not json", ""),
        (b"[1, 2]", ""),
    ],
)
def test_an_editable_install_names_its_project_directory(direct_url: bytes, project: str) -> None:
    d = "usr/lib/python3/site-packages/x-1.0.dist-info"
    view = {f"{d}/METADATA": (0, b"Name: x\nVersion: 1.0\n"), f"{d}/direct_url.json": (0, direct_url)}
    (dist,), _ = python.find(view)
    assert dist.project == project
