"""A hashing thread lowers its own priority, and only its own."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from layerscope.layers import priority


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="niceness is per thread on Linux only")
def test_the_hashing_thread_runs_nicer_than_the_rest():
    seen: list[int] = []

    def probe() -> None:
        priority.lower_priority()
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    t = threading.Thread(target=probe)
    t.start()
    t.join()
    base = os.getpriority(os.PRIO_PROCESS, 0)
    assert seen == [min(19, base + priority.HASH_NICE)]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == base  # this thread untouched
