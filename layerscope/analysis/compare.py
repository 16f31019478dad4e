"""Two images side by side: the shared base by diff_id, then the differing tail; per-package
and per-category differences; the saving of B against A (its `compare --json`
document, layerscope.compare/1 in docs/CONTRACT.md, is in layerscope/output/json.py).

Signs: a `delta` is B minus A (what changed going from A to B); a `saving` is A minus B
(what B saves), so a smaller B has negative deltas and a positive saving.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import TYPE_CHECKING, Any

from layerscope import renderhooks
from layerscope.analysis.pkgview import CATEGORIES, report_of
from layerscope.model import Analysis, Layer, PackageReport, Totals

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True, slots=True)
class LayerPair:
    """One row of the alignment: a layer of A, of B, or one of each."""

    a_index: int | None
    b_index: int | None
    diff_id: str | None  # set when both sides are the same layer (same diff_id)
    a_size: int | None
    b_size: int | None


@dataclass(frozen=True, slots=True)
class PackageDelta:
    ecosystem: str
    name: str
    a_version: str | None  # None where A has no such package
    b_version: str | None
    a_size: int
    b_size: int

    @property
    def delta(self) -> int:
        return self.b_size - self.a_size


@dataclass(frozen=True, slots=True)
class CategoryDelta:
    name: str
    a_bytes: int
    b_bytes: int

    @property
    def delta(self) -> int:
        return self.b_bytes - self.a_bytes


@dataclass(frozen=True, slots=True)
class SizeSaving:
    """What B saves against A (A minus B); None where a side does not know the figure."""

    bytes: int | None  # totals.size: the image size users see
    compressed_bytes: int | None
    final_bytes: int | None  # totals.final_size
    percent: float | None  # of A's totals.size


@dataclass(frozen=True, slots=True, repr=False)
class Comparison:
    a: Analysis
    b: Analysis
    shared_count: int  # the common base: leading layers with equal diff_ids
    shared_bytes: int
    layers: tuple[LayerPair, ...]
    packages: tuple[PackageDelta, ...] | None  # None without package attribution on either side
    categories: tuple[CategoryDelta, ...] | None
    saving: SizeSaving

    def __repr__(self) -> str:
        return (
            f"Comparison(a={self.a.image.reference!r}, b={self.b.image.reference!r}, "
            f"shared_layers={self.shared_count}, saving_bytes={self.saving.bytes}, "
            f"saving_percent={self.saving.percent})"
        )

    def document(self) -> dict[str, Any]:
        return renderhooks.document("compare_document", self)

    def layers_df(self) -> pd.DataFrame:
        return renderhooks.frame("compare_layers_df", self)

    def packages_df(self) -> pd.DataFrame:
        return renderhooks.frame("compare_packages_df", self)

    def categories_df(self) -> pd.DataFrame:
        return renderhooks.frame("compare_categories_df", self)

    def _repr_html_(self) -> str:
        return renderhooks.html("comparison_html", self)


def _size(layer: Layer) -> int | None:
    return layer.size


def pair_layers(a: tuple[Layer, ...], b: tuple[Layer, ...]) -> tuple[int, list[LayerPair]]:
    """The shared base (leading equal diff_ids), then the tails aligned as a diff would:
    a layer found in both tails (same diff_id) is matched; every other layer stands alone
    (A's, then B's), since layers that differ are not "the same step" by position."""
    k = 0
    while k < len(a) and k < len(b) and a[k].diff_id == b[k].diff_id:
        k += 1
    rows = [LayerPair(i, i, a[i].diff_id, _size(a[i]), _size(b[i])) for i in range(k)]
    ta, tb = a[k:], b[k:]
    matcher = SequenceMatcher(None, [x.diff_id for x in ta], [x.diff_id for x in tb], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            rows += [
                LayerPair(k + i, k + j, ta[i].diff_id, _size(ta[i]), _size(tb[j]))
                for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
            ]
            continue
        rows += [LayerPair(k + i, None, None, _size(ta[i]), None) for i in range(i1, i2)]
        rows += [LayerPair(None, k + j, None, None, _size(tb[j])) for j in range(j1, j2)]
    return k, rows


def _by_package(report: PackageReport) -> dict[tuple[str, str], tuple[str, int]]:
    """(ecosystem, name) -> (versions, bytes); two installs of one name (two prefixes) add up."""
    versions: dict[tuple[str, str], set[str]] = defaultdict(set)
    sizes: dict[tuple[str, str], int] = defaultdict(int)
    for p in report.packages:
        versions[(p.ecosystem, p.name)].add(p.version)
        sizes[(p.ecosystem, p.name)] += p.size
    return {k: (", ".join(sorted(v)), sizes[k]) for k, v in versions.items()}


def _packages(ra: PackageReport, rb: PackageReport) -> tuple[PackageDelta, ...]:
    pa, pb = _by_package(ra), _by_package(rb)
    out = []
    for key in pa.keys() | pb.keys():
        va, sa = pa.get(key, (None, 0))
        vb, sb = pb.get(key, (None, 0))
        out.append(PackageDelta(key[0], key[1], va, vb, sa, sb))
    out.sort(key=lambda d: (-abs(d.delta), d.ecosystem, d.name.lower()))
    return tuple(out)


def _categories(ra: PackageReport, rb: PackageReport) -> tuple[CategoryDelta, ...]:
    ca = {c.name: c.bytes for c in ra.categories}
    cb = {c.name: c.bytes for c in rb.categories}
    names = list(CATEGORIES) + sorted((ca.keys() | cb.keys()) - set(CATEGORIES))
    return tuple(CategoryDelta(n, ca.get(n, 0), cb.get(n, 0)) for n in names)


def _minus(x: int | None, y: int | None) -> int | None:
    return None if x is None or y is None else x - y


def saving(ta: Totals, tb: Totals) -> SizeSaving:
    size = _minus(ta.size, tb.size)
    percent = None if size is None or not ta.size else round(100 * size / ta.size, 2)
    return SizeSaving(
        size, _minus(ta.compressed_size, tb.compressed_size), _minus(ta.final_size, tb.final_size), percent
    )


def compare_analyses(a: Analysis, b: Analysis) -> Comparison:
    shared, rows = pair_layers(a.image.layers, b.image.layers)
    shared_bytes = sum(layer.size or 0 for layer in a.image.layers[:shared])
    ra, rb = report_of(a), report_of(b)
    return Comparison(
        a=a,
        b=b,
        shared_count=shared,
        shared_bytes=shared_bytes,
        layers=tuple(rows),
        packages=None if ra is None or rb is None else _packages(ra, rb),
        categories=None if ra is None or rb is None else _categories(ra, rb),
        saving=saving(a.totals, b.totals),
    )
