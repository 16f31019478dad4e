"""The ecosystem table (analysis/packages/ecosystems.py) agrees with the capture rules one
floor down, and gives every parser's results their rank and key prefix."""

from __future__ import annotations

import pytest

from layerscope.analysis.packages.categories import NAMES, OS_PACKAGES, PYTHON_PACKAGES, TOOLCHAINS
from layerscope.analysis.packages.common import SOURCE
from layerscope.analysis.packages.ecosystems import (
    ECOSYSTEMS,
    OWNS_META,
    RANK,
    Ecosystem,
    ecosystem_of,
    package_category,
)
from layerscope.layers.capture import CAPTURES, NOT_KEPT, PACKAGE_CAPTURES, RELEASE_FILES, capture_limit

DPKG_STATUS = b"Package: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13\nArchitecture: amd64\n\n"


@pytest.mark.parametrize("eco", ECOSYSTEMS, ids=lambda e: e.name)
def test_its_files_are_captured_and_claimed_by_it(eco: Ecosystem) -> None:
    assert eco.captures
    for path in eco.captures:
        assert capture_limit(path) is not None, f"layers/capture.py does not keep {path}"
        assert ecosystem_of(path) == eco.name
        parent, _, name = path.rpartition("/")
        assert eco.capture.limit(path, parent, name) not in (None, NOT_KEPT), f"{eco.name}'s own rules miss {path}"


def test_every_capture_rule_belongs_to_one_ecosystem() -> None:
    """A new ecosystem declares its files (a CaptureRules in layers/capture.py, asked by the walk)
    in its entry; rules no ecosystem names would capture files nothing parses. The one other
    rule is the image's os-release, which release.py reads for the purls' distro."""
    assert [e.capture.name for e in ECOSYSTEMS] == [e.name for e in ECOSYSTEMS]
    assert sorted(e.name for e in ECOSYSTEMS) == sorted(r.name for r in PACKAGE_CAPTURES)
    assert {id(e.capture) for e in ECOSYSTEMS} == {id(r) for r in PACKAGE_CAPTURES}
    assert (*PACKAGE_CAPTURES, RELEASE_FILES) == CAPTURES


def test_the_os_release_is_captured_bounded_and_claimed_by_no_database() -> None:
    for path in ("etc/os-release", "usr/lib/os-release"):
        assert capture_limit(path) == 64 << 10
        assert ecosystem_of(path) is None
    assert capture_limit("opt/app/etc/os-release") is None  # only the two paths syft reads


def test_ranks() -> None:
    assert set(RANK) == {e.package_ecosystem for e in ECOSYSTEMS} | {SOURCE}
    assert RANK == {"deb": 0, "apk": 0, "rpm": 0, "conda": 1, "python": 2, "source": 3}


def test_each_entry_says_how_its_packages_are_categorised_and_whose_its_database_files_are() -> None:
    """What attribution asks per ecosystem reads the table too (no ecosystem names in
    categories.py or owners.py): a new entry brings its own answers."""
    for e in ECOSYSTEMS:
        assert e.category("zzz-unknown") in NAMES
    assert package_category("python", "zzz-unknown") == PYTHON_PACKAGES
    assert package_category("conda", "zzz-unknown") == PYTHON_PACKAGES
    assert package_category("deb", "zzz-unknown") == OS_PACKAGES
    assert package_category("rpm", "gcc") == TOOLCHAINS
    assert package_category(SOURCE, "gcc") == OS_PACKAGES  # attributed from source: no name rules
    assert {"python", "conda"} == OWNS_META


def test_a_finder_keys_its_packages_with_the_prefix() -> None:
    (dpkg,) = (e for e in ECOSYSTEMS if e.name == "dpkg")
    found, _ = dpkg.new_finder()({"var/lib/dpkg/status": (0, DPKG_STATUS)})
    assert [f.name for f in found] == ["zlib1g"]
    assert all(f.key.startswith(dpkg.key_prefix) and f.ecosystem == dpkg.package_ecosystem for f in found)


def test_a_path_no_database_owns() -> None:
    assert ecosystem_of("usr/bin/python3") is None
