"""Small text helpers for the TUI: commands, permission strings, size bars, durations."""

from __future__ import annotations

import stat

from rich.console import JustifyMethod
from rich.text import Text

from layerscope.model import BLOCK, CHAR, DIR, FIFO, HARDLINK, SYMLINK
from layerscope.textsafe import visible

_TYPE_CHAR = {DIR: "d", SYMLINK: "l", HARDLINK: "h", CHAR: "c", BLOCK: "b", FIFO: "p"}
_BAR = " ▏▎▍▌▋▊▉█"


def plain(text: str, justify: JustifyMethod | None = None) -> Text:
    """Image text for a widget: escaped (textsafe) and never read as markup or :emoji: codes
    (a str cell or label is; `agent:x:10001` would show a cross mark)."""
    return Text(visible(text), justify=justify)


def short_command(text: str | None, width: int | None = None) -> str:
    """A history `created_by` as a person reads it: no shell prefix, one line, escaped."""
    if not text:
        return "-"
    text = visible(" ".join(text.replace("/bin/sh -c #(nop) ", "").split()))
    if text.startswith("/bin/sh -c "):
        text = "RUN " + text[len("/bin/sh -c ") :]
    if width is not None and len(text) > width:
        return text[: width - 1] + "…"
    return text


def mode_string(kind: str, mode: int) -> str:
    """`ls -l` style: -rwxr-xr-x (setuid/setgid/sticky included)."""
    perms = stat.filemode(mode & 0o7777)[1:]
    return _TYPE_CHAR.get(kind, "-") + perms


def size_bar(value: int, largest: int, width: int) -> str:
    """A horizontal bar in eighths of a cell, so small layers still show a sliver."""
    if largest <= 0 or value <= 0:
        return " " * width
    eighths = max(1, round(8 * width * value / largest))
    full, part = divmod(eighths, 8)
    bar = "█" * full + (_BAR[part] if part else "")
    return bar.ljust(width)


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "estimating…"
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds:02d} s"
