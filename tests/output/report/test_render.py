"""`layerscope report`: every format is a valid file of its kind; the HTML one is
self-contained; the library never imports pyplot."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from html import unescape
from html.parser import HTMLParser

import pytest

from layerscope.model import Layer, PackageRebuild
from layerscope.output.text.bumps import rebuild_text
from tests.buildcache import bumpcase
from tests.conftest import REPO
from tests.support.factory import ImageSpec, d, f, layer_tar, wh

HISTORY = [
    {"created_by": "/bin/sh -c #(nop) ADD file:abc in / ", "created": "2024-01-01T00:00:00Z"},
    {"created_by": "RUN /bin/sh -c pip download -d /tmp/wheels x # buildkit", "created": "2024-01-01T00:00:00Z"},
    {"created_by": "RUN /bin/sh -c rm -rf /tmp/wheels # buildkit", "created": "2024-01-01T00:00:00Z"},
]


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("img")
    layers = [
        layer_tar([d("bin"), f("bin/sh", b"s" * 30_000), d("etc"), f("etc/passwd", b"root\n")]),
        layer_tar(
            [d("tmp"), d("tmp/wheels"), f("tmp/wheels/a.whl", b"w" * 20_000), f("tmp/wheels/b.whl", b"v" * 9000)]
        ),
        layer_tar([wh("tmp/wheels")]),
    ]
    return ImageSpec(layers, history=HISTORY).docker_archive(str(tmp / "image.tar"))


@pytest.fixture(scope="module")
def other(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("other")
    layers = [layer_tar([d("bin"), f("bin/sh", b"s" * 30_000), d("etc"), f("etc/passwd", b"root\n")])]
    return ImageSpec(layers, history=HISTORY[:1]).docker_archive(str(tmp / "other.tar"))


class _Refs(HTMLParser):
    """Every attribute that makes a browser fetch something, and every tag seen."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []
        self.tags: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "srcset", "poster", "data", "action") and value is not None:
                self.refs.append((tag, name, value))
            if tag == "img" and name == "src" and value:
                self.images.append(value)


def _check_svg(data: bytes) -> ET.Element:
    root = ET.fromstring(data)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    for el in root.iter():  # only references inside the document itself
        for name, value in el.attrib.items():
            if name.endswith("href"):
                assert value.startswith("#"), (name, value)
    return root


@pytest.mark.parametrize("suffix", ["png", "svg", "pdf", "html"])
def test_every_format_is_a_valid_file(image, other, tmp_path, run_cli, suffix):
    out = tmp_path / f"report.{suffix}"
    r = run_cli("report", image, "-o", str(out), "--compare", other)
    assert r.code == 0, r.err
    assert r.out == "" and f"wrote {out}" in r.err
    data = out.read_bytes()
    if suffix == "png":
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert width > 1000 and height > width  # every panel stacked
    elif suffix == "pdf":
        assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
        assert len(re.findall(rb"/Type\s*/Page\b", data)) == 4  # layers, treemap, waste, comparison
    elif suffix == "svg":
        _check_svg(data)
        assert b"<!-- image.tar: what each layer adds" in data  # text is drawn as paths, kept as comments
    else:
        text = data.decode()
        assert text.startswith("<!DOCTYPE html>")
        parser = _Refs()
        parser.feed(text)
        assert parser.refs and all(v.startswith("data:image/svg+xml;base64,") for _, _, v in parser.refs), parser.refs
        assert "script" not in parser.tags and "link" not in parser.tags and "iframe" not in parser.tags
        assert "url(" not in text and "@import" not in text
        assert len(parser.images) == 4
        for src in parser.images:
            _check_svg(base64.b64decode(src.split(",", 1)[1]))
        for table_text in ("largest hidden paths", "tmp/wheels/a.whl", "Compared with other.tar", "B saves"):
            assert table_text in text


def test_report_json_and_reproducible_output(image, tmp_path, run_cli):
    out = tmp_path / "r.svg"
    r = run_cli("report", "--json", image, "-o", str(out))
    assert r.code == 0, r.err
    assert r.out.startswith("{") and '"schema": "layerscope.report/1"' in r.out and '"format": "svg"' in r.out
    first = out.read_bytes()
    assert run_cli("report", image, "-o", str(out)).code == 0
    assert out.read_bytes() == first  # no dates, stable ids


def test_bad_suffix_and_unwritable_output_are_one_line(image, tmp_path, run_cli):
    r = run_cli("report", image, "-o", str(tmp_path / "report.docx"))
    assert r.code == 2 and r.err.count("\n") == 1 and ".png, .svg, .pdf or .html" in r.err
    r = run_cli("report", image, "-o", str(tmp_path / "no" / "such" / "dir.png"))
    assert r.code == 2 and r.err.count("\n") == 1 and "cannot write" in r.err


def test_no_pyplot_in_the_library(image, tmp_path):
    out = tmp_path / "r.html"
    code = (
        "import sys\n"
        "from layerscope.cli.main import main\n"
        f"assert main(['report', {image!r}, '-o', {str(out)!r}, '--quiet']) == 0\n"
        "import layerscope, layerscope.report as r\n"
        f"a = layerscope.analyze({image!r})\n"
        "for fig in (r.layers_figure(a), r.treemap_figure(a), r.waste_figure(a), r.report_figure(a)):\n"
        "    fig.savefig(__import__('io').BytesIO(), format='png')\n"
        "assert 'matplotlib' in sys.modules\n"
        "bad = [m for m in sys.modules if m == 'matplotlib.pyplot' or m.startswith('matplotlib.backends.backend_')\n"
        "       and m not in ('matplotlib.backends.backend_agg', 'matplotlib.backends.backend_pdf',\n"
        "                     'matplotlib.backends.backend_svg', 'matplotlib.backends.backend_mixed')]\n"
        "assert not bad, bad\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(REPO))
    assert p.returncode == 0, p.stderr
    assert out.read_bytes().startswith(b"<!DOCTYPE html>")


def test_html_packages_table_shows_the_bump_cost(tmp_path, run_cli):
    """The packages table's bump figure is the one `packages --json` gives for the same build, split advice too."""
    ref, ctx, log = bumpcase.make(tmp_path)
    build = ["--dockerfile", str(ctx / "Dockerfile"), "--context", str(ctx), "--timings", str(log)]
    doc = json.loads(run_cli("packages", ref, "--json", *build).out)
    out = tmp_path / "r.html"
    r = run_cli("report", ref, "-o", str(out), *build, "--changed", "src/app.py")
    assert r.code == 0, r.err
    page = unescape(out.read_text())
    assert "<th>a bump rebuilds</th><th>installed by</th>" in page
    keys = ("index", "digest", "diff_id", "media_type", "compressed_size", "created_by", "created", "history_index")
    layers = [
        Layer(**{k: x[k] for k in keys}, record=None)
        for x in json.loads(run_cli("inspect", ref, "--json").out)["layers"]
    ]
    for p in doc["packages"]:
        figure = rebuild_text(PackageRebuild(**{**p["rebuild"], "layers": tuple(p["rebuild"]["layers"])}), layers)
        assert figure in page, p["name"]
    assert "3 layers" in page and "20.3 s" in page and "line 4: RUN pip install" in page
    assert "Split the install at line 4</strong>: torch" in page
    # without a Dockerfile: the image history's figure
    r = run_cli("report", ref, "-o", str(out))
    assert r.code == 0, r.err
    assert "a bump rebuilds" in out.read_text() and "time unknown" in out.read_text()
