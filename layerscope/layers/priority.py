"""Niceness for a helper thread that must not preempt a decoder (a hashing thread)."""

from __future__ import annotations

import os
import sys
import threading

# A hashing thread runs this much nicer than the rest of the process. It needs about a
# third of the decoder's CPU, and on two cores it kept preempting the decoder, the one
# thread every layer read waits for (650-1,000 preemptions on the 3.2 GB layer; 180-460 at +4).
# At +4 it still gets about a third of a core against a busy neighbour, enough to keep pace.
HASH_NICE = 4


def lower_priority() -> None:
    """This thread's niceness raised by HASH_NICE (Linux: niceness is per thread)."""
    if not sys.platform.startswith("linux"):  # elsewhere a thread id may name another process
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + HASH_NICE))
    except (AttributeError, OSError):  # not Linux, or not allowed: the thread runs as it is
        pass
