"""Preloaded into the worker processes of the local cluster (engine.py), by module name.

A Ctrl-C at the terminal reaches the whole process group: the command's own process, which
closes the cluster and says `interrupted` in one line, and every worker process, whose
asyncio loop turned SIGINT into a KeyboardInterrupt traceback each on stderr. The workers
ignore it: the command that started them stops them.
"""

from __future__ import annotations

import signal


def dask_setup(worker: object) -> None:
    """Dask calls this in the worker process, on its main thread, as the worker starts."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
