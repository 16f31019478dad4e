"""A treemap of the final filesystem: one cell per package (and per top-level directory of
the bytes in no package), or per directory; area is bytes, colour the category.

Layout: the squarified algorithm of Bruls, Huizing and van Wijk (2000): cells are laid in
rows along the shorter side of what is left, a row growing while that makes its worst
aspect ratio better.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from matplotlib.figure import Figure, FigureBase
from matplotlib.patches import Patch, Rectangle

from layerscope.analysis.pkgview import CATEGORIES, UNAVAILABLE, file_categories, report_of
from layerscope.analysis.state import tree_of
from layerscope.errors import UsageError
from layerscope.model import Analysis
from layerscope.output.report import style
from layerscope.textsafe import visible
from layerscope.units import fmt_size

Rect = tuple[float, float, float, float]  # x, y, width, height
MAX_CELLS = 60
SPLIT = 0.08  # directory cells: split a directory holding more than this share of the bytes
WIDTH, HEIGHT = 11.0, 6.0  # inches; the axes use inches as data units, to fit labels


@dataclass(frozen=True, slots=True)
class Cell:
    label: str
    bytes: int
    category: str | None


def _worst(row: list[float], side: float) -> float:
    s = sum(row)
    return max(max(side * side * r / (s * s), s * s / (side * side * r)) for r in row)


def squarify(values: list[float], x: float, y: float, w: float, h: float) -> list[Rect]:
    """Rectangles tiling (x, y, w, h) with areas proportional to `values` (sorted largest
    first, all positive), in the same order."""
    total = sum(values)
    if total <= 0 or w <= 0 or h <= 0:
        return []
    sizes = [v * w * h / total for v in values]
    out: list[Rect] = []
    i = 0
    while i < len(sizes):
        side = min(w, h)
        row = [sizes[i]]
        i += 1
        while i < len(sizes) and _worst([*row, sizes[i]], side) <= _worst(row, side):
            row.append(sizes[i])
            i += 1
        s = sum(row)
        if w >= h:  # a column at the left
            cw, yy = s / h, y
            for v in row:
                out.append((x, yy, cw, v / cw))
                yy += v / cw
            x, w = x + cw, w - cw
        else:  # a row at the bottom
            rh, xx = s / w, x
            for v in row:
                out.append((xx, y, v / rh, rh))
                xx += v / rh
            y, h = y + rh, h - rh
    return out


def package_cells(a: Analysis) -> list[Cell] | None:
    report = report_of(a)
    if report is None:
        return None
    cells = [Cell(visible(f"{p.name} {p.version}"), p.size, p.category) for p in report.packages if p.size > 0]
    cells += [Cell(f"{d} (no package)", n, None) for d, n in report.unattributed if n > 0]
    return cells


def _tail(path: str, width: int = 24) -> str:
    """A long directory by its end, where the name that tells is."""
    path = visible(path)
    return path if len(path) <= width else "…" + path[-(width - 1) :]


def directory_cells(a: Analysis) -> list[Cell] | None:
    """Directories, the largest split into their children while a cell holds more than
    SPLIT of the bytes and the cells stay under MAX_CELLS (files directly in a split
    directory become one `dir/*` cell)."""
    tree = tree_of(a)
    if tree is None:
        return None
    cats = file_categories(a) or {}
    size: dict[str, int] = defaultdict(int)  # directory -> bytes below it ("" is the root)
    direct: dict[str, int] = defaultdict(int)
    subdirs: dict[str, set[str]] = defaultdict(set)
    by_cat: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    direct_cat: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for key, names in tree.live_inodes():
        n = tree.inode_size[key]
        if not n:
            continue
        path = min(names)
        cat = cats.get(path) or next((cats[x] for x in names if x in cats), None)
        parent = path.rpartition("/")[0]
        direct[parent] += n
        if cat is not None:
            direct_cat[parent][cat] += n
        d = parent
        while True:
            size[d] += n
            if cat is not None:
                by_cat[d][cat] += n
            if not d:
                break
            up = d.rpartition("/")[0]
            subdirs[up].add(d)
            d = up
    total = size[""]

    def kids(d: str) -> list[tuple[str, bool]]:  # (key, is a directory)
        return [(k, True) for k in subdirs[d]] + ([(d, False)] if direct.get(d) else [])

    cells = kids("")
    while True:
        open_dirs = [c for c in cells if c[1] and size[c[0]] >= total * SPLIT]
        if not open_dirs:
            break
        biggest = max(open_dirs, key=lambda c: size[c[0]])
        more = kids(biggest[0])
        if len(cells) - 1 + len(more) > MAX_CELLS:
            break
        cells.remove(biggest)
        cells += more

    def cell(key: str, is_dir: bool) -> Cell:
        n = size[key] if is_dir else direct[key]
        label = _tail("/" + key) if is_dir else _tail("/" + key + "/*" if key else "/*")
        cat_bytes = by_cat.get(key) if is_dir else direct_cat.get(key)
        return Cell(label, n, max(cat_bytes, key=lambda c: cat_bytes[c]) if cat_bytes else None)

    return [cell(k, is_dir) for k, is_dir in cells]


def _limit(cells: list[Cell]) -> list[Cell]:
    cells = sorted(cells, key=lambda c: (-c.bytes, c.label))
    if len(cells) <= MAX_CELLS:
        return cells
    rest = cells[MAX_CELLS - 1 :]
    return [*cells[: MAX_CELLS - 1], Cell(f"{len(rest)} smaller", sum(c.bytes for c in rest), None)]


def _fits(text: str, w: float, h: float, points: float, lines: int) -> bool:
    """Would `lines` lines of `text` fit in w x h inches (0.6 em per character)?"""
    return len(text) * points * 0.6 / 72 <= w * 0.9 and lines * points * 1.35 / 72 <= h * 0.9


def draw_treemap(fig: FigureBase, a: Analysis, by: str = "auto") -> None:
    if by not in ("auto", "package", "directory"):
        raise UsageError(f"treemap by {by!r}: use package or directory")
    ax = fig.add_subplot()
    name = style.image_name(a)
    cells = package_cells(a) if by in ("auto", "package") else None
    note = None
    if cells is None and by in ("auto", "package"):
        note = UNAVAILABLE + ": cells are directories"
    kind = "package" if cells is not None else "directory"
    if cells is None:
        cells = directory_cells(a)
    if cells is None or not any(c.bytes for c in cells):
        fig.suptitle(f"{name}: bytes of the final filesystem", fontsize=style.TITLE_SIZE, color=style.TEXT)
        style.empty_note(ax, "No file contents to show (empty image, or layers not read).")
        return
    cells = _limit(cells)
    total = sum(c.bytes for c in cells)
    fig.suptitle(
        f"{name}: where the {fmt_size(total)} of the final filesystem are, by {kind}",
        fontsize=style.TITLE_SIZE,
        color=style.TEXT,
    )
    ax.set_title(
        "area: bytes; colour: category"
        + ("; grey cells: bytes in no package, by top-level directory" if kind == "package" else "")
        + "; cells too small for a label are unlabelled",
        fontsize=style.SMALL,
        color=style.TEXT,
    )
    w, h = WIDTH - 0.4, HEIGHT - 1.6
    rects = squarify([c.bytes for c in cells], 0, 0, w, h)
    for cell, (x, y, cw, ch) in zip(cells, rects, strict=True):
        face = style.colour(cell.category) if cell.category else style.LIGHT
        ax.add_patch(Rectangle((x, y), cw, ch, facecolor=face, edgecolor="white", linewidth=1.2))
        dark = cell.category in ("python-packages", "accelerator-libraries", "model-weights", "app", "package-caches")
        ink = "white" if dark else style.TEXT
        size = fmt_size(cell.bytes)
        if _fits(cell.label, cw, ch, style.SMALL, 2) and _fits(size, cw, ch, style.SMALL, 2):
            ax.text(
                x + cw / 2,
                y + ch / 2,
                f"{cell.label}\n{size}",
                ha="center",
                va="center",
                fontsize=style.SMALL,
                color=ink,
            )
        elif _fits(cell.label, cw, ch, 7, 1):
            ax.text(x + cw / 2, y + ch / 2, cell.label, ha="center", va="center", fontsize=7, color=ink)
    ax.set_xlim(0, w)
    ax.set_ylim(0, h)
    ax.set_axis_off()
    present = [c for c in CATEGORIES if any(cell.category == c for cell in cells)]
    handles = [Patch(color=style.colour(c), label=c) for c in present]
    if any(cell.category is None for cell in cells):
        handles.append(Patch(color=style.LIGHT, label="no package" if kind == "package" else "no category"))
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=min(len(handles), 5),
        fontsize=style.SMALL,
        frameon=False,
    )
    if note:
        ax.text(1.0, 1.0, note, transform=ax.transAxes, ha="right", va="bottom", fontsize=style.SMALL, color=style.GREY)


def treemap_figure(a: Analysis, by: str = "auto") -> Figure:
    """Bytes of the final filesystem by package (`by="package"`, the default where package
    attribution exists) or by directory (`by="directory"`)."""
    fig = style.new_figure(WIDTH, HEIGHT)
    draw_treemap(fig, a, by)
    return fig
