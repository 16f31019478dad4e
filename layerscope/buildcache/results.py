"""Plain data of a cache simulation: per step, whether it hits and why not. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass

from layerscope.model import STORED

HIT, MISS, SKIPPED, NONE = "hit", "miss", "skipped", "none"
# hits if the steps re-run in this build write the same bytes as before, misses otherwise (the condition is
# in `reason`): the builder compares bytes that exist only once those steps have run
DEPENDS = "depends"


@dataclass(frozen=True, slots=True)
class Cause:
    kind: str  # "file" | "build-arg" | "earlier-step" | "base-image" | "instruction"
    name: str


@dataclass(frozen=True, slots=True)
class StepResult:
    stage: str
    line: int  # 1-based line of the instruction in the Dockerfile
    instruction: str  # upper-case keyword
    text: str
    status: str  # hit | miss | skipped | none
    reason: str | None
    cause: Cause | None  # None on a hit
    # costs, when an image (--image) or a timing source is known; None where unknown
    layers: tuple[int, ...] | None = None  # indexes of the image layers this step produced ((): none)
    bytes: int | None = None  # sum of those layers' `size`
    compressed_bytes: int | None = None
    seconds: float | None = None


@dataclass(frozen=True, slots=True)
class CacheSummary:
    first_miss: int | None
    missed_steps: int
    rebuilt_layers: int | None = None
    rebuilt_bytes: int | None = None
    rebuilt_compressed_bytes: int | None = None
    estimated_seconds: float | None = None
    seconds_source: str | None = None
    depends_steps: int = 0  # steps whose outcome depends on bytes a re-run step writes (status `depends`)


@dataclass(frozen=True, slots=True)
class CommitResult:
    """One replayed commit (`--git-log`): its steps against the cache the earlier commits left."""

    commit: str
    subject: str
    steps: tuple[StepResult, ...]
    summary: CacheSummary
    changed: tuple[str, ...] = ()  # context paths changed since the parent commit
    error: str | None = None  # the commit could not be simulated (e.g. a broken Dockerfile)


@dataclass(frozen=True, slots=True)
class ReplayTotals:
    commits: int
    hits: int  # cache steps that hit, over every replayed commit
    misses: int
    hit_rate: float | None  # hits / (hits + misses)
    full_hits: int  # commits that missed no step
    rebuilt_bytes: int | None
    rebuilt_compressed_bytes: int | None
    estimated_seconds: float | None
    seconds_source: str | None


@dataclass(frozen=True, slots=True)
class Advice:
    """A rewrite of the Dockerfile (and .dockerignore) and what the replay says it would have saved."""

    what: str
    why: str
    lines: tuple[int, ...]  # the Dockerfile lines it is about
    dockerfile: str  # the rewritten Dockerfile
    dockerignore: str | None  # the rewritten .dockerignore, None when unchanged
    ignore_added: tuple[str, ...]
    totals: ReplayTotals  # the replay with the rewrite
    before: ReplayTotals  # the replay as it was


@dataclass(frozen=True, slots=True)
class CacheSimulation:
    builder: str  # buildkit | classic | buildah
    target: str | None
    dockerfile: str
    context: str
    change: str  # what was compared, in words
    steps: tuple[StepResult, ...]
    summary: CacheSummary
    image_store: str | None = None  # BuildKit only
    notes: tuple[str, ...] = ()
    commits: tuple[CommitResult, ...] | None = None  # --git-log
    totals: ReplayTotals | None = None
    advice: tuple[Advice, ...] | None = None  # --advise
    stored_as: str = STORED  # the word for the compressed_bytes figures: the --image's blobs may be plain tars

    @property
    def missed(self) -> tuple[StepResult, ...]:
        return tuple(s for s in self.steps if s.status == MISS)
