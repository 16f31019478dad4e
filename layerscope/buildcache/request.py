"""What a cache simulation is asked, in three parts: the build (`BuildSpec`), the change since the last build
(`ChangeSpec`) and the replay of git commits (`ReplaySpec`). A simulation takes a build and either a change
(`features/change.py`) or a replay (`features/replay.py`); `CacheRequest` is the flat public form
(`layerscope.CacheRequest`, the notebooks) that holds all three.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

from layerscope.errors import UsageError

if TYPE_CHECKING:
    from layerscope.buildcache.inputs.contexts import NamedContext


@dataclass(frozen=True)
class BuildSpec:
    """The build: its Dockerfile and context, the builder and its store, args, target, named contexts, and what
    the last build left to price the steps (its image, its timing log)."""

    context: str = "."
    dockerfile: str | None = None  # default: CONTEXT/Dockerfile
    target: str | None = None
    builder: str = "buildkit"
    build_args: dict[str, str] = field(default_factory=dict)
    image_store: str | None = None  # Docker's image store (default: the builder's first, builders/table.py)
    reproducible: tuple[str, ...] = ()  # stages or lines whose outputs are identical for identical inputs
    build_contexts: tuple[NamedContext, ...] = ()  # --build-context NAME=...
    image: str | None = None  # the image of the last build: the layers and bytes of each step
    timings: str | None = None  # a BuildKit --progress=rawjson log: each step's duration

    @property
    def dockerfile_path(self) -> str:
        return self.dockerfile or os.path.join(self.context, "Dockerfile")


@dataclass(frozen=True)
class ChangeSpec:
    """What differs from the last build (at least one of these for a simulation of one change)."""

    against: str | None = None  # the context as it was at the last build
    git: str | None = None  # REV (against the working tree) or REV1..REV2
    changed: tuple[str, ...] = ()
    edited: tuple[int, ...] = ()  # lines of instructions whose text differs from the last build's
    old_build_args: dict[str, str | None] = field(default_factory=dict)  # None: not set at the last build
    base_changed: tuple[str, ...] = ()  # image names; "*" for every base image
    old_target: str | None = None  # the earlier build's --target, when it differs (default: target)
    old_build_contexts: tuple[NamedContext, ...] = ()  # a named context as it was at the last build

    def refuse_with_replay(self) -> None:
        """A replay of commits takes no other change: the commits are the change."""
        if any(getattr(self, f.name) for f in fields(self)):
            raise UsageError("--git-log replays commits: give no other change (--against, --git, --changed, ...)")


@dataclass(frozen=True)
class ReplaySpec:
    """`--git-log N`: replay the last N commits."""

    commits: int
    parent_only: bool = False  # each commit against its parent's build alone
    advise: bool = False  # propose a rewrite and replay it too


@dataclass(frozen=True)
class CacheRequest:
    """The flat form of a request (the public API): the build, the change and the replay in one record."""

    context: str = "."
    dockerfile: str | None = None
    target: str | None = None
    old_target: str | None = None
    builder: str = "buildkit"
    build_args: dict[str, str] = field(default_factory=dict)
    image_store: str | None = None
    against: str | None = None
    git: str | None = None
    changed: tuple[str, ...] = ()
    edited: tuple[int, ...] = ()
    old_build_args: dict[str, str | None] = field(default_factory=dict)
    base_changed: tuple[str, ...] = ()
    reproducible: tuple[str, ...] = ()
    image: str | None = None
    timings: str | None = None
    git_log: int | None = None  # replay the last N commits
    parent_only: bool = False
    advise: bool = False
    build_contexts: tuple[NamedContext, ...] = ()
    old_build_contexts: tuple[NamedContext, ...] = ()

    @property
    def build(self) -> BuildSpec:
        return BuildSpec(**{f.name: getattr(self, f.name) for f in fields(BuildSpec)})

    @property
    def change(self) -> ChangeSpec:
        return ChangeSpec(**{f.name: getattr(self, f.name) for f in fields(ChangeSpec)})

    @property
    def replay(self) -> ReplaySpec | None:
        if self.git_log is None:
            return None
        return ReplaySpec(self.git_log, self.parent_only, self.advise)

    @classmethod
    def of(cls, build: BuildSpec, change: ChangeSpec | None = None, replay: ReplaySpec | None = None) -> CacheRequest:
        parts = {f.name: getattr(build, f.name) for f in fields(BuildSpec)}
        if change is not None:
            parts.update({f.name: getattr(change, f.name) for f in fields(ChangeSpec)})
        if replay is not None:
            parts.update(git_log=replay.commits, parent_only=replay.parent_only, advise=replay.advise)
        return cls(**parts)
