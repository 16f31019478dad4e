"""HTML tables of an analysis and of a comparison: the compact summary Jupyter shows
(`_repr_html_`) and the tables of the HTML report. Plain strings, no pandas, no matplotlib.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from layerscope.analysis.breakdown import all_waste, per_layer
from layerscope.analysis.compare import Comparison
from layerscope.analysis.pkgview import UNAVAILABLE, report_of
from layerscope.model import Analysis, Layer, PackageRebuild, PackageReport
from layerscope.output.text.bumps import rebuild_text
from layerscope.textsafe import html_lines
from layerscope.textsafe import html_text as escape
from layerscope.units import fmt_pct, fmt_size

if TYPE_CHECKING:
    from layerscope.buildcache.pricing.imagemap import RebuildCost

Cell = str | int | None


def _cell(value: Cell) -> str:
    return "–" if value is None else escape(str(value))


def table(
    headers: Sequence[str], rows: Sequence[Sequence[Cell]], numeric: Sequence[int] = (), caption: str = ""
) -> str:
    """A table; the columns at `numeric` are right-aligned."""
    right = ' style="text-align:right"'
    head = "".join(f"<th{right if i in numeric else ''}>{escape(h)}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f"<td{right if i in numeric else ''}>{_cell(v)}</td>" for i, v in enumerate(r)) + "</tr>"
        for r in rows
    )
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _step(text: str | None, width: int = 80) -> str:
    if not text:
        return "–"
    text = " ".join(text.replace("/bin/sh -c #(nop) ", "").split()).replace("/bin/sh -c ", "", 1)
    text = text.removesuffix(" # buildkit")
    return text if len(text) <= width else text[: width - 1] + "…"


def totals_table(a: Analysis) -> str:
    t = a.totals
    return table(
        ["size", "stored", "final filesystem", "hidden by later layers", "efficiency", "layers", "files"],
        [
            [
                fmt_size(t.size),
                fmt_size(t.compressed_size),
                fmt_size(t.final_size),
                fmt_size(t.wasted_bytes),
                fmt_pct(t.efficiency),
                len(a.image.layers),
                None if t.files is None else f"{t.files:,}",
            ]
        ],
        numeric=range(7),
    )


def layers_table(a: Analysis, top: int | None = None) -> str:
    split = {x.index: x for x in per_layer(a) or []}
    layers = list(a.image.layers)
    if top is not None:
        layers = sorted(layers, key=lambda x: -(x.size or 0))[:top]
    rows: list[list[Cell]] = [
        [
            x.index,
            fmt_size(x.size),
            fmt_size(x.compressed_size),
            fmt_size(split[x.index].hidden) if x.index in split else None,
            None if x.files is None else f"{x.files:,}",
            _step(x.created_by),
        ]
        for x in layers
    ]
    caption = f"the {len(rows)} largest layers" if top is not None and len(rows) < len(a.image.layers) else "layers"
    return table(["#", "size", "stored", "hidden later", "files", "created by"], rows, (0, 1, 2, 3, 4), caption)


def waste_table(a: Analysis, top: int = 15) -> str:
    waste = all_waste(a)
    if not waste:
        return "<p>No hidden bytes: every byte a layer adds is in the final filesystem.</p>"
    rows: list[list[Cell]] = [[fmt_size(w.bytes), w.layer, w.hidden_by, w.reason, "/" + w.path] for w in waste[:top]]
    caption = f"largest hidden paths ({min(top, len(waste))} of {len(waste)})"
    return table(["bytes", "added by", "hidden by", "why", "path"], rows, (0, 1, 2), caption)


def packages_table(a: Analysis, top: int = 20) -> str:
    report = report_of(a)
    if report is None:
        return f"<p>Packages: {UNAVAILABLE}.</p>"
    pk = sorted(report.packages, key=lambda p: -p.size)
    rows: list[list[Cell]] = [[fmt_size(p.size), p.ecosystem, p.name, p.version, p.layer, p.category] for p in pk[:top]]
    caption = f"largest packages ({len(rows)} of {len(pk)})"
    headers = ["size", "ecosystem", "package", "version", "layer", "category"]
    if any(p.rebuild is not None for p in pk):  # what bumping each one's pin rebuilds (buildcache/features/bump.py)
        headers += ["a bump rebuilds", "installed by"]
        for row, p in zip(rows, pk, strict=False):
            r = p.rebuild
            row += [None, None] if r is None else [rebuild_text(r, a.image.layers), _installed_by(r)]
    return table(headers, rows, (0, 4), caption) + _advice(report, a.image.layers)


def _installed_by(r: PackageRebuild) -> str:
    where = f"line {r.step_line}: " if r.step_line is not None else ""
    n = r.shared_total
    return where + _step(r.step_text, 60) + (f" (with {n} other package{'s' if n != 1 else ''})" if n else "")


def _advice(report: PackageReport, image_layers: Sequence[Layer]) -> str:
    out = []
    for x in report.rebuild_advice:
        before, after, heavy = (rebuild_text(r, image_layers) for r in (x.before, x.after, x.heavy_after))
        out.append(
            f"<p><strong>Split the install at line {x.step_line}</strong>: {escape(x.why)} Bumping any of the "
            f"{x.others} others: {escape(before)} now; {escape(after)} with the "
            f"split (seconds: at most). Bumping {escape(', '.join(x.heavy))}: {escape(heavy)}."
            f"</p><pre>{html_lines(x.dockerfile)}</pre>"
        )
    return "".join(out)


def categories_table(a: Analysis) -> str:
    report = report_of(a)
    if report is None:
        return f"<p>Categories: {UNAVAILABLE}.</p>"
    final = a.totals.final_size or 0
    rows = [
        [c.name, fmt_size(c.bytes), fmt_pct(c.bytes / final if final else None), ", ".join(p for p, _ in c.paths[:3])]
        for c in sorted(report.categories, key=lambda c: -c.bytes)
        if c.bytes
    ]
    return table(["category", "bytes", "of final", "largest places"], rows, (1, 2), "final filesystem by category")


def analysis_html(a: Analysis) -> str:
    """The compact summary a notebook shows for an Analysis."""
    img = a.image
    head = (
        f"<p><strong>{escape(img.reference)}</strong> · {escape(img.source)} · {escape(img.platform)}"
        f" · <code>{escape(img.config_digest[:19])}</code></p>"
    )
    notes = "".join(f"<li>{escape(n)}</li>" for n in (*img.notes, *a.notes))
    return (
        f'<div class="layerscope">{head}{totals_table(a)}{layers_table(a, top=5)}{waste_table(a, top=5)}'
        + (f"<ul>{notes}</ul>" if notes else "")
        + "</div>"
    )


def comparison_html(c: Comparison) -> str:
    sv = c.saving
    rows: list[list[Cell]] = [
        [
            side,
            x.image.reference,
            fmt_size(x.totals.size),
            fmt_size(x.totals.compressed_size),
            fmt_size(x.totals.final_size),
            fmt_size(x.totals.wasted_bytes),
            len(x.image.layers),
        ]
        for side, x in (("A", c.a), ("B", c.b))
    ]
    head = table(["", "reference", "size", "stored", "final", "hidden", "layers"], rows, (2, 3, 4, 5, 6))
    saving = (
        f"<p>B saves <strong>{fmt_size(sv.bytes)}</strong> ({sv.percent} % of A); stored "
        f"{fmt_size(sv.compressed_bytes)}; final filesystem {fmt_size(sv.final_bytes)}. Shared base: "
        f"{_layers(c.shared_count)}, {fmt_size(c.shared_bytes)}.</p>"
        if sv.bytes is not None and sv.bytes >= 0
        else f"<p>B is {fmt_size(-(sv.bytes or 0))} larger than A. Shared base: {_layers(c.shared_count)}.</p>"
    )
    cats = (
        table(
            ["category", "A", "B", "B − A"],
            [[x.name, fmt_size(x.a_bytes), fmt_size(x.b_bytes), _signed(x.delta)] for x in c.categories if x.delta],
            (1, 2, 3),
            "categories that differ",
        )
        if c.categories is not None
        else f"<p>Categories: {UNAVAILABLE}.</p>"
    )
    pk = (
        table(
            ["package", "A", "B", "B − A"],
            [
                [
                    f"{p.ecosystem}:{p.name}",
                    _version_size(p.a_version, p.a_size),
                    _version_size(p.b_version, p.b_size),
                    _signed(p.delta),
                ]
                for p in c.packages
                if p.delta
            ][:15],
            (1, 2, 3),
            "packages that differ",
        )
        if c.packages is not None
        else f"<p>Packages: {UNAVAILABLE}.</p>"
    )
    return f'<div class="layerscope">{head}{saving}{cats}{pk}</div>'


def _signed(n: int) -> str:
    return ("+" if n > 0 else "−" if n < 0 else "") + fmt_size(abs(n))


def _version_size(version: str | None, size: int) -> str:
    return "–" if version is None else f"{version} ({fmt_size(size)})"


def _layers(n: int) -> str:
    return f"{n} layer" if n == 1 else f"{n} layers"


def rebuild_table(cost: RebuildCost) -> str:
    """Every step of the simulation: status, why, and the layer it made in the image with its bytes."""
    s = cost.simulation.summary
    rows: list[list[Cell]] = []
    for c in cost.steps:
        made = c.layers
        rows.append(
            [
                c.step.line,
                c.step.stage,
                c.step.status,
                _step(c.step.text),
                None if made is None else ", ".join(f"#{n}" for n in made.layers) or "–",
                None if made is None or not made.layers else fmt_size(made.size),
                None if made is None or not made.layers else fmt_size(made.compressed_size),
                c.step.reason,
            ]
        )
    total = f"{s.missed_steps} step(s) rebuild: {len(cost.layers)} layer(s), {fmt_size(cost.bytes)}"
    total += f" ({fmt_size(cost.compressed_bytes)} as stored)" if cost.compressed_bytes is not None else ""
    return table(
        ["line", "stage", "status", "step", "layers", "size", "stored", "why"],
        rows,
        numeric=(0, 5, 6),
        caption=f"{cost.simulation.builder}, target {cost.simulation.target}: {total}",
    )
