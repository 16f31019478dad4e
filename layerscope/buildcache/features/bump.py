"""What bumping a package's pin costs (`packages --json`, `rebuild`): the step whose layer installed the version
now present, and every step the change invalidates after it, with their layers' bytes and the steps' seconds.

Through the image history alone, the step is the history entry of the package's layer, and it and everything
after it rebuild (every later step of a single chain misses once its parent does), from the COPY of the
requirements file it reads where BuildKit's history names that file. With the Dockerfile and context,
the pin is found (pins.py) and its change simulated by the builder's cache model: the simulation says
what else misses (a later `COPY --link`, a stage the image does not contain), and the image of the last build
(this one) and a timing log price the missed steps, as `cache --image --timings` does. Packages whose pins
change the same input share one simulation, and one figure.
"""

from __future__ import annotations

import posixpath
from dataclasses import replace

from layerscope.buildcache.features.pins import REQUIREMENT_LIKE
from layerscope.buildcache.features.rebuilds import (
    DockerfileBuild,
    PackageRebuilds,
    from_dockerfile,
    install_groups,
    shared_names,
)
from layerscope.buildcache.features.split import split_advice
from layerscope.buildcache.inputs.rewrite import shell_commands
from layerscope.buildcache.pricing.image_history import layer_sizes, parse_created_by
from layerscope.buildcache.request import BuildSpec
from layerscope.errors import LayerscopeError
from layerscope.model import Analysis, HistoryEntry, PackageRebuild, PackageReport, SplitAdvice

__all__ = ["DockerfileBuild", "PackageRebuilds", "costs_or_history", "from_dockerfile", "from_history", "package_costs"]

HISTORY_ONLY = (
    "rebuild per package: from the image history alone (no --dockerfile): the step that made the package's layer "
    "(or the COPY of the requirements file it reads, where the history names it) and every later step rebuild; "
    "the base image's layers cannot be told apart, and no seconds are given"
)


def _pins_copied(history: tuple[HistoryEntry, ...], at: int) -> int | None:
    """The history index of the COPY that brought the requirements file the RUN at `at` reads, if one did.

    BuildKit's history keeps a COPY's source names (classic's has `file:<digest>`): a RUN whose command names one
    of them, a requirements file, changes with it.
    """
    run = parse_created_by(history[at].created_by, history[at].comment)
    if run.keyword != "RUN":
        return None
    words = {posixpath.basename(w.strip("'\"")) for c in shell_commands(run.text[4:]) for w in c}
    for index in range(at - 1, -1, -1):
        step = parse_created_by(history[index].created_by, history[index].comment)
        if step.keyword not in ("COPY", "ADD") or step.flavour != "buildkit":
            continue
        args = [w for w in step.body.split() if not w.startswith("--")]
        if any(w.startswith("--from=") for w in step.body.split()):
            continue
        names = {posixpath.basename(a.rstrip("/")) for a in args[:-1]}
        if any(n in words and REQUIREMENT_LIKE.search(n) for n in names):
            return index
    return None


def from_history(a: Analysis, report: PackageReport) -> dict[int, PackageRebuild]:
    img = a.image
    entry = {h.layer_index: h for h in img.history if h.layer_index is not None}
    out = {}
    for layer, members in install_groups(report.packages, None).items():
        assert isinstance(layer, int)
        h = entry.get(layer)
        text = parse_created_by(h.created_by, h.comment).text if h is not None else ""
        first, change = layer, f"the step that made layer {layer} changes: it and every later step rebuild"
        copy = _pins_copied(img.history, h.index) if h is not None else None
        copied = img.history[copy].layer_index if copy is not None else None
        if copy is not None and copied is not None:
            pins = parse_created_by(img.history[copy].created_by, None).text
            first, change = copied, f"the file it reads, copied by `{pins}` (layer {copied}), changes"
        layers = tuple(range(first, len(img.layers)))
        size, stored = layer_sizes(img, layers)
        for i, (shared, count) in shared_names(members, report.packages).items():
            out[i] = PackageRebuild(None, text, layers, size, stored, None, None, shared, change, count)
    return out


def package_costs(a: Analysis, request: BuildSpec | None = None) -> Analysis:
    """The analysis with every package's `rebuild` (and, with a Dockerfile, the installs worth splitting)."""
    report = a.packages
    if report is None:
        return a
    advice: tuple[SplitAdvice, ...] = ()
    if request is None:
        rebuilds, notes = from_history(a, report), [HISTORY_ONLY]
    else:
        build = DockerfileBuild(request, a.image)
        found = from_dockerfile(build, report)
        rebuilds, notes = found.rebuilds, found.notes
        advice = tuple(split_advice(build, report, found))
    packages = tuple(replace(p, rebuild=rebuilds.get(i)) for i, p in enumerate(report.packages))
    new = replace(report, packages=packages, rebuild_advice=advice, notes=(*report.notes, *notes))
    return replace(a, packages=new)


def costs_or_history(a: Analysis, request: BuildSpec | None) -> Analysis:
    """`package_costs` for views that show what they can (explore, report): through the image history alone
    when the Dockerfile does not fit the image, with a note saying why."""
    if request is None:
        return package_costs(a)
    try:
        return package_costs(a, request)
    except LayerscopeError as err:
        costed = package_costs(a)
        if costed.packages is None:
            return costed
        note = f"rebuild per package: the Dockerfile was not used: {err}"
        return replace(costed, packages=replace(costed.packages, notes=(*costed.packages.notes, note)))
