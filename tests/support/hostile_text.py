"""Images and contexts whose text is hostile: names, history, tags and package metadata that
hold terminal escapes, carriage returns, bidi overrides, Rich markup, :emoji: codes and bytes
that are not UTF-8; and the checks that no such character reaches a human-readable output.

Layers are written with tarfile in GNU format with surrogateescape, so a name keeps its raw
bytes (a non-UTF-8 name is one the PAX format would re-encode).
"""

from __future__ import annotations

import base64
import io
import tarfile
import unicodedata
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

from tests.support.dists import SITE
from tests.support.factory import ImageSpec

CLEAR = "\x1b[2J\x1b[H"  # clear the screen, cursor home
FAKE_PASS = "\x1b[32mall checks PASSED\x1b[0m"  # a green verdict the image did not earn
OSC8 = "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\"  # a hyperlink
OSC52 = "\x1b]52;c;cm0gLXJmIH4=\x07"  # write the clipboard
BIDI = "\u202eexe.txt\u202c"  # reads as "txt.exe"
ISOLATE = "\u2066x\u2069"
C1 = "\u009b31m"  # an 8-bit CSI
MARKUP = "[bold red]loud[/]"
EMOJI = "agent:x:10001"  # Rich's emoji codes would make :x: a cross mark
NOT_UTF8 = "caf\udce9"  # b"caf\xe9": Latin-1, not UTF-8

HISTORY = [
    f"/bin/sh -c echo {CLEAR}{FAKE_PASS}",
    f"/bin/sh -c useradd {EMOJI} {MARKUP} && echo '{OSC8}' $\\notacommand{{x}}$",  # and mathtext
    f"/bin/sh -c printf 'one\\ntwo' > /f\rRUN overwritten {OSC52}",
    f"/bin/sh -c touch {BIDI} {ISOLATE} {C1}\nRUN injected second line",
]

# name -> content; the first layer writes them, the second overwrites them (so that they are
# also the "hidden paths" inspect lists).
NAMES = [
    f"app/{OSC52}d/.env",  # a path inspect's and check's findings name (the smallest: not in inspect's top 10)
    f"app/{CLEAR}clear",
    f"app/{FAKE_PASS}",
    f"app/osc8{OSC8.replace('/', '')}",  # a name holds no slash
    f"app/osc52{OSC52}",
    "app/cr\roverwrite",
    "app/nl\nnewline",
    f"app/{BIDI}",
    f"app/{C1}",
    f"app/{MARKUP}",
    f"app/{EMOJI}",
    f"app/{NOT_UTF8}",
    "app/tab\there",
    "app/del\x7fx",
    f"app/model{CLEAR}.safetensors",
]
PACKAGE_NAME = f"evil{CLEAR}pkg"
PACKAGE_VERSION = f"1.0{OSC52}"


def gnu_layer(files: dict[str, bytes]) -> bytes:
    """A layer tar whose member names keep their bytes (surrogates back to raw bytes)."""
    buf = io.BytesIO()
    with tarfile.open(
        fileobj=buf, mode="w", format=tarfile.GNU_FORMAT, encoding="utf-8", errors="surrogateescape"
    ) as t:
        dirs: set[str] = set()
        for name, data in files.items():
            parent = name.rpartition("/")[0]
            parts = parent.split("/") if parent else []
            for i in range(len(parts)):
                d = "/".join(parts[: i + 1])
                if d not in dirs:
                    dirs.add(d)
                    ti = tarfile.TarInfo(d)
                    ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, 1_600_000_000
                    t.addfile(ti)
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(data), 0o644, 1_600_000_000
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def _dist_files(name: str = PACKAGE_NAME, version: str = PACKAGE_VERSION) -> dict[str, bytes]:
    info = f"{SITE}/evil_pkg-1.0.dist-info"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    return {
        f"{SITE}/evilpkg/__init__.py": b"x = 1\n" * 50,
        f"{info}/METADATA": meta,
        f"{info}/INSTALLER": b"pip\n",
        f"{info}/RECORD": f"evilpkg/__init__.py,,300\n{info[len(SITE) + 1 :]}/METADATA,,{len(meta)}\n".encode(),
    }


