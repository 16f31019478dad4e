"""Splitting an install step. A heavy package sharing an expensive install step with many cheap ones is rebuilt
on every bump of any of them. Pinned in a requirements file of its own, copied and installed in a step before
the others, it is rebuilt only when its own pin (or an earlier step) changes.

The figures after the split come from simulating the rewritten Dockerfile (which steps miss when a cheap pin
changes) priced with the image of the last build: the original install step keeps its layer, less the heavy
package's bytes, which move to the new earlier layer; its compressed bytes shrink by the same share (an
estimate), and its seconds are kept whole (an upper bound: the log timed the install as a whole, and a step
has fixed costs, such as the installer's start and resolving the others, that do not shrink with it).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, replace

from layerscope.buildcache.features.pins import CHANGED, Change, normalize, requirement_lines
from layerscope.buildcache.features.rebuilds import SHARED_SHOWN, DockerfileBuild, PackageRebuilds, Priced, figure
from layerscope.buildcache.pricing.image_history import Key, layer_sizes
from layerscope.buildcache.results import MISS
from layerscope.buildfile.context import ContextTree
from layerscope.buildfile.instructions import Instruction
from layerscope.buildfile.stages import Dockerfile, load_dockerfile
from layerscope.errors import LayerscopeError
from layerscope.model import Package, PackageRebuild, PackageReport, SplitAdvice
from layerscope.units import fmt_size

HEAVY_SHARE = 0.5  # of the install layer's bytes
MIN_HEAVY_BYTES = 1_000_000
MIN_OTHERS = 3


@dataclass(frozen=True)
class Split:
    text: str
    df: Dockerfile
    tree: ContextTree
    new_file: str
    files: tuple[tuple[str, str], ...]
    copy_line: int  # the new COPY's line; the new RUN follows it
    run_key: Key  # the original install step, in the split Dockerfile
    run_text: str  # the new install step's


def _copy_of(build: DockerfileBuild, key: Key, run: Instruction, pin_file: str) -> Instruction | None:
    stage, _ = build.whatif.find(*key)
    for ins in reversed(stage.instructions):
        copies = ins.line < run.line and ins.keyword in ("COPY", "ADD") and not ins.flag("from")
        if copies and pin_file in build.whatif.copied_files(ins):
            return ins
    return None


def rewrite(build: DockerfileBuild, key: Key, run: Instruction, pin_file: str, heavy: Package) -> Split | None:
    """The Dockerfile and context with `heavy` pinned in a file of its own, installed before `pin_file`'s COPY."""
    whatif = build.whatif
    copy = _copy_of(build, key, run, pin_file)
    if copy is None or copy.heredocs or copy.json:
        return None
    dest = copy.args[-1]
    stem, ext = posixpath.splitext(posixpath.basename(pin_file))
    new_file = posixpath.join(posixpath.dirname(pin_file), f"{stem}-{normalize(heavy.name)}{ext}")
    if not (dest.endswith("/") or dest in (".", "./")) or new_file in whatif.tree.entries:
        return None  # a COPY to a file name: the RUN reads that name, not ours
    words = [w for w in copy.args[:-1] if posixpath.normpath(w).lstrip("/") == pin_file]
    if not words and not ("/" not in pin_file and any(posixpath.normpath(w) == "." for w in copy.args[:-1])):
        return None
    read = set(build.pins.files_read(whatif.find(*key)[0], run)) - {pin_file}
    # the heavy install reads what the original reads from the same COPY (a constraints file), nothing else of it
    also = [w for w in copy.args[:-1] if posixpath.normpath(w).lstrip("/") in read]
    base = re.compile(r"(?<![\w.-])" + re.escape(posixpath.basename(pin_file)) + r"(?![\w-])")
    if not base.search(run.original):
        return None
    flags = [f"--{k}={v}" if v is not None else f"--{k}" for k, v in copy.flags if k in ("chown", "chmod", "link")]
    heavy_copy = " ".join([copy.keyword, *flags, new_file, *also, dest])
    lines = whatif.df.text.splitlines(keepends=True)
    written = [line if line.endswith("\n") else line + "\n" for line in lines[run.line - 1 : run.end_line]]
    heavy_run = base.sub(posixpath.basename(new_file), "".join(written))  # as written, continuations kept
    text = "".join([*lines[: copy.line - 1], heavy_copy + "\n", heavy_run, *lines[copy.line - 1 :]])
    pins = build.pins.text(pin_file)
    moved = requirement_lines(pins, heavy.name)
    rest = pins
    for line in moved:
        rest = rest.replace(line, "", 1)
    files = ((new_file, "".join(moved) or f"{heavy.name}=={heavy.version}\n"), (pin_file, rest))
    try:
        df = load_dockerfile(text)
    except LayerscopeError:
        return None
    tree = whatif.tree.with_files({p: t.encode() for p, t in files})
    shift = 1 + len(written)
    return Split(text, df, tree, new_file, files, copy.line, (key[0], run.line + shift), " ".join(heavy_run.split()))


