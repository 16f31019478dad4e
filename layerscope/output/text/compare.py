"""`layerscope compare`'s text: two images side by side, layer by layer, by category and by package."""

from __future__ import annotations

from layerscope.analysis.compare import Comparison
from layerscope.analysis.pkgview import UNAVAILABLE
from layerscope.units import fmt_pct, fmt_size

PACKAGE_LINES = 20
STEP_WIDTH = 60


def _signed(n: int | None) -> str:
    if n is None:
        return "unknown"
    return ("+" if n > 0 else "−" if n < 0 else "±") + fmt_size(abs(n))


def _idx(i: int | None) -> str:
    return "-" if i is None else str(i)


def _step(c: Comparison, a_index: int | None, b_index: int | None) -> str:
    layer = c.a.image.layers[a_index] if a_index is not None else c.b.image.layers[b_index or 0]
    text = " ".join((layer.created_by or "-").replace("/bin/sh -c #(nop) ", "").split())
    text = text.replace("/bin/sh -c ", "", 1).removesuffix(" # buildkit")
    return text if len(text) <= STEP_WIDTH else text[: STEP_WIDTH - 1] + "…"


def render(c: Comparison) -> list[str]:
    lines = []
    for side, x in (("A", c.a), ("B", c.b)):
        t = x.totals
        lines.append(
            f"{side}  {x.image.reference}: {fmt_size(t.size)} in {len(x.image.layers)} layers, "
            f"stored {fmt_size(t.compressed_size)}, final {fmt_size(t.final_size)}, "
            f"hidden {fmt_size(t.wasted_bytes)} (efficiency {fmt_pct(t.efficiency)})"
        )
    sv = c.saving
    if sv.bytes is None:
        lines.append("Saving     unknown (layer contents not read)")
    else:
        verb = "saves" if sv.bytes >= 0 else "adds"
        lines.append(
            f"Saving     B {verb} {fmt_size(abs(sv.bytes))} ({abs(sv.percent or 0):.1f} % of A); "
            f"stored {_signed(-sv.compressed_bytes if sv.compressed_bytes is not None else None)}, "
            f"final filesystem {_signed(-sv.final_bytes if sv.final_bytes is not None else None)} (B − A)"
        )
    lines.append(f"Shared     {c.shared_count} base layers by diff_id, {fmt_size(c.shared_bytes)}")
    lines += [
        "",
        "Layers (the shared base, then each image's own layers):",
        f"{'A#':>4} {'A size':>10}  {'B#':>4} {'B size':>10}",
    ]
    for r in c.layers:
        a_size = "" if r.a_index is None else fmt_size(r.a_size)
        b_size = "" if r.b_index is None else fmt_size(r.b_size)
        mark = "shared" if r.diff_id is not None else ("A only" if r.b_index is None else "B only")
        step = _step(c, r.a_index, r.b_index)
        lines.append(f"{_idx(r.a_index):>4} {a_size:>10}  {_idx(r.b_index):>4} {b_size:>10}  {mark:<6}  {step}")
    lines.append("")
    if c.categories is None:
        lines.append(f"Categories and packages: {UNAVAILABLE}")
        return lines
    lines += ["Categories (final filesystem):", f"{'A':>10} {'B':>10} {'B − A':>11}  Category"]
    for cat in c.categories:
        if cat.a_bytes or cat.b_bytes:
            lines.append(
                f"{fmt_size(cat.a_bytes):>10} {fmt_size(cat.b_bytes):>10} {_signed(cat.delta):>11}  {cat.name}"
            )
    changed = [p for p in c.packages or () if p.delta]
    lines += ["", f"Packages that differ ({len(changed)} of {len(c.packages or ())}):"]
    if changed:
        lines.append(f"{'B − A':>11}  {'A':<22} {'B':<22} Package")
        for p in changed[:PACKAGE_LINES]:
            va = "-" if p.a_version is None else f"{p.a_version} ({fmt_size(p.a_size)})"
            vb = "-" if p.b_version is None else f"{p.b_version} ({fmt_size(p.b_size)})"
            lines.append(f"{_signed(p.delta):>11}  {va:<22} {vb:<22} {p.ecosystem}:{p.name}")
        if len(changed) > PACKAGE_LINES:
            lines.append(f"             … {len(changed) - PACKAGE_LINES} more (--json lists all)")
    return lines