def hostile_spec() -> ImageSpec:
    first = {name: b"x" * (100 + i) for i, name in enumerate(NAMES)}
    second = {name: b"y" for name in NAMES}
    history = [{"created_by": h, "created": "2024-01-01T00:00:00Z"} for h in HISTORY]
    layers = [gnu_layer(first), gnu_layer(second), gnu_layer(_dist_files()), gnu_layer({"etc/ok": b"ok"})]
    return ImageSpec(layers, history=history, config_extra={"config": {"Cmd": ["/bin/sh"], "User": f"{CLEAR}root"}})


def write_hostile_image(directory: Path, tag: str = f"evil/{CLEAR}image:1") -> Path:
    """The hostile image as a docker-archive in `directory`; its RepoTags holds escapes too."""
    return Path(hostile_spec().docker_archive(str(directory / "hostile.tar"), tag=tag))


# -- text that is markup somewhere: HTML, Rich, Markdown, CI workflow commands ----------------

HTML = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>"  # and attribute-breaking quotes
RICH_LINK = "[link=https://evil.example]click[/link]"
RICH_CLICK = "[@click=app.quit]quit[/]"  # an action a click would run
MD_LINK = "[docs](https://evil.example) ![x](https://evil.example/p.png) <b>bold</b>"
# GitHub's runner reads `::name::` at a line's start and the legacy `##[name]` anywhere in one;
# stop-commands would switch off every annotation after it.
GH_STOP = "##[stop-commands]tok"
GH_LEGACY = "x##[error title=fake]legacy"
GH_NEWLINE = "nl\n::error title=fake::injected%0A::warning::two"
GH_LEADING = "::error title=fake::leading"
AZURE = "##vso[task.setvariable variable=PATH]/evil"  # Azure Pipelines' agent: anywhere in a line

MARKUP_HISTORY = [
    f"/bin/sh -c echo {HTML} {RICH_LINK} {RICH_CLICK}",
    f"/bin/sh -c echo {GH_STOP} {GH_LEGACY}\n{GH_LEADING} {AZURE}",
    f"/bin/sh -c echo {MD_LINK}",
    "/bin/sh -c true",
]
# each name holds no slash of its own (a slash would make directories of it)
MARKUP_NAMES = [
    "app/" + HTML.replace("/", ""),
    "app/" + RICH_LINK.replace("/", ""),
    "app/" + RICH_CLICK.replace("/", ""),
    "app/" + MD_LINK.replace("/", ""),
    "app/" + GH_STOP,
    "app/" + GH_LEGACY,
    "app/" + GH_NEWLINE,
    "app/" + GH_LEADING,
    "app/" + AZURE.replace("/", ""),
    "app/.env" + GH_STOP,  # matched by a forbid-paths glob: a finding on check's own lines
]
MARKUP_PACKAGE = (f"pkg{HTML}{GH_STOP}", f"1{RICH_CLICK}")
DEB_PACKAGE = (f"deb{RICH_LINK}", f"2{GH_LEGACY}")
APK_PACKAGE = (f"apk{RICH_CLICK}", f"3{HTML}")


def _os_databases() -> dict[str, bytes]:
    """A dpkg status file and an apk database naming one package each, with its file."""
    (deb, deb_version), (apk, apk_version) = DEB_PACKAGE, APK_PACKAGE
    status = f"Package: {deb}\nStatus: install ok installed\nArchitecture: all\nVersion: {deb_version}\n\n"
    return {
        "var/lib/dpkg/status": status.encode(),
        f"var/lib/dpkg/info/{deb.replace('/', '')}.list": b"/usr/share/debfile\n",
        "usr/share/debfile": b"d" * 5000,
        "lib/apk/db/installed": f"P:{apk}\nV:{apk_version}\nF:usr/bin\nR:apkfile\n\n".encode(),
        "usr/bin/apkfile": b"a" * 4000,
    }


def markup_spec() -> ImageSpec:
    first = {name: b"x" * (300 + i) for i, name in enumerate(MARKUP_NAMES)}
    second = {name: b"y" for name in MARKUP_NAMES}
    history = [{"created_by": h, "created": "2024-01-01T00:00:00Z"} for h in MARKUP_HISTORY]
    history[1]["comment"] = f"{HTML} {RICH_CLICK}"
    layers = [gnu_layer(first), gnu_layer(second), gnu_layer(_dist_files(*MARKUP_PACKAGE)), gnu_layer(_os_databases())]
    config = {"Cmd": ["/bin/sh"], "User": f"{HTML}{GH_STOP}", "Labels": {HTML: RICH_LINK}}
    return ImageSpec(layers, history=history, config_extra={"config": config})


