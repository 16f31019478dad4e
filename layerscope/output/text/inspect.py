"""`layerscope inspect`'s text: layers, history, sizes, waste, efficiency, warnings."""

from __future__ import annotations

from layerscope.analysis.exposure import DEFAULT_GLOBS, describe
from layerscope.analysis.unknown import CONTENT_FIGURES, MANIFEST_ONLY_NOTE
from layerscope.model import COMPRESSED, STORED_MIXED, Analysis, layers_stored_word
from layerscope.units import fmt_pct, fmt_size

WASTE_LINES = 10
WARNING_LINES = 10


def _short(text: str | None, width: int) -> str:
    if not text:
        return "-"
    text = " ".join(text.replace("/bin/sh -c #(nop) ", "").split())
    text = text.removesuffix(" # buildkit")
    if text.startswith("/bin/sh -c "):
        text = "RUN " + text[len("/bin/sh -c ") :]
    text = text.replace("RUN /bin/sh -c ", "RUN ", 1)
    return text if len(text) <= width else text[: width - 1] + "…"


def render(a: Analysis) -> list[str]:
    img, t = a.image, a.totals
    lines = [
        f"Image      {img.reference}  ({img.source}, {img.platform})",
        f"Image ID   {img.config_digest}",
    ]
    if img.digest:
        lines.append(f"Manifest   {img.digest}")
    comp = fmt_size(t.compressed_size)
    how = {
        COMPRESSED: "compressed, as stored or pulled",
        STORED_MIXED: "as stored: this source keeps some layers uncompressed",
    }.get(layers_stored_word(img.layers), "as stored: this source keeps layers uncompressed")
    n = len(img.layers)
    if img.manifest_only:
        lines.append(f"Size       {n} layers; uncompressed sizes unknown")
        lines.append(
            "Unknown    " + ", ".join(words for _, words in CONTENT_FIGURES) + " (--manifest-only: layers not read)"
        )
    else:
        lines.append(f"Size       {fmt_size(t.size)} uncompressed in {n} layers (file contents, as dive counts)")
    lines.append(f"Stored     {comp} {how}")
    if t.final_size is not None:
        lines.append(f"Final fs   {fmt_size(t.final_size)} in {t.files:,} files")
        lines.append(
            f"Waste      {fmt_size(t.wasted_bytes)} hidden by later layers (layerscope's count), "
            f"efficiency {fmt_pct(t.efficiency)}"
        )
    if a.dive is not None:
        lines.append(
            f"dive       efficiency {fmt_pct(a.dive.efficiency)}, wasted {fmt_size(a.dive.wasted_bytes)}, "
            f"user wasted {fmt_pct(a.dive.user_wasted_percent)} (dive 0.13.1's formulas)"
        )
    lines += ["", f"{'#':>3}  {'Size':>9}  {'Stored':>10}  {'Files':>6}  Created by"]
    for layer in img.layers:
        files = "-" if layer.files is None else f"{layer.files:,}"
        lines.append(
            f"{layer.index:>3}  {fmt_size(layer.size):>9}  {fmt_size(layer.compressed_size):>10}  "
            f"{files:>6}  {_short(layer.created_by, 70)}"
        )
    if a.waste:
        lines += ["", "Largest hidden paths (bytes no longer visible in the final filesystem):"]
        lines.append(f"{'Bytes':>9}  {'Added':>5}  {'Hidden':>6}  {'Why':<11}  Path")
        for w in a.waste[:WASTE_LINES]:
            lines.append(f"{fmt_size(w.bytes):>9}  {w.layer:>5}  {w.hidden_by:>6}  {w.reason:<11}  /{w.path}")
        if len(a.waste) > WASTE_LINES:
            lines.append(f"           … {len(a.waste) - WASTE_LINES} more (--json lists {min(len(a.waste), 50)})")
    empty = sum(1 for h in img.history if h.empty_layer)
    lines += ["", f"History    {len(img.history)} entries, {empty} without a layer:"]
    for h in img.history:
        where = "     " if h.layer_index is None else f"L{h.layer_index:<4}"
        lines.append(f"  {h.index:>3} {where} {_short(h.created_by, 90)}")
    notes = [n for n in (*img.notes, *a.notes) if n != MANIFEST_ONLY_NOTE]  # said above already
    if notes:
        lines += ["", "Notes:"] + [f"  - {n}" for n in notes]
    return lines + warnings(a)


def warnings(a: Analysis) -> list[str]:
    """What should not ship: forbidden paths (the default globs), secrets in Env and history,
    and, when file contents were scanned (--secrets), secrets in files. Nothing when all is clean
    and unscanned: that is the default, said in --help."""
    e = a.exposure
    if e is None:
        return []
    found = e.findings
    if not found:
        if not e.secrets_scanned:
            return []
        return ["", "Warnings   none: no forbidden path, no secret in file heads, Env or history"]
    paths = [f for f in found if f.kind == "path"]
    secrets = [f for f in found if f.kind != "path"]
    hidden = sum(1 for f in found if f.hidden)
    parts = []
    if paths:
        parts.append(f"{len(paths)} path(s) that should not ship")
    if secrets:
        parts.append(f"{len(secrets)} secret(s)")
    head = "Warnings: " + ", ".join(parts)
    if hidden:
        head += f" ({hidden} hidden by a later layer: still in the pulled blobs)"
    lines = ["", head + ":"]
    lines += [f"  {describe(f)}" for f in found[:WARNING_LINES]]
    if len(found) > WARNING_LINES:
        lines.append(f"  … {len(found) - WARNING_LINES} more (--json lists every one)")
    if e.path_globs == DEFAULT_GLOBS and not e.secrets_scanned:
        lines.append("  (paths: the default globs; file contents not scanned: inspect --secrets)")
    return lines
