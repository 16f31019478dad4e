"""What could be left out of the image, with the reasoning and the evidence counted.

Each saving is an estimate of bytes that would not be in the image:
* package caches: the bytes of the `package-caches` category;
* build toolchains: the whole size of every `build-toolchains` package plus unowned
  headers, plus their dependency closure (closure.py: the packages only the toolchain needs,
  what purging it and autoremoving takes): a multi-stage build compiles in a builder stage
  and copies only results;
* model weights: the `model-weights` category (mount them, or fetch them at start);
* tests and docs: the `tests-and-docs` category (delete them in the installing step,
  dpkg `path-exclude`);
* superseded versions: the dead bytes of versions a later layer upgraded or removed:
  they stay in the lower layer whatever the top one does, so install the final set once.
Bytecode is reported as a category but never as a saving: it buys start-up time.
"""

from __future__ import annotations

from layerscope.analysis.packages import categories as c
from layerscope.model import BuildOnly, Package, RemovedPackage, Saving
from layerscope.units import fmt_size

EVIDENCE = 10


def _top(paths: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(paths.items(), key=lambda kv: (-kv[1], kv[0]))


def _users(names: tuple[str, ...]) -> str:
    return ", ".join(names[:2]) + (f" and {len(names) - 2} more" if len(names) > 2 else "")


def savings(
    packages: list[Package],
    removed: list[RemovedPackage],
    cats: dict[str, dict[str, int]],
    unowned_tools: dict[str, int],
    closure: tuple[BuildOnly, ...] = (),
    closure_notes: tuple[str, ...] = (),
    held: dict[tuple[str, str], tuple[str, ...]] | None = None,
) -> list[Saving]:
    """`closure`: the toolchain's dependency closure; `held`: toolchain packages a runtime
    package hard-depends on ((ecosystem, name) -> those packages), left out of the saving."""
    out: list[Saving] = []
    caches = cats.get(c.CACHES, {})
    if caches:
        total = sum(caches.values())
        out.append(
            Saving(
                what="package manager caches",
                bytes=total,
                how="clean them in the step that fills them (pip --no-cache-dir, uv --no-cache, "
                "apt-get clean && rm -rf /var/lib/apt/lists/*, conda clean -afy) or use RUN --mount=type=cache",
                evidence=tuple(f"{p} ({fmt_size(b)})" for p, b in _top(caches)[:EVIDENCE]),
                reasoning=f"{fmt_size(total)} in {len(caches)} cache location(s) is read only when installing again",
            )
        )
    held = held or {}
    tools = [p for p in packages if p.category == c.TOOLCHAINS and p.size and (p.ecosystem, p.name) not in held]
    kept = [p for p in packages if p.category == c.TOOLCHAINS and p.size and (p.ecosystem, p.name) in held]
    loose = sum(unowned_tools.values())
    if tools or loose:
        extra = sum(b.bytes for b in closure)
        total = sum(p.size for p in tools) + loose + extra
        names = ", ".join(p.name for p in tools[:5]) + (" ..." if len(tools) > 5 else "")
        evidence = [f"{p.ecosystem}:{p.name} {p.version} ({fmt_size(p.size)})" for p in tools[:EVIDENCE]]
        evidence += [f"{p} ({fmt_size(b)}, in no package)" for p, b in _top(unowned_tools)[:EVIDENCE]]
        big = sorted(closure, key=lambda b: (-b.bytes, b.name))
        evidence += [
            f"{b.ecosystem}:{b.name} {b.version} ({fmt_size(b.bytes)}, only for the toolchain)" for b in big[:EVIDENCE]
        ]
        reasoning = (
            f"{len(tools)} package(s) that only compile, link or build"
            + (f" ({names})" if names else "")
            + (f" and {fmt_size(loose)} of headers in no package" if loose else "")
        )
        if closure:
            reasoning += (
                f", and {len(closure)} package(s) ({fmt_size(extra)}) that only they need: each installed as a "
                "dependency, and no package installed on purpose still depends on it (what purging them and "
                "autoremoving also removes): "
                + ", ".join(f"{b.name} ({fmt_size(b.bytes)}, for {_users(b.needed_by)})" for b in big)
                + ","
            )
        reasoning += f" hold {fmt_size(total)} of the final filesystem; a running program never executes them"
        if kept:
            reasoning += "; not counted, because a runtime package depends on them: " + "; ".join(
                f"{p.name} ({fmt_size(p.size)}, for {', '.join(held[(p.ecosystem, p.name)][:3])})" for p in kept
            )
        if closure_notes:
            reasoning += " (" + "; ".join(closure_notes) + ")"
        out.append(
            Saving(
                what="build-toolchains",
                bytes=total,
                how="a multi-stage build without build-toolchains: compile in a builder stage, "
                "COPY --from=builder only the installed results into a runtime stage",
                evidence=tuple(evidence),
                reasoning=reasoning,
                closure=tuple(big),
            )
        )
    weights = cats.get(c.WEIGHTS, {})
    if weights:
        total = sum(weights.values())
        out.append(
            Saving(
                what="model weights",
                bytes=total,
                how="mount them as a volume or fetch them at start (an artifact store, a model cache volume)",
                evidence=tuple(f"{p} ({fmt_size(b)})" for p, b in _top(weights)[:EVIDENCE]),
                reasoning=f"{len(weights)} weight file(s) of at least {fmt_size(c.MODEL_WEIGHTS_MIN)} change on their "
                "own schedule; in a layer every new version is pulled again with the image",
            )
        )
    docs = cats.get(c.TESTS_DOCS, {})
    if docs:
        total = sum(docs.values())
        out.append(
            Saving(
                what="tests and docs",
                bytes=total,
                how="delete tests/ and docs/ below site-packages and /usr/share/{doc,man,info} in the installing "
                "step (dpkg path-exclude in /etc/dpkg/dpkg.cfg.d/ for Debian packages)",
                evidence=tuple(f"{p} ({fmt_size(b)})" for p, b in _top(docs)[:EVIDENCE]),
                reasoning=f"{fmt_size(total)} of test suites and documentation is never imported or read at run time",
            )
        )
    superseded = [r for r in removed if r.dead_bytes]
    if superseded:
        total = sum(r.dead_bytes for r in superseded)
        out.append(
            Saving(
                what="superseded package versions",
                bytes=total,
                how="install the final versions in one step (pin them before the first install; "
                "no upgrade or uninstall in a later layer)",
                evidence=tuple(
                    f"{r.ecosystem}:{r.name} {r.version}"
                    + (f" -> {r.replaced_by}" if r.replaced_by else " (removed)")
                    + f" ({fmt_size(r.dead_bytes)})"
                    for r in superseded[:EVIDENCE]
                ),
                reasoning=f"{len(superseded)} version(s) upgraded or removed by a later layer still ship "
                f"{fmt_size(total)} in the layers that installed them",
            )
        )
    out.sort(key=lambda s: -s.bytes)
    return out
