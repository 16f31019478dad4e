"""The warm path: a whole image's summary (the analysis without file records), keyed by
the local archive or layout it came from and the options.

An archive is known by its real path, device, inode, size, mtime and ctime; a layout
directory by the same facts of every file in it (index.json and every blob), so a blob
deleted, replaced or rewritten in place is a miss. Re-reading an unchanged archive then
costs one stat and one small read (a layout, a stat per file); anything that needs file
records (packages details, the TUI, check's file rules) takes the per-layer cache path
instead. Registry and engine references are never keyed here: a tag can move.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from layerscope.layers.layercache import SUMMARIES_PREFIX, cache_root, read_entry, write_entry

SCHEMA = 6  # 2: summaries carry the package report; 3: inferred bytecode, packages' notes, savings' closure;
# 4: exposure findings; 5: a layout is keyed by all its files; 6: packages' purl
MAX_LAYOUT_FILES = 100_000  # a directory with more files is not keyed (read every time)


def _code_stamp() -> int:
    """The newest source file of layerscope itself: a summary made by other code is stale."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    newest = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if name.endswith(".py"):
                newest = max(newest, os.stat(os.path.join(dirpath, name)).st_mtime_ns)
    return newest


def local_key(ref_text: str, platform: str | None, manifest_only: bool, options: Any = None) -> str | None:
    """``options``: anything else the summary depends on (JSON-able), e.g. the exposure globs."""
    from layerscope._version import __version__
    from layerscope.sources.platforms import host
    from layerscope.sources.references import LOCAL_IMAGES, parse

    try:
        ref = parse(ref_text)
    except Exception:  # an unparsable reference is reported by the real path
        return None
    if ref.transport not in LOCAL_IMAGES:
        return None
    path = os.path.realpath(ref.location)
    if os.path.isdir(path):
        files = _layout_files(path)
        if files is None:
            return None
        facts: list[Any] = files
    else:
        try:
            facts = _facts(os.stat(path))
        except OSError:
            return None
    material = [
        SCHEMA,
        __version__,
        ref.transport,
        path,
        ref.selector,
        facts,
        platform or f"host {host()}",  # the default is this machine's platform: a shared cache dir may serve another
        manifest_only,
        _code_stamp(),
        options,
    ]
    return hashlib.sha256(json.dumps(material).encode()).hexdigest()


def _facts(st: os.stat_result) -> list[int]:
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def _layout_files(root: str) -> list[Any] | None:
    """(relative path, stat facts) of every file under a layout directory, symlinks
    followed to what they name; None when index.json is missing or there are too many."""
    if not os.path.isfile(os.path.join(root, "index.json")):
        return None
    out: list[Any] = []
    for dirpath, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            p = os.path.join(dirpath, name)
            try:
                facts: list[int] | None = _facts(os.stat(p))
            except OSError:
                facts = None  # a dangling link: its appearance later is a change too
            out.append([os.path.relpath(p, root), facts])
            if len(out) > MAX_LAYOUT_FILES:
                return None
    return out


def _path(key: str) -> str:
    return os.path.join(cache_root(), f"{SUMMARIES_PREFIX}{SCHEMA}", key[:2], key + ".json.zst")


def get(key: str) -> dict[str, Any] | None:
    doc = read_entry(_path(key))
    if doc is None or doc.get("key") != key:
        return None
    summary = doc.get("summary")
    return summary if isinstance(summary, dict) else None


def put(key: str, summary: dict[str, Any]) -> None:
    write_entry(_path(key), {"key": key, "summary": summary})
