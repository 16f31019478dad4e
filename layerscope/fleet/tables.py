"""A fleet run's results as pandas DataFrames: the tables the Parquet files and the report hold.

Sizes are integer bytes (nullable `Int64` where a figure can be unknown). `size` is dive's
figure (file contents, uncompressed), `compressed_size` the blobs as stored and pulled.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from layerscope.fleet.records import ImageSummary, LayerStats
from layerscope.model import STORED, stored_word

TABLES = ("images", "layers", "image_layers", "packages", "categories", "savings", "budget")


@dataclass(frozen=True, slots=True)
class FleetTotals:
    images: int
    failed_images: int
    unique_layers: int
    logical_bytes: int  # Σ image sizes (every image counts every layer it lists)
    stored_bytes: int  # Σ unique blob sizes (each shared layer once)
    logical_compressed_bytes: int
    stored_compressed_bytes: int
    blobs_read: int  # blobs this run read (the others came from the per-layer cache)
    stored_as: str = STORED  # the word for the *_compressed_bytes: plain-tar blobs are not compressed

    @property
    def dedupe_ratio(self) -> float | None:
        return self.logical_bytes / self.stored_bytes if self.stored_bytes else None

    def document(self) -> dict[str, Any]:
        return {
            "images": self.images,
            "failed_images": self.failed_images,
            "unique_layers": self.unique_layers,
            "logical_bytes": self.logical_bytes,
            "stored_bytes": self.stored_bytes,
            "logical_compressed_bytes": self.logical_compressed_bytes,
            "stored_compressed_bytes": self.stored_compressed_bytes,
            "blobs_read": self.blobs_read,
        }


@dataclass(frozen=True)
class FleetTables:
    """The tables of a fleet run (pandas DataFrames) and its totals."""

    images: pd.DataFrame
    layers: pd.DataFrame
    image_layers: pd.DataFrame
    packages: pd.DataFrame
    categories: pd.DataFrame
    savings: pd.DataFrame
    budget: pd.DataFrame
    totals: FleetTotals

    def items(self) -> list[tuple[str, pd.DataFrame]]:
        return [(name, getattr(self, name)) for name in TABLES]


def _frame(columns: dict[str, tuple[Sequence[Any], str]]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(list(values), dtype=dtype) for name, (values, dtype) in columns.items()})


def images_table(images: Sequence[ImageSummary]) -> pd.DataFrame:
    def col(get: Any, dtype: str) -> tuple[list[Any], str]:
        return [get(s) for s in images], dtype

    return _frame(
        {
            "reference": col(lambda s: s.target.reference, "string"),
            "repository": col(lambda s: s.target.repository, "string"),
            "tag": col(lambda s: s.target.tag, "string"),
            "digest": col(lambda s: s.digest, "string"),
            "platform": col(lambda s: s.platform, "string"),
            "size": col(lambda s: s.size, "Int64"),
            "compressed_size": col(lambda s: s.compressed_size, "Int64"),
            "final_size": col(lambda s: s.final_size, "Int64"),
            "wasted_bytes": col(lambda s: s.wasted_bytes, "Int64"),
            "layers": col(lambda s: len(s.layers) if s.error is None else None, "Int64"),
            "base_layer": col(lambda s: s.base_layer, "string"),
            "savings_bytes": col(lambda s: sum(x.bytes for x in s.savings) if s.error is None else None, "Int64"),
            "budget_failures": col(lambda s: sum(b.status == "fail" for b in s.budget) if s.budget else None, "Int64"),
            "error": col(lambda s: s.error, "string"),
        }
    )


def layers_table(images: Sequence[ImageSummary], stats: dict[str, LayerStats]) -> pd.DataFrame:
    """One row per unique blob that a summarised image uses; `images` counts the images using it."""
    first: dict[str, Any] = {}
    users: Counter[str] = Counter()
    for s in images:
        for layer in s.layers:
            first.setdefault(layer.key, layer)
        for key in {layer.key for layer in s.layers}:
            users[key] += 1
    keys = list(first)

    def st(key: str) -> LayerStats | None:
        return stats.get(key)

    return _frame(
        {
            "digest": ([first[k].digest or k for k in keys], "string"),
            "diff_id": ([first[k].diff_id for k in keys], "string"),
            "size": ([first[k].size for k in keys], "Int64"),
            "compressed_size": ([first[k].compressed_size for k in keys], "Int64"),
            "files": ([first[k].files for k in keys], "Int64"),
            "images": ([users[k] for k in keys], "int64"),
            "read": ([None if (x := st(k)) is None else x.read for k in keys], "boolean"),
            "read_seconds": ([None if (x := st(k)) is None else x.seconds for k in keys], "Float64"),
        }
    )


def image_layers_table(images: Sequence[ImageSummary]) -> pd.DataFrame:
    rows = [(s.target.reference, x.index, x.digest or x.key, x.diff_id, x.size, x.compressed_size)
            for s in images for x in s.layers]  # fmt: skip
    return _frame(
        {
            "reference": ([r[0] for r in rows], "string"),
            "index": ([r[1] for r in rows], "int64"),
            "digest": ([r[2] for r in rows], "string"),
            "diff_id": ([r[3] for r in rows], "string"),
            "size": ([r[4] for r in rows], "Int64"),
            "compressed_size": ([r[5] for r in rows], "Int64"),
        }
    )


def packages_table(images: Sequence[ImageSummary]) -> pd.DataFrame:
    rows = [(s.target.reference, p) for s in images for p in s.packages]
    return _frame(
        {
            "reference": ([r for r, _ in rows], "string"),
            "ecosystem": ([p.ecosystem for _, p in rows], "string"),
            "name": ([p.name for _, p in rows], "string"),
            "version": ([p.version for _, p in rows], "string"),
            "bytes": ([p.bytes for _, p in rows], "int64"),
            "files": ([p.files for _, p in rows], "int64"),
            "category": ([p.category for _, p in rows], "string"),
        }
    )


def categories_table(images: Sequence[ImageSummary]) -> pd.DataFrame:
    rows = [(s.target.reference, name, n) for s in images for name, n in s.categories]
    return _frame(
        {
            "reference": ([r[0] for r in rows], "string"),
            "category": ([r[1] for r in rows], "string"),
            "bytes": ([r[2] for r in rows], "int64"),
        }
    )


def savings_table(images: Sequence[ImageSummary]) -> pd.DataFrame:
    rows = [(s.target.reference, x) for s in images for x in s.savings]
    return _frame(
        {
            "reference": ([r for r, _ in rows], "string"),
            "what": ([x.what for _, x in rows], "string"),
            "bytes": ([x.bytes for _, x in rows], "int64"),
            "how": ([x.how for _, x in rows], "string"),
        }
    )


def budget_table(images: Sequence[ImageSummary]) -> pd.DataFrame:
    rows = [(s.target.reference, b) for s in images for b in s.budget]
    return _frame(
        {
            "reference": ([r for r, _ in rows], "string"),
            "rule": ([b.rule for _, b in rows], "string"),
            "status": ([b.status for _, b in rows], "string"),
            "message": ([b.message for _, b in rows], "string"),
        }
    )


def build(images: Sequence[ImageSummary], stats: dict[str, LayerStats]) -> FleetTables:
    ok = [s for s in images if s.error is None]
    image_rows, layer_rows = images_table(images), layers_table(ok, stats)
    return FleetTables(
        images=image_rows,
        layers=layer_rows,
        image_layers=image_layers_table(ok),
        packages=packages_table(ok),
        categories=categories_table(ok),
        savings=savings_table(ok),
        budget=budget_table(ok),
        totals=totals(image_rows, layer_rows, stats, stored_word(x.media_type for s in ok for x in s.layers)),
    )


def totals(
    images: pd.DataFrame, layers: pd.DataFrame, stats: dict[str, LayerStats], stored_as: str = STORED
) -> FleetTotals:
    ok = images[images["error"].isna()]
    return FleetTotals(
        images=len(images),
        failed_images=int(images["error"].notna().sum()),
        unique_layers=len(layers),
        logical_bytes=int(ok["size"].fillna(0).sum()),
        stored_bytes=int(layers["size"].fillna(0).sum()),
        logical_compressed_bytes=int(ok["compressed_size"].fillna(0).sum()),
        stored_compressed_bytes=int(layers["compressed_size"].fillna(0).sum()),
        blobs_read=sum(1 for x in stats.values() if x.read and x.error is None),
        stored_as=stored_as,
    )