def _less(priced: Priced, run_key: Key, heavy: int, size: int, stored: int | None) -> tuple[int | None, int | None]:
    """Bytes and compressed bytes of a simulation of the split, the moved package's share taken off."""
    s = priced.summary
    nbytes, comp = s.rebuilt_bytes, s.rebuilt_compressed_bytes
    step = priced.step(run_key)
    if step is None or step.status != MISS:
        return nbytes, comp
    nbytes = None if nbytes is None else nbytes - heavy
    comp = None if comp is None or stored is None else comp - round(heavy / size * stored)
    return nbytes, comp


def split_advice(build: DockerfileBuild, report: PackageReport, found: PackageRebuilds) -> list[SplitAdvice]:
    out = []
    for key, members in found.groups.items():
        _, run = build.whatif.find(*key)
        layers = build.model.costs[key].layers or () if key in build.model.costs else ()
        if run.keyword != "RUN" or len(layers) != 1 or len(members) < MIN_OTHERS + 1:
            continue
        size, stored = layer_sizes(build.image, layers)
        added = {i: dict(report.packages[i].layers).get(layers[0], 0) for i in members}
        heavy = max(members, key=lambda i: (added[i], report.packages[i].name))
        if not size or added[heavy] < max(MIN_HEAVY_BYTES, HEAVY_SHARE * size):
            continue
        others = [i for i in members if i != heavy and i in found.changes]
        pin_files = {found.changes[i].pin_file for i in others if found.changes[i].kind == CHANGED}
        pin_file = pin_files.pop() if len(pin_files) == 1 else None
        if pin_file is None or any(found.changes[i].run != key for i in others):
            continue
        split = rewrite(build, key, run, pin_file, report.packages[heavy])
        if split is None:
            continue
        try:
            after = build.simulate(Change(CHANGED, (pin_file,), ""), split.df, split.tree)
            heavy_after = build.simulate(Change(CHANGED, (split.new_file,), ""), split.df, split.tree)
        except LayerscopeError:
            continue  # the rewrite does not build (e.g. .dockerignore keeps the new file out)
        before = found.rebuilds[others[0]]
        nbytes, comp = _less(after, split.run_key, added[heavy], size, stored)
        if before.bytes is None or nbytes is None or nbytes >= before.bytes:
            continue
        names = tuple(sorted(report.packages[i].name for i in others))
        cheap = replace(figure(after, split.run_key[1], " ".join(run.original.split()),
                               f"{pin_file} changed, with the split", (names[:SHARED_SHOWN], len(names))),
                        bytes=nbytes, compressed_bytes=comp)  # fmt: skip
        dear: PackageRebuild = figure(heavy_after, split.copy_line + 1, split.run_text,
                                      f"{split.new_file} changed, with the split", ((), 0))  # fmt: skip
        name = report.packages[heavy].name
        why = (
            f"{name} ({fmt_size(added[heavy])}) is {added[heavy] / size:.0%} of the {fmt_size(size)} layer that "
            f"RUN at line {key[1]} installs with {len(others)} other packages: bumping any of them rebuilds it too. "
            f"Installed first from {split.new_file}, it rebuilds only when its own pin changes (its dependencies "
            f"move with it). With the split, its bytes leave the later install's layer; that step's seconds are "
            f"counted whole (at most what it takes)."
        )
        out.append(SplitAdvice(key[1], (name,), added[heavy], len(others), before, cheap, dear, split.text,
                               split.files, why))  # fmt: skip
    return out
