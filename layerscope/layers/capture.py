"""Which small files a layer walk keeps the contents of: package databases and metadata.

Captured during the one pass over a layer so that package attribution never reads the
layer twice (docs/image-formats.md §10).
"""

from __future__ import annotations

import hashlib

MAX_CAPTURE = 8 << 20
MAX_CAPTURE_RPMDB = 256 << 20

_DIST_INFO = frozenset({"METADATA", "RECORD", "INSTALLER", "direct_url.json", "top_level.txt"})
_EGG_INFO = frozenset({"PKG-INFO", "installed-files.txt", "top_level.txt"})
_EXACT = frozenset(
    {
        "var/lib/dpkg/status",
        "var/lib/dpkg/diversions",
        "lib/apk/db/installed",
        "usr/lib/apk/db/installed",
        "var/lib/apt/extended_states",  # apt's Auto-Installed marks
        "etc/apk/world",  # apk's explicitly installed packages
    }
)
_RPM_DIRS = ("var/lib/rpm/", "usr/share/rpm/", "usr/lib/sysimage/rpm/")
_RPM_NAMES = frozenset({"Packages", "Packages.db", "rpmdb.sqlite", "rpmdb.sqlite-wal", "rpmdb.sqlite-shm"})


# Every base name capture_limit may keep, besides the suffixes below and status.d's files:
# most paths fail this one set lookup and cost nothing more.
_NAMES = (
    _DIST_INFO | _EGG_INFO | _RPM_NAMES | {"status", "diversions", "installed", "extended_states", "world", "apt.conf"}
)
# directories every (small) file of which is kept: distroless dpkg stanzas, apt's settings
_DIRS = frozenset({"var/lib/dpkg/status.d", "etc/apt/apt.conf.d"})
MAX_CAPTURE_CONF = 64 << 10
_SUFFIXES = (".egg-info", ".json", ".list", ".md5sums")


def capture_limit(path: str) -> int | None:
    """The most bytes to keep of ``path``'s contents, or None when it is not wanted."""
    parent, _, name = path.rpartition("/")
    if name not in _NAMES and not name.endswith(_SUFFIXES) and parent not in _DIRS:
        return None
    if parent == "etc/apt/apt.conf.d" or path == "etc/apt/apt.conf":
        return MAX_CAPTURE_CONF
    if path in _EXACT:
        return MAX_CAPTURE
    if parent.endswith(".dist-info"):
        return MAX_CAPTURE if name in _DIST_INFO else None
    if parent.endswith(".egg-info"):
        return MAX_CAPTURE if name in _EGG_INFO else None
    if name.endswith(".egg-info"):  # single-file egg-info
        return MAX_CAPTURE
    if parent.endswith("conda-meta") and name.endswith(".json"):
        return MAX_CAPTURE
    if parent == "var/lib/dpkg/status.d" or (
        parent == "var/lib/dpkg/info" and (name.endswith(".list") or name.endswith(".md5sums"))
    ):
        return MAX_CAPTURE
    if name in _RPM_NAMES and path.startswith(_RPM_DIRS):
        return MAX_CAPTURE_RPMDB
    return None


def rules_stamp() -> str:
    """A short hash of the rules above: the per-layer cache key holds it (layers/cache.py), so
    a change that captures other files never meets warm entries that lack them.

    The data, plus the literals of capture_limit (a new condition brings new ones); only plain
    values are hashed, whose repr is the same in every process and on every Python.
    """
    code = capture_limit.__code__
    literals = [
        c for c in code.co_consts if isinstance(c, str | int | tuple | frozenset) and c != capture_limit.__doc__
    ]
    data = (
        MAX_CAPTURE,
        MAX_CAPTURE_RPMDB,
        MAX_CAPTURE_CONF,
        _DIST_INFO,
        _EGG_INFO,
        _EXACT,
        _RPM_DIRS,
        _RPM_NAMES,
        _NAMES,
        _DIRS,
        _SUFFIXES,
        literals,
    )
    canonical = repr([sorted(x) if isinstance(x, frozenset) else x for x in data])
    return hashlib.sha256(canonical.encode()).hexdigest()[:8]
