"""pandas DataFrames of an analysis or a comparison, for notebooks: one row per thing,
one column per figure, sizes as integer bytes (nullable `Int64` where a figure can be
unknown), times as UTC datetimes.

pandas is imported here only; `import layerscope` never loads it (`Analysis.layers_df()`
and the other methods reach this module through renderhooks and output/notebook.py when called).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from layerscope.analysis.breakdown import all_waste, per_layer
from layerscope.analysis.pkgview import CATEGORIES, layer_categories, report_of
from layerscope.analysis.state import tree_of
from layerscope.model import Analysis

if TYPE_CHECKING:
    from layerscope.analysis.compare import Comparison
    from layerscope.buildcache.pricing.imagemap import RebuildCost

Column = tuple[Sequence[Any], str]  # values, dtype


def _frame(columns: dict[str, Column]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(list(values), dtype=dtype) for name, (values, dtype) in columns.items()})


def _times(values: Sequence[str | None]) -> pd.Series:
    return pd.to_datetime(pd.Series(list(values), dtype=object), utc=True, errors="coerce", format="ISO8601")


def layers_df(a: Analysis) -> pd.DataFrame:
    """One row per filesystem layer, bottom first. `visible_bytes` are the layer's bytes the
    final filesystem still shows, `hidden_bytes` those a later layer overwrote or deleted
    (visible + hidden = size), `hides_bytes` the lower layers' bytes this layer hid."""
    layers = a.image.layers
    split = per_layer(a)

    def by_layer(field: str) -> list[int | None]:
        return [None] * len(layers) if split is None else [getattr(x, field) for x in split]

    df = _frame(
        {
            "index": ([x.index for x in layers], "int64"),
            "digest": ([x.digest for x in layers], "string"),
            "diff_id": ([x.diff_id for x in layers], "string"),
            "media_type": ([x.media_type for x in layers], "string"),
            "size": ([x.size for x in layers], "Int64"),
            "compressed_size": ([x.compressed_size for x in layers], "Int64"),
            "files": ([x.files for x in layers], "Int64"),
            "visible_bytes": (by_layer("visible"), "Int64"),
            "hidden_bytes": (by_layer("hidden"), "Int64"),
            "hides_bytes": (by_layer("hides"), "Int64"),
            "created_by": ([x.created_by for x in layers], "string"),
            "history_index": ([x.history_index for x in layers], "Int64"),
        }
    )
    df.insert(len(df.columns) - 1, "created", _times([x.created for x in layers]))
    return df


def files_df(a: Analysis) -> pd.DataFrame:
    """One row per tar entry of every layer (whiteout markers are not entries). `visible`
    says whether the final filesystem shows this layer's version of the path; `hidden_by`
    is the layer that overwrote or deleted a file's bytes."""
    tree = tree_of(a)
    killers = {(w.layer, w.path): w.hidden_by for w in tree.dead} if tree is not None else {}
    cols: dict[str, list[Any]] = {k: [] for k in ("layer", "path", "type", "size", "mode", "uid", "gid", "mtime")}
    cols.update(linkname=[], visible=[], hidden_by=[])
    for layer in a.image.layers:
        if layer.record is None:
            continue
        for rec in layer.record.files:
            cols["layer"].append(layer.index)
            cols["path"].append(rec.path)
            cols["type"].append(rec.type)
            cols["size"].append(rec.size)
            cols["mode"].append(rec.mode)
            cols["uid"].append(rec.uid)
            cols["gid"].append(rec.gid)
            cols["mtime"].append(rec.mtime)
            cols["linkname"].append(rec.linkname or None)
            node = tree.nodes.get(rec.path) if tree is not None else None
            cols["visible"].append(node is not None and node.record is rec)
            cols["hidden_by"].append(killers.get((layer.index, rec.path)))
    df = _frame(
        {
            "layer": (cols["layer"], "int64"),
            "path": (cols["path"], "string"),
            "type": (cols["type"], "string"),
            "size": (cols["size"], "int64"),
            "mode": (cols["mode"], "int64"),
            "uid": (cols["uid"], "int64"),
            "gid": (cols["gid"], "int64"),
            "linkname": (cols["linkname"], "string"),
            "visible": (cols["visible"], "bool"),
            "hidden_by": (cols["hidden_by"], "Int64"),
        }
    )
    df.insert(7, "mtime", pd.to_datetime(pd.Series(cols["mtime"], dtype="int64"), unit="s", utc=True))
    return df


def history_df(a: Analysis) -> pd.DataFrame:
    """Every config history entry, empty_layer ones included, with its layer's sizes."""
    hist, layers = a.image.history, a.image.layers

    def of_layer(i: int | None, field: str) -> Any:
        return None if i is None or i >= len(layers) else getattr(layers[i], field)

    df = _frame(
        {
            "index": ([h.index for h in hist], "int64"),
            "created_by": ([h.created_by for h in hist], "string"),
            "author": ([h.author for h in hist], "string"),
            "comment": ([h.comment for h in hist], "string"),
            "empty_layer": ([h.empty_layer for h in hist], "bool"),
            "layer_index": ([h.layer_index for h in hist], "Int64"),
            "size": ([of_layer(h.layer_index, "size") for h in hist], "Int64"),
            "compressed_size": ([of_layer(h.layer_index, "compressed_size") for h in hist], "Int64"),
        }
    )
    df.insert(1, "created", _times([h.created for h in hist]))
    return df


