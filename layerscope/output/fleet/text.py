"""The text a fleet run prints: a short summary table. Image text (references, tags,
errors) is data: control characters are shown escaped, never sent to the terminal raw."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pandas as pd

from layerscope.textsafe import visible
from layerscope.units import fmt_size

if TYPE_CHECKING:
    from layerscope.fleet.tables import FleetTables

ROWS = 15


def short_digest(digest: str | None, n: int = 12) -> str:
    if not digest:
        return "-"
    alg, _, hexpart = digest.partition(":")
    return f"{alg}:{hexpart[:n]}" if hexpart else digest[:n]


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _size(v: object) -> str:
    return "-" if v is None or pd.isna(v) else fmt_size(int(v))  # type: ignore[call-overload]


def lines(t: FleetTables, rows: int = ROWS) -> Iterator[str]:
    totals = t.totals
    ratio = f"{totals.dedupe_ratio:.2f}x" if totals.dedupe_ratio else "n/a"
    yield (
        f"Images     {totals.images} ({totals.failed_images} failed), {totals.unique_layers} unique layers "
        f"({totals.blobs_read} blobs read, the rest from the layer cache)"
    )
    yield (
        f"Logical    {fmt_size(totals.logical_bytes)} uncompressed, {fmt_size(totals.logical_compressed_bytes)} "
        f"{totals.stored_as} (Σ image sizes)"
    )
    yield (
        f"Stored     {fmt_size(totals.stored_bytes)} uncompressed, {fmt_size(totals.stored_compressed_bytes)} "
        f"{totals.stored_as} (unique blobs once): dedupe {ratio}"
    )
    ok = t.images[t.images["error"].isna()].sort_values(["size", "reference"], ascending=[False, True])
    if not ok.empty:
        yield ""
        yield f"{'Size':>10} {'Final':>10} {'Wasted':>10} {'Savings*':>10} {'Layers':>6}  Image"
        for _, r in ok.head(rows).iterrows():
            yield (
                f"{_size(r['size']):>10} {_size(r['final_size']):>10} {_size(r['wasted_bytes']):>10} "
                f"{_size(r['savings_bytes']):>10} {int(r['layers']):>6}  {_clip(visible(str(r['reference'])), 90)}"
            )
        if len(ok) > rows:
            yield f"(… {len(ok) - rows} more images: --output DIR writes them all)"
        yield "* estimated savings (layerscope packages' estimates, summed)"
    failed = t.images[t.images["error"].notna()]
    if not failed.empty:
        yield ""
        yield "Could not read:"
        for _, r in failed.head(rows).iterrows():
            yield f"  {_clip(visible(str(r['reference'])), 70)}: {_clip(visible(str(r['error'])), 160)}"
        if len(failed) > rows:
            yield f"  (… {len(failed) - rows} more)"
    fails = t.budget[t.budget["status"] == "fail"]
    if not fails.empty:
        yield ""
        yield f"Budget failures ({fails['reference'].nunique()} images):"
        for _, r in fails.head(rows).iterrows():
            ref, rule, why = (visible(str(r[c])) for c in ("reference", "rule", "message"))
            yield f"  {_clip(ref, 70)}: {rule}: {_clip(why, 120)}"
        if len(fails) > rows:
            yield f"  (… {len(fails) - rows} more)"
