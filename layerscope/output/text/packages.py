"""`layerscope packages`'s text: bytes per package, per layer; what is removable, by category, the savings."""

from __future__ import annotations

from layerscope.model import Analysis, PackageReport
from layerscope.output.text.bumps import render_rebuild
from layerscope.units import fmt_size

TOP = 30


def render(a: Analysis, top: int | None = TOP, purl: bool = False) -> list[str]:
    """The text; `purl` adds each package's package URL as the last column (`--purl`: a purl
    is as long as the rest of the row, so it is asked for; `--json` always has it)."""
    img = a.image
    lines = [f"Image      {img.reference}  ({img.source}, {img.platform})"]
    r = a.packages
    if r is None:
        return [*lines, "", "Packages need layer contents: not read with --manifest-only."]
    final = a.totals.final_size or 0
    owned = sum(p.size for p in r.packages)
    counts: dict[str, int] = {}
    for p in r.packages:
        counts[p.ecosystem] = counts.get(p.ecosystem, 0) + 1
    kinds = ", ".join(f"{n} {eco}" for eco, n in sorted(counts.items(), key=lambda kv: -kv[1])) or "none"
    lines.append(f"Packages   {kinds}: {fmt_size(owned)} of {fmt_size(final)} in the final filesystem")
    lines += ["", *_packages(r, top, purl)]
    bumps = render_rebuild(r, a.image.layers)
    if bumps:
        lines += ["", *bumps]
    if r.removed:
        lines += ["", "Upgraded or removed later (their bytes stay in the layer that installed them):"]
        for x in r.removed[: top or len(r.removed)]:
            then = f"-> {x.replaced_by}" if x.replaced_by else "removed"
            hid = ",".join(str(h) for h in x.hidden_by) or "-"
            lines.append(
                f"  {fmt_size(x.dead_bytes):>9}  {x.ecosystem}:{x.name} {x.version} {then}"
                f"  (installed in layer {x.layer}, hidden by {hid})"
            )
    if r.unattributed:
        lines += ["", "In no package, by top-level directory:"]
        lines += [f"  {fmt_size(b):>9}  {d}" for d, b in r.unattributed[:12]]
    lines += ["", "Categories:"]
    for c in r.categories:
        if c.bytes:
            where = ", ".join(p for p, _ in c.paths[:3])
            lines.append(f"  {fmt_size(c.bytes):>9}  {c.name:<22} {where}")
    if r.savings:
        lines += ["", "Savings:"]
        for s in r.savings:
            lines.append(f"  ≈ {fmt_size(s.bytes)}: {s.what}: {s.how}")
            if s.what == "build-toolchains":
                saved = fmt_size(s.bytes)
                lines.append(f"      a multi-stage build that leaves out build-toolchains would save ≈ {saved}")
            if s.reasoning:
                lines.append(f"      why: {s.reasoning}")
            for e in s.evidence[:5]:
                lines.append(f"      - {e}")
    notes = [*img.notes, *a.notes, *r.notes]
    if notes:
        lines += ["", "Notes:"] + [f"  - {n}" for n in notes]
    return lines


def _packages(r: PackageReport, top: int | None, purl: bool = False) -> list[str]:
    head = f"{'Size':>9}  {'Files':>6}  {'Layer':>5}  {'Dead':>9}  {'Ecosystem':<9}  {'Package':<32} {'Version':<20}"
    rows = [head + (f" {'Category':<22} Package URL" if purl else " Category")]
    shown = r.packages if top is None else r.packages[:top]
    for p in shown:
        name = p.name if len(p.name) <= 32 else p.name[:31] + "…"
        extra = f"  (in {p.provided_by})" if p.provided_by else ""
        layer = "-" if p.layer is None else str(p.layer)
        dead = fmt_size(p.dead_bytes) if p.dead_bytes else "-"
        category = f"{p.category:<22} {p.purl or '-'}" if purl else p.category
        rows.append(
            f"{fmt_size(p.size):>9}  {p.files:>6}  {layer:>5}  {dead:>9}  {p.ecosystem:<9}  {name:<32} "
            f"{p.version[:20]:<20} {category}{extra}"
        )
    if top is not None and len(r.packages) > top:
        rest = r.packages[top:]
        rows.append(f"  … {len(rest)} more, {fmt_size(sum(p.size for p in rest))} (--all lists them)")
    return rows
