"""The package ecosystems: one table, read by the layer-by-layer install history (installs.py) (which files belong
to which database, how each is parsed, which installs a rewrite replaces) and by attribution
(which owner wins a file several packages list).

What a layer walk captures is decided one floor down (the walk cannot import the parsers):
each entry names its `CaptureRules` in layers/capture.py, the files its database is made of,
and `captures` gives examples of them the tests check are kept and claimed by it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from layerscope.analysis.packages import apk, categories, conda, dpkg, python, rpm
from layerscope.analysis.packages.common import APK, CONDA, DEB, PYTHON, RPM, SOURCE, Captured, Found
from layerscope.analysis.packages.release import Release
from layerscope.layers import capture
from layerscope.layers.capture import CaptureRules

Finder = Callable[[Captured], tuple[list[Found], list[str]]]
PackageURL = Callable[[Found, Release | None], str | None]


@dataclass(frozen=True, slots=True)
class Ecosystem:
    name: str  # the database: installs.py's view of its captured files
    package_ecosystem: str  # Found.ecosystem, the JSON's packages[].ecosystem
    is_meta: Callable[[str], bool]  # is this captured path one of its database's files?
    new_finder: Callable[[], Finder]  # a parser for one history build (python keeps a memo across layers)
    rank: int  # which owner wins a file several packages list: the lowest (docs/image-formats.md §10 rule 7)
    capture: CaptureRules  # the files its database is made of: what a layer walk keeps for it
    captures: tuple[str, ...]  # examples of those files (the tests check the walk keeps them)
    category: Callable[[str], str]  # a package's category by its name (categories.py)
    owns_meta: bool  # its database files are each package's own (a dist's metadata), not one shared database
    purl: PackageURL  # a package's package URL, given the image's os-release (None: it has none)

    @property
    def key_prefix(self) -> str:
        """How its Found.key values start."""
        return self.package_ecosystem + ":"


def _python_finder() -> Finder:
    memo: python.Memo = {}
    return lambda view: python.find(view, memo)


# The order is the order paths are tried in (ecosystem_of): a path is the first one's that claims it.
ECOSYSTEMS: tuple[Ecosystem, ...] = (
    Ecosystem(
        "python",
        PYTHON,
        python.is_python_meta,
        _python_finder,
        2,
        capture.PYTHON_FILES,
        ("usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA",),
        categories.python_package_category,
        owns_meta=True,
        purl=python.purl,
    ),
    Ecosystem(
        "conda",
        CONDA,
        conda.is_conda_meta,
        lambda: conda.find,
        1,
        capture.CONDA_FILES,
        ("opt/conda/conda-meta/zlib-1.2.13-0.json",),
        categories.conda_package_category,
        owns_meta=True,
        purl=conda.purl,
    ),
    Ecosystem(
        "dpkg",
        DEB,
        dpkg.is_dpkg_meta,
        lambda: dpkg.find,
        0,
        capture.DPKG_FILES,
        ("var/lib/dpkg/status",),
        categories.os_package_category,
        owns_meta=False,
        purl=dpkg.purl,
    ),
    Ecosystem(
        "apk",
        APK,
        apk.is_apk_meta,
        lambda: apk.find,
        0,
        capture.APK_FILES,
        ("lib/apk/db/installed",),
        categories.os_package_category,
        owns_meta=False,
        purl=apk.purl,
    ),
    Ecosystem(
        "rpm",
        RPM,
        rpm.is_rpm_meta,
        lambda: rpm.find,
        0,
        capture.RPM_FILES,
        ("var/lib/rpm/rpmdb.sqlite",),
        categories.os_package_category,
        owns_meta=False,
        purl=rpm.purl,
    ),
)
ECOSYSTEM_BY_NAME = {e.name: e for e in ECOSYSTEMS}
# Precedence when several packages list one file: an OS package beats conda, conda beats a
# Python dist; a file attributed from source (no database) loses to all.
RANK = {e.package_ecosystem: e.rank for e in ECOSYSTEMS} | {SOURCE: 3}
_CATEGORY = {e.package_ecosystem: e.category for e in ECOSYSTEMS}
# Found.ecosystem values whose database files belong to each package (owners.py)
OWNS_META = frozenset(e.package_ecosystem for e in ECOSYSTEMS if e.owns_meta)


def package_category(ecosystem: str, name: str) -> str:
    """The category of a package of `ecosystem` (a Found.ecosystem) by its name; a package
    attributed from source (no database) is an OS package."""
    category = _CATEGORY.get(ecosystem)
    return categories.OS_PACKAGES if category is None else category(name)


_PURL = {e.package_ecosystem: e.purl for e in ECOSYSTEMS}


def package_url(f: Found, release: Release | None) -> str | None:
    """The package URL of a package its database states, in the image whose os-release is
    `release`; None when its ecosystem gives it none (see each one's `purl`)."""
    purl = _PURL.get(f.ecosystem)
    return None if purl is None else purl(f, release)


def ecosystem_of(path: str) -> str | None:
    """The database a captured file belongs to, if any."""
    for e in ECOSYSTEMS:
        if e.is_meta(path):
            return e.name
    return None
