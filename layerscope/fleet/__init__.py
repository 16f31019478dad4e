"""`layerscope fleet`: many images at once on Dask, one task per unique layer blob.

catalog.py lists a registry's repositories and tags, targets.py gathers the references,
graph.py builds and drains the task graph (tasks.py runs on the workers), tables.py turns
the summaries into DataFrames, parquet.py writes them (the summary text, report.html and
the JSON document are in output/fleet/), progress.py draws the bar, engine.py finds or
starts the cluster; entry.py is the Python entry, `layerscope.fleet(...)`.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from layerscope.fleet.tables import FleetTables


class _FleetModule(types.ModuleType):
    """`layerscope.fleet(...)` calls this package: `layerscope/__init__.py` binds the name
    to it, and importing any submodule binds the same package, so the name is one object.
    The call is entry.fleet (imported on first call: no Dask at `import layerscope`)."""

    def __call__(self, *args: Any, **kwargs: Any) -> FleetTables:
        from layerscope.fleet.entry import fleet

        return fleet(*args, **kwargs)


sys.modules[__name__].__class__ = _FleetModule