def waste_df(a: Analysis) -> pd.DataFrame:
    """Every hidden path (not only the largest ones `inspect --json` lists), largest first:
    `layer` added the bytes, `hidden_by` overwrote (`overwritten`) or deleted them."""
    waste = all_waste(a)
    return _frame(
        {
            "path": ([w.path for w in waste], "string"),
            "bytes": ([w.bytes for w in waste], "int64"),
            "layer": ([w.layer for w in waste], "int64"),
            "hidden_by": ([w.hidden_by for w in waste], "int64"),
            "reason": ([w.reason for w in waste], "string"),
        }
    )


# purl: the package URL, <NA> where it has none (packages --json's packages[].purl)
_PACKAGE_COLUMNS = (
    "ecosystem",
    "name",
    "version",
    "size",
    "files",
    "layer",
    "location",
    "dead_bytes",
    "category",
    "purl",
)


def packages_df(a: Analysis, by_layer: bool = False) -> pd.DataFrame:
    """One row per installed package (empty, same columns, without package attribution).
    With ``by_layer=True``: one row per package and layer that added bytes of it."""
    report = report_of(a)
    packages = [] if report is None else list(report.packages)
    if by_layer:
        rows = [(p, layer, n) for p in packages for layer, n in p.layers]
        return _frame(
            {
                "ecosystem": ([p.ecosystem for p, _, _ in rows], "string"),
                "name": ([p.name for p, _, _ in rows], "string"),
                "version": ([p.version for p, _, _ in rows], "string"),
                "location": ([p.location for p, _, _ in rows], "string"),
                "layer": ([layer for _, layer, _ in rows], "int64"),
                "bytes": ([n for _, _, n in rows], "int64"),
            }
        )
    dtypes = {"size": "int64", "files": "int64", "layer": "Int64", "dead_bytes": "int64"}
    return _frame({c: ([getattr(p, c) for p in packages], dtypes.get(c, "string")) for c in _PACKAGE_COLUMNS})


def categories_df(a: Analysis, by_layer: bool = False) -> pd.DataFrame:
    """Bytes of the final filesystem per category (docs/CONTRACT.md's names, every one listed);
    with ``by_layer=True`` per layer and category, from the layer that added them.
    Empty without package attribution."""
    if by_layer:
        split = layer_categories(a) or {}
        rows = [
            (layer, name, split[layer][name]) for layer in sorted(split) for name in CATEGORIES if name in split[layer]
        ]
        return _frame(
            {
                "layer": ([r[0] for r in rows], "int64"),
                "category": ([r[1] for r in rows], "string"),
                "bytes": ([r[2] for r in rows], "int64"),
            }
        )
    report = report_of(a)
    cats = [] if report is None else [(c.name, c.bytes) for c in report.categories]
    return _frame({"category": ([c[0] for c in cats], "string"), "bytes": ([c[1] for c in cats], "int64")})


# -- comparisons ---------------------------------------------------------------------------


def compare_layers_df(c: Comparison) -> pd.DataFrame:
    return _frame(
        {
            "a_index": ([r.a_index for r in c.layers], "Int64"),
            "b_index": ([r.b_index for r in c.layers], "Int64"),
            "diff_id": ([r.diff_id for r in c.layers], "string"),
            "shared": ([r.diff_id is not None for r in c.layers], "bool"),
            "a_size": ([r.a_size for r in c.layers], "Int64"),
            "b_size": ([r.b_size for r in c.layers], "Int64"),
        }
    )


def compare_packages_df(c: Comparison) -> pd.DataFrame:
    rows = list(c.packages or ())
    return _frame(
        {
            "ecosystem": ([p.ecosystem for p in rows], "string"),
            "name": ([p.name for p in rows], "string"),
            "a_version": ([p.a_version for p in rows], "string"),
            "b_version": ([p.b_version for p in rows], "string"),
            "a_size": ([p.a_size for p in rows], "int64"),
            "b_size": ([p.b_size for p in rows], "int64"),
            "delta": ([p.delta for p in rows], "int64"),
        }
    )


def compare_categories_df(c: Comparison) -> pd.DataFrame:
    rows = list(c.categories or ())
    return _frame(
        {
            "category": ([x.name for x in rows], "string"),
            "a_bytes": ([x.a_bytes for x in rows], "int64"),
            "b_bytes": ([x.b_bytes for x in rows], "int64"),
            "delta": ([x.delta for x in rows], "int64"),
        }
    )


def rebuild_df(cost: RebuildCost) -> pd.DataFrame:
    """One row per step of a cache simulation, with the image layers it produced: `layers` (indexes, comma
    separated), `size` and `compressed_size` (null where the step has no history entry in the image: another
    stage, or a history that does not match)."""
    rows = list(cost.steps)
    return _frame(
        {
            "stage": ([c.step.stage for c in rows], "string"),
            "line": ([c.step.line for c in rows], "int64"),
            "instruction": ([c.step.instruction for c in rows], "string"),
            "text": ([c.step.text for c in rows], "string"),
            "status": ([c.step.status for c in rows], "string"),
            "reason": ([c.step.reason for c in rows], "string"),
            "cause": ([None if c.step.cause is None else c.step.cause.kind for c in rows], "string"),
            "layers": ([None if c.layers is None else ",".join(map(str, c.layers.layers)) for c in rows], "string"),
            "size": ([None if c.layers is None else c.layers.size for c in rows], "Int64"),
            "compressed_size": ([None if c.layers is None else c.layers.compressed_size for c in rows], "Int64"),
        }
    )
