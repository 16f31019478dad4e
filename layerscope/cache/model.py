"""Plain data of a cache simulation: per step, whether it hits and why not. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass

HIT, MISS, SKIPPED, NONE = "hit", "miss", "skipped", "none"


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


@dataclass(frozen=True, slots=True)
class CacheSummary:
    first_miss: int | None
    missed_steps: int
    rebuilt_layers: int | None = None
    rebuilt_bytes: int | None = None
    rebuilt_compressed_bytes: int | None = None
    estimated_seconds: float | None = None
    seconds_source: str | None = None


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

    @property
    def missed(self) -> tuple[StepResult, ...]:
        return tuple(s for s in self.steps if s.status == MISS)
