"""Which small files a layer walk keeps the contents of: package databases and metadata,
and the os-release that names the distro of OS packages' purls.

Captured during the one pass over a layer so that package attribution never reads the
layer twice (docs/image-formats.md §10). Each ecosystem declares its files in one
`CaptureRules` here, and its entry in analysis/packages/ecosystems.py names that
declaration (this floor cannot import the parsers, so the rules live here and the
ecosystem table points down at them).
"""

from __future__ import annotations

import hashlib
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass, fields

MAX_CAPTURE = 8 << 20
MAX_CAPTURE_RPMDB = 256 << 20
MAX_CAPTURE_CONF = 64 << 10
MAX_CAPTURE_RELEASE = 64 << 10  # an os-release is under 1 KiB; a larger one is not kept (no release)
# What one layer, and one image, may keep in all: the limits above are per file, and a layer
# of a few hundred 8 MiB `.list` files (27 MB gzip) had kept gigabytes (MemoryError, exit 3).
# Far above real ones: a large rpmdb (up to MAX_CAPTURE_RPMDB) and every RECORD of an ML image.
MAX_CAPTURE_LAYER = 512 << 20
MAX_CAPTURE_IMAGE = 1 << 30
NOT_KEPT = -1  # a limit's answer: the ecosystem's file but not one it keeps (no later rules are asked)

Limit = Callable[[str, str, str], "int | None"]


@dataclass(frozen=True, slots=True)
class CaptureRules:
    """The files one package database is made of, as a layer walk sees them."""

    name: str  # its ecosystem's name (Ecosystem.name)
    names: frozenset[str]  # every base name it may keep: with suffixes and dirs, the walk's one prefilter
    limit: Limit  # (path, parent, base name) -> bytes to keep, NOT_KEPT, or None: not its file
    suffixes: tuple[str, ...] = ()  # base-name endings it may keep
    dirs: frozenset[str] = frozenset()  # directories every (small) file of which it may keep


# dpkg, with apt's Auto-Installed marks and settings
_DPKG_EXACT = frozenset({"var/lib/dpkg/status", "var/lib/dpkg/diversions", "var/lib/apt/extended_states"})


def _dpkg_limit(path: str, parent: str, name: str) -> int | None:
    if parent == "etc/apt/apt.conf.d" or path == "etc/apt/apt.conf":
        return MAX_CAPTURE_CONF
    if path in _DPKG_EXACT:
        return MAX_CAPTURE
    if parent == "var/lib/dpkg/status.d" or (
        parent == "var/lib/dpkg/info" and (name.endswith(".list") or name.endswith(".md5sums"))
    ):
        return MAX_CAPTURE
    return None


DPKG_FILES = CaptureRules(
    "dpkg",
    frozenset({"status", "diversions", "extended_states", "apt.conf"}),
    _dpkg_limit,
    (".list", ".md5sums"),
    # distroless dpkg stanzas, apt's settings
    frozenset({"var/lib/dpkg/status.d", "etc/apt/apt.conf.d"}),
)

# apk, with its explicitly installed packages (world)
_APK_EXACT = frozenset({"lib/apk/db/installed", "usr/lib/apk/db/installed", "etc/apk/world"})


def _apk_limit(path: str, parent: str, name: str) -> int | None:
    return MAX_CAPTURE if path in _APK_EXACT else None


APK_FILES = CaptureRules("apk", frozenset({"installed", "world"}), _apk_limit)

_DIST_INFO = frozenset({"METADATA", "RECORD", "INSTALLER", "direct_url.json", "top_level.txt"})
_EGG_INFO = frozenset({"PKG-INFO", "installed-files.txt", "top_level.txt"})


def _python_limit(path: str, parent: str, name: str) -> int | None:
    if parent.endswith(".dist-info"):
        return MAX_CAPTURE if name in _DIST_INFO else NOT_KEPT
    if parent.endswith(".egg-info"):
        return MAX_CAPTURE if name in _EGG_INFO else NOT_KEPT
    if name.endswith(".egg-info"):  # single-file egg-info
        return MAX_CAPTURE
    return None


PYTHON_FILES = CaptureRules("python", _DIST_INFO | _EGG_INFO, _python_limit, (".egg-info",))


