"""Pause Python's cyclic garbage collector while an image is read and analysed.

Reading and analysing allocate a few objects per file (records, tree nodes, sets) and
free almost none of them, which makes CPython's generational collector run over the
whole, growing heap again and again: half the time of stacking and of dive's figures on
a 50k-file image. None of these structures form cycles, so nothing waits for the
collector; it is switched back on (if it was on) when the outermost pause ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def paused_gc() -> Iterator[None]:
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
