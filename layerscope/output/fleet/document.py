"""`fleet --json`: `images[]` (the images table's columns) and `totals`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from layerscope.fleet.tables import FleetTables


SCHEMA = "layerscope.fleet/1"


def _value(v: Any) -> Any:
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return None
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    return v


def document(t: FleetTables) -> dict[str, Any]:
    images = [{k: _value(v) for k, v in row.items()} for row in t.images.to_dict(orient="records")]
    return {"schema": SCHEMA, "images": images, "totals": t.totals.document()}
