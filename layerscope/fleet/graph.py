"""The task graph of a fleet run, built as manifests arrive and drained as results stream back.

resolve(image) ──► read_blob(unique blob) ──► summarize(image) ◄── its plan
                         └──► layer_stats (a few numbers for the client)

One read_blob task per unique blob digest across the whole fleet, submitted when the first
image listing it is resolved; later images depend on the same future. Tags that name one
manifest (`latest`, `v1.2`, `sha-…` aliases; the same image in several repositories) are
summarised once: the others take that summary under their own reference. The client holds
futures, plans and summaries only: layer records stay on the workers, and a layer's record
is released once every image using it has been summarised.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from distributed import Client, Future, KilledWorker, as_completed

from layerscope.fleet import tasks
from layerscope.fleet.handles import blob_key
from layerscope.fleet.listener import Listener
from layerscope.fleet.records import (
    ImagePlan,
    ImageSummary,
    LayerSource,
    LayerStats,
    PlanError,
    SavedPlan,
    Settings,
    Target,
)

if TYPE_CHECKING:
    from layerscope.budget.config import ImageBudget

# Tasks that raised (a bug, a worker lost more often than the scheduler allows) run again
# this many times; errors a user can act on come back as values and are not retried.
RETRIES = 2


@dataclass
class FleetOutcome:
    images: list[ImageSummary] = field(default_factory=list)  # in the order of the targets
    layers: dict[str, LayerStats] = field(default_factory=dict)


@dataclass
class _Layer:
    # None once every image that used it is summarised (the record is freed); an image
    # resolved later that lists it again reads it again (from the cache, normally).
    future: Future[Any] | None = None
    users: int = 0  # images submitted and not yet summarised that use it
    generation: int = 0


def run(
    client: Client,
    targets: list[Target],
    settings: Settings,
    budget_for: Callable[[Target], ImageBudget | None] | None = None,
    listener: Listener | None = None,
) -> FleetOutcome:
    listener = listener or Listener()
    run_id = uuid4().hex[:12]
    role: dict[Future[Any], tuple[str, int | str]] = {}
    for i, target in enumerate(targets):
        f = client.submit(tasks.resolve, target, settings, key=f"resolve-{run_id}-{i}", retries=RETRIES)
        role[f] = ("plan", i)
    # More futures are added as plans arrive.
    done = as_completed(list(role), loop=client.loop, with_results=True, raise_errors=False)
    plans: dict[int, Future[Any]] = {}
    layers: dict[str, _Layer] = {}
    uses: dict[int, list[str]] = {}
    summaries: dict[int, ImageSummary] = {}
    first: dict[Hashable, int] = {}  # an image's manifest (and budget): the target summarised for it
    aliases: dict[int, list[int]] = {}  # that target: the others naming the same manifest, waiting for it
    out = FleetOutcome()
    listener.planned(len(targets), 0)
    for future, result in done:
        kind, ident = role.pop(future)
        if kind == "plan":
            i = int(ident)
            ok = isinstance(result, ImagePlan | SavedPlan | PlanError)
            plan = result if ok else PlanError(targets[i], _failure(result))
            if isinstance(plan, PlanError):
                summaries[i] = ImageSummary(plan.target, error=plan.error)
                listener.image(summaries[i])
                continue
            budget = budget_for(plan.target) if budget_for else None
            same = _manifest_key(plan, budget)
            if same is not None:
                j = first.setdefault(same, i)
                if j != i:
                    if j in summaries:
                        summaries[i] = replace(summaries[j], target=plan.target)
                        listener.image(summaries[i])
                    else:
                        aliases.setdefault(j, []).append(i)
                    continue
            plans[i] = future
            deps = []
            if isinstance(plan, ImagePlan) and plan.records is None:
                for index, desc in enumerate(plan.manifest.layers):
                    key = blob_key(desc.digest, plan.diff_ids[index])
                    entry = layers.get(key)
                    if entry is None or entry.future is None:
                        if entry is None:
                            entry = layers[key] = _Layer()
                        entry.generation += 1
                        source = LayerSource(key, plan.target.reference, index, desc.digest, plan.diff_ids[index])
                        entry.future = client.submit(
                            tasks.read_blob, source, desc, settings,
                            key=f"blob-{run_id}-{key}-{entry.generation}", retries=RETRIES,
                        )  # fmt: skip
                        if entry.generation == 1:
                            sf = client.submit(tasks.layer_stats, entry.future, key=f"stats-{run_id}-{key}")
                            role[sf] = ("stats", key)
                            done.add(sf)
                    entry.users += 1
                    uses.setdefault(i, []).append(key)
                    deps.append(entry.future)
            imf = client.submit(
                tasks.summarize, future, settings, budget, *deps, key=f"image-{run_id}-{i}", retries=RETRIES
            )
            role[imf] = ("image", i)
            done.add(imf)
            listener.planned(len(targets), len(layers))  # unique blobs known so far
        elif kind == "stats":
            key = str(ident)
            stats = result if isinstance(result, LayerStats) else LayerStats(key, None, None, None, None, False, 0.0,
                                                                              _failure(result))  # fmt: skip
            out.layers[key] = stats
            listener.layer(stats)
        else:
            i = int(ident)
            summary = result if isinstance(result, ImageSummary) else ImageSummary(targets[i], error=_failure(result))
            summaries[i] = summary
            plans.pop(i, None)  # the plan's future: released
            for key in uses.pop(i, []):
                entry = layers[key]
                entry.users -= 1
                if entry.users == 0:
                    entry.future = None  # the record's last user is done: the cluster may free it
            listener.image(summary)
            for j in aliases.pop(i, []):
                summaries[j] = replace(summary, target=targets[j])
                listener.image(summaries[j])
    out.images = [summaries[i] for i in range(len(targets))]
    return out


def _manifest_key(plan: ImagePlan | SavedPlan, budget: ImageBudget | None) -> Hashable | None:
    """What makes two targets' summaries the same: one manifest (its digest names its config and
    layers) read from one kind of source, under the same budget. None where there is no such
    digest (a `docker save` of an old engine, a saved analysis) or the image comes whole."""
    if not isinstance(plan, ImagePlan) or plan.records is not None or not plan.manifest.digest:
        return None
    return (plan.transport, plan.manifest.digest, repr(budget))  # (a rule's value may be a list: not hashable)


def _failure(err: object) -> str:
    """A task that raised: the one line a row shows."""
    if isinstance(err, tuple) and len(err) == 3 and isinstance(err[1], BaseException):
        err = err[1]  # as_completed(raise_errors=False) hands over an erred future's (type, exception, traceback)
    if isinstance(err, KilledWorker):
        # Dask's text names the task key and a worker address, over several sentences.
        return (
            "KilledWorker: every worker that ran this task died while running it (out of memory? see the workers' logs)"
        )
    if isinstance(err, BaseException):
        text = str(err).strip() or type(err).__name__
        return f"{type(err).__name__}: {text.splitlines()[0][:300]}"
    return f"unexpected task result {type(err).__name__}"