def _conda_limit(path: str, parent: str, name: str) -> int | None:
    return MAX_CAPTURE if parent.endswith("conda-meta") and name.endswith(".json") else None


CONDA_FILES = CaptureRules("conda", frozenset(), _conda_limit, (".json",))

_RPM_DIRS = ("var/lib/rpm/", "usr/share/rpm/", "usr/lib/sysimage/rpm/")
_RPM_NAMES = frozenset({"Packages", "Packages.db", "rpmdb.sqlite", "rpmdb.sqlite-wal", "rpmdb.sqlite-shm"})


def _rpm_limit(path: str, parent: str, name: str) -> int | None:
    return MAX_CAPTURE_RPMDB if name in _RPM_NAMES and path.startswith(_RPM_DIRS) else None


RPM_FILES = CaptureRules("rpm", _RPM_NAMES, _rpm_limit)

# The image's os-release: not a package database but what OS package URLs name as their
# distro (analysis/packages/release.py), kept in the same walk so no layer is read twice.
_RELEASE_PATHS = frozenset({"etc/os-release", "usr/lib/os-release"})


def _release_limit(path: str, parent: str, name: str) -> int | None:
    return MAX_CAPTURE_RELEASE if path in _RELEASE_PATHS else None


RELEASE_FILES = CaptureRules("os-release", frozenset({"os-release"}), _release_limit)

# The order rules are asked in: the first that answers decides (dpkg's and apk's exact
# paths first, then Python's .dist-info/.egg-info directories, which keep only their own files).
PACKAGE_CAPTURES = (DPKG_FILES, APK_FILES, PYTHON_FILES, CONDA_FILES, RPM_FILES)
CAPTURES = (*PACKAGE_CAPTURES, RELEASE_FILES)

# The prefilter: most paths fail these three cheap tests and cost nothing more.
_NAMES = frozenset().union(*(r.names for r in CAPTURES))
_SUFFIXES = tuple(s for r in CAPTURES for s in r.suffixes)
_DIRS = frozenset().union(*(r.dirs for r in CAPTURES))


def capture_limit(path: str) -> int | None:
    """The most bytes to keep of ``path``'s contents, or None when it is not wanted."""
    parent, _, name = path.rpartition("/")
    if name not in _NAMES and not name.endswith(_SUFFIXES) and parent not in _DIRS:
        return None
    for rules in CAPTURES:
        limit = rules.limit(path, parent, name)
        if limit is not None:
            return None if limit == NOT_KEPT else limit
    return None


def rules_stamp() -> str:
    """A short hash of the rules above: the per-layer cache key holds it (layers/layercache.py), so
    a change that captures other files never meets warm entries that lack them.

    Every plain value of this module, every field of every CaptureRules, and the literals of
    capture_limit and of each rule's limit (a new condition brings new ones); only plain
    values are hashed (sets sorted), whose repr is the same in every process and on every Python.
    """
    module = sys.modules[__name__]
    data = [
        (name, _canonical(value))
        for name, value in sorted(vars(module).items())
        if not name.startswith("__") and isinstance(value, int | str | tuple | frozenset | CaptureRules)
    ]
    data.append(("capture_limit", _literals(capture_limit)))
    return hashlib.sha256(repr(data).encode()).hexdigest()[:8]


def _canonical(value: object) -> object:
    if isinstance(value, frozenset | set):
        return sorted(repr(_canonical(v)) for v in value)
    if isinstance(value, tuple | list):
        return [_canonical(v) for v in value]
    if isinstance(value, CaptureRules):
        return [(f.name, _canonical(getattr(value, f.name))) for f in fields(value)]
    if callable(value):
        return _literals(value)
    return value


def _literals(fn: object) -> list[object]:
    """The plain constants of a function's code (nested code too), without its docstring."""
    code = getattr(fn, "__code__", None)
    if not isinstance(code, types.CodeType):
        return [repr(type(fn))]
    return _code_literals(code, getattr(fn, "__doc__", None))


def _code_literals(code: types.CodeType, doc: str | None) -> list[object]:
    out: list[object] = [code.co_name]
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            out.append(_code_literals(c, None))
        elif isinstance(c, str | int | tuple | frozenset) and c != doc:
            out.append(_canonical(c))
    return out
