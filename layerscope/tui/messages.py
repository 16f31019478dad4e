"""Messages between the workers and the screens. Workers post them from their threads
(post_message is thread-safe); the UI never waits on a worker."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from layerscope.model import Analysis
from layerscope.tui.fsview import FsView


@dataclass
class LoadProgress(Message):
    done: int  # layers read
    total: int
    bytes_read: int  # uncompressed bytes of the layers read so far
    elapsed: float

    def can_replace(self, message: Message) -> bool:  # a flood of updates collapses into the latest
        return isinstance(message, LoadProgress)


@dataclass
class Loaded(Message):
    analysis: Analysis


@dataclass
class LoadFailed(Message):
    message: str
    exit_code: int


@dataclass
class FilesReady(Message):
    generation: int
    view: FsView
    visible: set[str] | None


@dataclass
class JumpTo(Message):
    """Show `path` in `layer`'s changes (from the Waste view)."""

    layer: int
    path: str


@dataclass
class ShowPackage(Message):
    """Show a package's files (`paths`) in the layer that installed it (from the Packages view)."""

    layer: int | None
    label: str
    paths: frozenset[str]
