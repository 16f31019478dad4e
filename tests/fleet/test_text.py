"""The summary's escaping, the progress bar, the JSON document: no cluster needed."""

from __future__ import annotations

import io
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from layerscope.fleet.progress import Bar
from layerscope.fleet.records import ImageLayer, ImageSummary, LayerStats, PackageRow, SavingRow, Target
from layerscope.fleet.tables import build
from layerscope.output.fleet.document import document
from layerscope.output.fleet.text import lines
from layerscope.textsafe import visible as safe  # the one escaping, fleet's included


@given(st.text())
def test_safe_leaves_no_control_character(text: str) -> None:
    out = safe(text)
    assert not any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp") for ch in out)
    if all(unicodedata.category(ch)[0] != "C" and ch not in "\u2028\u2029" for ch in text):
        assert out == text


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _layer(key: str, size: int) -> ImageLayer:
    return ImageLayer(0, key, key, "sha256:" + key[-4:] * 16, size, size // 2, 3)


def _fleet() -> tuple[list[ImageSummary], dict[str, LayerStats]]:
    base, app = _layer("sha256:" + "a" * 64, 1000), _layer("sha256:" + "b" * 64, 10)
    images = [
        ImageSummary(
            Target("docker://r.example/x:1", "r.example/x", "1"),
            "sha256:" + "1" * 64,
            "linux/amd64",
            1010,
            505,
            1000,
            10,
            (base, app),
            packages=(PackageRow("python", "idna", "3.10", 400, 4, "p"),),
            savings=(SavingRow("tests and docs", 30, "delete them"),),
        ),
        ImageSummary(
            Target("docker://r.example/y\x1b[2J:1", "r.example/y", "1"),
            "sha256:" + "2" * 64,
            "linux/amd64",
            1000,
            500,
            1000,
            0,
            (base,),
        ),
        ImageSummary(Target("docker://r.example/z:1", "r.example/z", "1"), error="registry said no\x1b]0;t\x07"),
    ]
    stats = {x.key: LayerStats(x.key, x.diff_id, x.size, x.compressed_size, 3, True, 0.1) for x in (base, app)}
    return images, stats


def test_totals_text_and_document() -> None:
    t = build(*_fleet())
    assert (t.totals.logical_bytes, t.totals.stored_bytes, t.totals.unique_layers) == (2010, 1010, 2)
    assert t.totals.failed_images == 1 and t.totals.blobs_read == 2
    text = "\n".join(lines(t))
    assert "\x1b" not in text and "\x07" not in text and "\\x1b[2J" in text and "\\x1b]0;t\\x07" in text
    assert "dedupe 1.99x" in text
    doc = document(t)
    assert doc["images"][2]["error"] == "registry said no\x1b]0;t\x07"  # JSON keeps the data as it is
    assert doc["images"][0]["layers"] == 2 and doc["images"][2]["size"] is None
    assert doc["totals"]["stored_compressed_bytes"] == 505
    assert list(t.layers["images"]) == [2, 1]


def test_progress_bar_on_a_terminal_only() -> None:
    tty, pipe = Tty(), io.StringIO()
    for stream in (tty, pipe):
        bar = Bar(stream)
        bar.planned(3, 2)
        images, stats = _fleet()
        for s in stats.values():
            bar.layer(s)
        for image in images:
            bar.image(image)
        bar.close()
    assert pipe.getvalue() == ""
    final = tty.getvalue().rsplit("\r", 1)[1]
    assert "layers 2/2" in final and "images 3/3 (1 failed)" in final and "505 B read" in final


def test_report_page_escapes_image_text() -> None:
    from layerscope.output.fleet.report import page

    images, stats = _fleet()
    images[1] = ImageSummary(
        Target("oci:/x/<script>alert(1)</script>", "oci:/x", None), "sha256:" + "3" * 64, "linux/amd64",
        1000, 500, 1000, 0, images[1].layers,
        savings=(SavingRow("tests and docs", 5, "<b>bold</b>"),),
    )  # fmt: skip
    html = page(build(images, stats))
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # The unreadable image's error holds an OSC title sequence: shown escaped, never raw.
    assert "\x1b" not in html and "\x07" not in html and "registry said no\\x1b]0;t\\x07" in html
    assert html.count("<figure>") == 6 and "dedupe ratio 1.99×" in html


def test_dask_client_warnings_are_quieted() -> None:
    """A lost worker makes distributed.client warn on stderr ("Couldn't gather 1 keys,
    rescheduling"); the run handles it, so the command lowers every distributed logger."""
    import logging

    from layerscope.cli.fleet import quiet_dask

    quiet_dask()
    for name in ("distributed", "distributed.client", "distributed.gc", "distributed.scheduler"):
        assert not logging.getLogger(name).isEnabledFor(logging.WARNING), name
