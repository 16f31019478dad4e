"""Each ecosystem's purls equal syft's for the same package databases.

tests/fixtures/syft-purls/purls.json holds the purls syft 1.18.1 gave for syft's (and
trivy's, preflight's, go-rpmdb's) vendored databases next to an os-release (its SOURCE.md
says how they were made; syft is not run here). Each case is built here as an image, the
databases and the os-release at the paths syft read them from, and analysed whole: the
layer walk captures both, the release comes from the final filesystem.
"""

from __future__ import annotations

import json
import posixpath
from pathlib import Path
from typing import Any

import pytest
from packageurl import PackageURL

from layerscope.analysis.packages.common import canonical
from layerscope.api import analyze
from tests.conftest import REPO
from tests.support.factory import Entry, ImageSpec, d, f, layer_tar

RECORDED = json.loads((REPO / "tests/fixtures/syft-purls/purls.json").read_text())
CASES = RECORDED["cases"]
# What syft lists and layerscope does not (not a purl difference): dpkg stanzas that are not
# installed (`deinstall ok config-files`, a name-only stub with no Status in a status file).
NOT_INSTALLED = {("dpkg-ubuntu-22.04", "git"), ("dpkg-and-apk-no-os-release", "no-version")}


def _image(case: dict[str, Any], tmp_path: Path) -> str:
    files = {path: (REPO / source).read_bytes() for path, source in case["databases"].items()}
    if case["os_release"] is not None:
        files[case["os_release"]["path"]] = case["os_release"]["text"].encode()
    dirs = sorted({p for path in files for p in _parents(path)})
    entries: list[Entry] = [d(p) for p in dirs] + [f(path, data) for path, data in sorted(files.items())]
    return ImageSpec([layer_tar(entries)]).docker_archive(str(tmp_path / "img.tar"))


def _parents(path: str) -> list[str]:
    out = []
    while (path := posixpath.dirname(path)) != "":
        out.append(path)
    return out


def _same(ours: str, theirs: str) -> None:
    """One purl: syft's string exactly, or (where syft writes a `/` of a qualifier value raw,
    which the spec's character rules encode) the same purl once parsed."""
    if "/" in theirs.partition("?")[2]:
        assert PackageURL.from_string(ours).to_dict() == PackageURL.from_string(theirs).to_dict()
        assert ours != theirs
    else:
        assert ours == theirs


@pytest.mark.parametrize("name", sorted(CASES))
def test_purls_equal_syfts(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    report = analyze(_image(case, tmp_path)).packages
    assert report is not None
    ours: dict[str, set[str]] = {}
    for p in report.packages:
        ours.setdefault(canonical(p.name), set()).add(p.purl or "")
    syfts: dict[str, set[str]] = {}
    for pkg_name, _version, purl in case["syft"]:
        syfts.setdefault(canonical(pkg_name), set()).add(purl)
    missing = {n for n in syfts if n not in ours}
    assert {(name, n) for n in missing} <= NOT_INSTALLED
    assert set(ours) <= set(syfts)  # every package listed is one syft lists too
    compared = 0
    for pkg_name, purls in ours.items():
        (mine,) = purls
        theirs = syfts[pkg_name]
        if len(theirs) > 1:  # syft lists a package twice only when it is installed twice (not here)
            pytest.fail(f"{pkg_name}: syft gives {sorted(theirs)}")
        _same(mine, next(iter(theirs)))
        compared += 1
    assert compared == len(syfts) - len(missing) > 0


def test_the_recorded_cases_cover_every_os_database_format_and_the_no_release_rules() -> None:
    sources = {source for case in CASES.values() for source in case["databases"].values()}
    assert any(s.endswith("rpmdb.sqlite") for s in sources)
    assert any(s.endswith("/Packages") for s in sources) and any(s.endswith("Packages.db") for s in sources)
    assert all(purl == "" for _n, _v, purl in CASES["dpkg-and-apk-no-os-release"]["syft"])
    assert all(purl == "" for _n, _v, purl in CASES["dpkg-not-debian-like"]["syft"])
    assert all(purl.startswith("pkg:rpm/dive@") for _n, _v, purl in CASES["rpm-bdb-no-os-release"]["syft"])
    assert CASES["dpkg-usr-lib-os-release"]["os_release"]["path"] == "usr/lib/os-release"
