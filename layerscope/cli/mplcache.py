"""matplotlib's font cache in layerscope's cache dir, for the commands that draw (report, fleet)."""

from __future__ import annotations

import os
import sys


def matplotlib_config_dir() -> None:
    """matplotlib writes its font cache under ~/.cache or ~/.config on first use: point it
    into layerscope's cache dir, the one place a run writes unasked (unless the user chose one).
    Call it before matplotlib is imported (and before Dask starts local workers, which inherit it)."""
    if "MPLCONFIGDIR" in os.environ or "matplotlib" in sys.modules:
        return
    from layerscope.layers.layercache import cache_root

    path = os.path.join(cache_root(), "matplotlib")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return  # matplotlib then picks its own place, as without layerscope
    os.environ["MPLCONFIGDIR"] = path