def write_markup_image(directory: Path, tag: str = f"evil/markup:1{GH_STOP}") -> Path:
    """An image whose text is markup in some output (HTML, Rich, Markdown) or a CI runner's
    command, as a docker-archive in `directory`."""
    return Path(markup_spec().docker_archive(str(directory / "markup.tar"), tag=tag))


_FILLERS = "\u115f\u1160\u3164\uffa0"  # Hangul fillers, which show nothing

# -- judging what the CLI wrote (run it with tests.support.hostile.Sandbox) ------------------

# Raw characters no human-readable output may hold: Unicode's controls (but the line end
# `\n`), format characters (bidi, zero-width), surrogates (bytes that were not UTF-8),
# private-use and unassigned code points, line and paragraph separators.
_HIDDEN = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def runner_commands(text: str) -> list[tuple[str, str]]:
    """(command and properties, data) for each line GitHub's runner would act on, by its two rules
    (actions/runner ActionCommand.cs): TryParseV2, `::` first after leading blanks and a second
    `::` after it; else TryParse, the legacy `##[` anywhere and a `]` after it; and Azure
    Pipelines' `##vso[` anywhere (any case, as its own neutraliser matches). Both match
    culture-sensitively (.NET), which may step over combining marks, variation selectors and
    fillers: those are dropped first, the cautious reading. Whether the
    name is one the runner registered does not matter here: no image text may make either."""
    found = []
    for shown in text.splitlines():
        line = "".join(ch for ch in shown if ch not in _FILLERS and unicodedata.category(ch) not in ("Mn", "Me"))
        stripped = line.lstrip()
        if stripped.startswith("::") and "::" in stripped[2:]:
            info, _, data = stripped[2:].partition("::")
            found.append((info, data))
        elif "##[" in line and "]" in line[line.index("##[") :]:
            info, _, data = line[line.index("##[") + 3 :].partition("]")
            found.append((info, data))
        elif "##vso[" in line.lower():  # Azure Pipelines' agent: anywhere in a line
            found.append(("vso", line[line.lower().index("##vso[") :]))
    return found


def assert_plain(data: bytes, what: str = "output") -> str:
    """`data` is valid UTF-8 and holds no raw control, bidi or invisible character but `\\n`."""
    text = data.decode("utf-8")  # raises on bytes a name smuggled through undecoded
    bad = sorted({repr(c) for c in text if c != "\n" and unicodedata.category(c) in _HIDDEN})
    assert not bad, f"{what} holds raw {', '.join(bad)}:\n{text[:2000]}"
    assert "\ufffd" not in text, f"{what} decoded a name lossily"
    return text


class _Tags(HTMLParser):
    """Every start tag of a page, with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


_SVG = "data:image/svg+xml;base64,"


def assert_inert_svg(data: bytes, what: str) -> None:
    """An SVG (a figure) holds no script, handler, link or foreign content."""
    root = ET.fromstring(data)
    for el in root.iter():
        tag = el.tag.rsplit("}", 1)[-1]
        assert tag not in ("script", "a", "foreignObject", "iframe"), (what, tag)
        for key, value in el.attrib.items():
            name = key.rsplit("}", 1)[-1].lower()
            assert not name.startswith("on"), (what, el.attrib)
            assert name != "href" or value.startswith("#"), (what, el.attrib)  # a glyph's <use>: this SVG only


def assert_inert_page(page: str, what: str) -> None:
    """An HTML page or fragment holds only the tags layerscope writes, no handler attribute,
    and images only as inert SVG data: nothing of it came from image text."""
    parser = _Tags()
    parser.feed(page)
    allowed = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "strong", "code", "em"}
    allowed |= {"table", "caption", "thead", "tbody", "tr", "th", "td", "figure", "figcaption", "img", "ul", "li"}
    allowed |= {"div", "span", "section", "small", "br", "details", "summary", "pre"}
    for tag, attrs in parser.tags:
        assert tag in allowed, (what, tag, attrs)
        assert not any(k.startswith("on") for k in attrs), (what, tag, attrs)
        if tag == "img":
            src = attrs.get("src") or ""
            assert src.startswith(_SVG), (what, src[:80])
            assert_inert_svg(base64.b64decode(src[len(_SVG) :]), f"{what} figure")
