"""Fleet-wide rankings from the tables: shared layers, bases, heavy packages, savings."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from layerscope.fleet.tables import FleetTables


TOP = 15


def shared_layers(t: FleetTables, top: int = TOP) -> pd.DataFrame:
    """Layers used by more than one image, most images first; `saved_bytes` is what
    sharing saves over storing each image's copy: size × (images − 1)."""
    layers = t.layers[t.layers["images"] > 1].copy()
    layers["saved_bytes"] = layers["size"].fillna(0) * (layers["images"] - 1)
    return layers.sort_values(["images", "saved_bytes", "digest"], ascending=[False, False, True]).head(top)


def base_images(t: FleetTables, top: int = TOP) -> pd.DataFrame:
    """Images grouped by their bottom layer (what `FROM` gave them)."""
    ok = t.images[t.images["error"].isna() & t.images["base_layer"].notna()]
    if ok.empty:
        return pd.DataFrame({"base_layer": [], "images": [], "repositories": [], "size": []})
    sizes = t.layers.set_index("digest")["size"]
    groups = ok.groupby("base_layer", sort=False).agg(
        images=("reference", "count"), repositories=("repository", "nunique")
    )
    groups["size"] = [sizes.get(d) for d in groups.index]
    groups = groups.reset_index().sort_values(["images", "base_layer"], ascending=[False, True])
    return groups.head(top)


def heavy_packages(t: FleetTables, top: int = TOP) -> pd.DataFrame:
    """Packages by bytes summed over every image (each image's copy counts: what is pulled)."""
    p = t.packages
    if p.empty:
        return pd.DataFrame({"ecosystem": [], "name": [], "bytes": [], "images": []})
    g = p.groupby(["ecosystem", "name"], sort=False).agg(bytes=("bytes", "sum"), images=("reference", "nunique"))
    return g.reset_index().sort_values(["bytes", "name"], ascending=[False, True]).head(top)


def common_packages(t: FleetTables, top: int = TOP) -> pd.DataFrame:
    """Packages in the most images."""
    p = t.packages
    if p.empty:
        return pd.DataFrame({"ecosystem": [], "name": [], "bytes": [], "images": []})
    g = p.groupby(["ecosystem", "name"], sort=False).agg(images=("reference", "nunique"), bytes=("bytes", "sum"))
    return g.reset_index().sort_values(["images", "bytes", "name"], ascending=[False, False, True]).head(top)


def top_savings(t: FleetTables, top: int = TOP) -> pd.DataFrame:
    """Images by estimated savings (the sum of their `packages` savings), with the kinds as columns."""
    s = t.savings
    if s.empty:
        return pd.DataFrame({"reference": [], "total": []})
    wide = s.pivot_table(index="reference", columns="what", values="bytes", aggfunc="sum", fill_value=0)
    wide["total"] = wide.sum(axis=1)
    wide = wide.reset_index()
    return wide.sort_values(["total", "reference"], ascending=[False, True]).head(top)


def budget_failures(t: FleetTables) -> pd.DataFrame:
    b = t.budget
    return b[b["status"] == "fail"]
