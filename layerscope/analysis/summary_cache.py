"""The warm path: a whole image's summary (the analysis without file records), keyed by
the local archive or layout it came from (real path, size, mtime, inode) and the options.

Re-reading an unchanged archive then costs one stat and one small read; anything that
needs file records (packages details, the TUI, check's file rules) takes the per-layer
cache path instead. Registry and engine references are never keyed here: a tag can move.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from layerscope.layers.cache import cache_root, read_entry, write_entry

SCHEMA = 4  # 2: summaries carry the package report; 3: inferred bytecode, packages' notes, savings' closure;
# 4: exposure findings
LOCAL = ("docker-archive", "oci-archive", "oci", "path")


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
    from layerscope.sources.references import parse

    try:
        ref = parse(ref_text)
    except Exception:  # an unparsable reference is reported by the real path
        return None
    if ref.transport not in LOCAL:
        return None
    path = os.path.realpath(ref.location)
    target = os.path.join(path, "index.json") if os.path.isdir(path) else path
    try:
        st = os.stat(target)
    except OSError:
        return None
    material = [SCHEMA, __version__, ref.transport, path, ref.selector, st.st_size, st.st_mtime_ns, st.st_ino,
                platform, manifest_only, _code_stamp(), options]  # fmt: skip
    return hashlib.sha256(json.dumps(material).encode()).hexdigest()


def _path(key: str) -> str:
    return os.path.join(cache_root(), f"images-v{SCHEMA}", key[:2], key + ".json.zst")


def get(key: str) -> dict[str, Any] | None:
    doc = read_entry(_path(key))
    if doc is None or doc.get("key") != key:
        return None
    summary = doc.get("summary")
    return summary if isinstance(summary, dict) else None


def put(key: str, summary: dict[str, Any]) -> None:
    write_entry(_path(key), {"key": key, "summary": summary})
