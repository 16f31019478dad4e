"""The details line under the panes: the highlighted layer or file, spelled out."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from layerscope.model import DIR, HARDLINK, SYMLINK, Layer, stored_word
from layerscope.textsafe import visible
from layerscope.tui.format import mode_string, plain, short_command
from layerscope.tui.fsmodel import Touch
from layerscope.tui.fsview import FsView
from layerscope.units import fmt_size


def layer_text(layer: Layer) -> Text:
    files = "-" if layer.files is None else f"{layer.files:,} files"
    text = Text.assemble(
        (f"Layer {layer.index}", "bold"),
        f"  {fmt_size(layer.size)} ({fmt_size(layer.compressed_size)} {stored_word((layer.media_type,))}), {files}\n",
        ("diff_id ", "dim"),
        visible(layer.diff_id) + "\n",
        ("created ", "dim"),
        visible(f"{layer.created or '-'}  "),
        ("by ", "dim"),
        short_command(layer.created_by),
    )
    text.no_wrap = False
    return text


def file_text(view: FsView, path: str, touches: list[Touch]) -> Text:
    entry = view.entries.get(path)
    if entry is None:
        return plain("/" + path)
    rec = entry.record
    kind = "directory" if rec.type == DIR else rec.type
    parts: list[str | tuple[str, str]] = [(visible("/" + path), "bold")]
    if rec.type == SYMLINK:
        parts += [" → ", visible(rec.linkname)]
    elif rec.type == HARDLINK:
        parts += [" ⇒ /", visible(rec.linkname), (" (hard link)", "dim")]
    parts += ["\n", f"{mode_string(rec.type, rec.mode)}  {rec.uid}:{rec.gid}  {fmt_size(view.size(path))}  {kind}"]
    if entry.status:
        parts.append(f"  {entry.status} in L{view.layer}")
    if touches:
        parts += ["\n", ("touched by ", "dim"), ", ".join(f"L{t.layer} {t.status}" for t in touches)]
    elif entry.implicit:
        parts += ["\n", ("a parent directory no layer lists", "dim")]
    return Text.assemble(*parts)


class Details(Static):
    def show_text(self, text: Text) -> None:
        self.update(text)
