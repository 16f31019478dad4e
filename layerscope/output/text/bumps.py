"""What bumping a package's pin costs, as text: `layerscope packages`'s costliest install
steps and split advice, and one bump's cost in a line (rebuild_text: the TUI, the HTML tables)."""

from __future__ import annotations

from collections.abc import Sequence

from layerscope.model import Layer, Package, PackageRebuild, PackageReport, SplitAdvice, layers_stored_word
from layerscope.units import fmt_size

TOP_STEPS = 8


def cost_key(r: PackageRebuild) -> tuple[float, int]:
    """Costlier first: seconds where known, then bytes."""
    return (r.seconds or 0.0, r.bytes or 0)


def _step(r: PackageRebuild, width: int = 60) -> str:
    where = f"line {r.step_line}: " if r.step_line is not None else ""
    text = where + (r.step_text or "?")
    return text if len(text) <= width else text[: width - 1] + "…"


def render_rebuild(report: PackageReport, image_layers: Sequence[Layer]) -> list[str]:
    """The costliest bumps, one row per install step (its packages share the figure), and the split advice."""
    groups: dict[tuple[int | None, str, str], list[Package]] = {}
    for p in report.packages:
        if p.rebuild is not None:
            groups.setdefault((p.rebuild.step_line, p.rebuild.step_text, p.rebuild.change), []).append(p)
    if not groups:
        return []
    ranked = sorted(groups.values(), key=lambda ps: cost_key(_rebuild(ps[0])), reverse=True)
    sources = {ps[0].rebuild.seconds_source for ps in ranked if ps[0].rebuild is not None} - {None}
    how = f"; seconds from {', '.join(sorted(s for s in sources if s))}" if sources else ""
    lines = [f"Costliest bumps (a pin changes: the step that installed it and every step it invalidates{how}):"]
    lines.append(f"  {'Bytes':>9}  {'Stored':>9}  {'Seconds':>8}  {'Layers':>6}  {'Installed by':<60}  Packages")
    for ps in ranked[:TOP_STEPS]:
        r = _rebuild(ps[0])
        names = [p.name for p in sorted(ps, key=lambda p: -p.size)]
        who = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        who += " (one figure: the same step)" if len(names) > 1 else ""
        secs = "-" if r.seconds is None else f"{r.seconds:.1f} s"
        lines.append(f"  {fmt_size(r.bytes):>9}  {fmt_size(r.compressed_bytes):>9}  {secs:>8}  {len(r.layers):>6}  "
                     f"{_step(r):<60}  {who}")  # fmt: skip
    if len(ranked) > TOP_STEPS:
        lines.append(f"  … {len(ranked) - TOP_STEPS} more install steps")
    for x in report.rebuild_advice:
        lines += ["", *advice_text(x, image_layers)]
    return lines


def _rebuild(p: Package) -> PackageRebuild:
    assert p.rebuild is not None
    return p.rebuild


def _cost(r: PackageRebuild, image_layers: Sequence[Layer], bound: bool = False) -> str:
    size = fmt_size(r.bytes) if r.bytes is not None else "? bytes"
    stored = _stored(r, image_layers)
    secs = "" if r.seconds is None else f", {'at most ' if bound else ''}{r.seconds:.1f} s"
    return f"{size}{stored}{secs}"


def _stored(r: PackageRebuild, image_layers: Sequence[Layer]) -> str:
    """The rebuilt layers' blob bytes, with the word that says whether they are compressed."""
    if r.compressed_bytes is None:
        return ""
    return f" ({fmt_size(r.compressed_bytes)} {layers_stored_word(image_layers, r.layers)})"


def advice_text(x: SplitAdvice, image_layers: Sequence[Layer]) -> list[str]:
    heavy = ", ".join(x.heavy)
    before, after = _cost(x.before, image_layers), _cost(x.after, image_layers, True)
    new = x.files[0][0]
    return [
        f"Split the install at line {x.step_line}: {x.why}",
        f"  bumping any of the {x.others} others: {before} now; {after} with the split",
        f"  bumping {heavy}: {_cost(x.heavy_after, image_layers)} with the split (its own step, then the others')",
        f"  the split: {new} holds its pin, installed before the COPY of the others' pins:",
        *[f"    {line}" for line in _inserted(x)],
    ]


def _inserted(x: SplitAdvice) -> list[str]:
    """The lines the split adds (the new COPY and RUN), as the rewritten Dockerfile has them."""
    new = x.files[0][0]
    lines = x.dockerfile.splitlines()
    at = next((i for i, line in enumerate(lines) if new in line and line.split(" ", 1)[0] in ("COPY", "ADD")), None)
    if at is None:
        return []
    end = at + 1
    while end < len(lines) and (end == at + 1 or lines[end - 1].rstrip().endswith("\\")):
        end += 1
    return lines[at:end]


def rebuild_text(r: PackageRebuild, image_layers: Sequence[Layer]) -> str:
    """What a bump costs, in one line (the TUI's details, the report's tables)."""
    layers = f"{len(r.layers)} layer{'s' if len(r.layers) != 1 else ''}"
    size = fmt_size(r.bytes) if r.bytes is not None else "? bytes"
    stored = _stored(r, image_layers)
    secs = "time unknown" if r.seconds is None else f"{r.seconds:.1f} s"
    if r.seconds is not None and r.seconds_source == "history-estimate":
        secs += " (estimate)"
    return f"{layers}, {size}{stored}, {secs}"
