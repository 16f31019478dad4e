"""A one-shot command process: what it would free just before exiting is left to the exit.

Freeing a stacked tree of 50k nodes takes longer than printing the result; the `layerscope`
command (cli/main.run) ends with os._exit, so keeping such structures alive costs nothing.
Library users (notebooks, the TUI) never enable this: their objects are freed as usual.
"""

from __future__ import annotations

_enabled = False
_kept: list[object] = []


def enable() -> None:
    global _enabled
    _enabled = True


def keep(obj: object) -> None:
    """Keep obj alive until the process exits, in a one-shot process; otherwise nothing."""
    if _enabled:
        _kept.append(obj)
