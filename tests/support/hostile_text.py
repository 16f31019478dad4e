"""Images and contexts whose text is hostile: names, history, tags and package metadata that
hold terminal escapes, carriage returns, bidi overrides, Rich markup, :emoji: codes and bytes
that are not UTF-8; and the checks that no such character reaches a human-readable output.

Layers are written with tarfile in GNU format with surrogateescape, so a name keeps its raw
bytes (a non-UTF-8 name is one the PAX format would re-encode).
"""

from __future__ import annotations

import io
import tarfile
import unicodedata
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


def _dist_files() -> dict[str, bytes]:
    info = f"{SITE}/evil_pkg-1.0.dist-info"
    meta = f"Metadata-Version: 2.1\nName: {PACKAGE_NAME}\nVersion: {PACKAGE_VERSION}\n".encode()
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


# -- judging what the CLI wrote (run it with tests.support.hostile.Sandbox) ------------------

# Raw characters no human-readable output may hold: Unicode's controls (but the line end
# `\n`), format characters (bidi, zero-width), surrogates (bytes that were not UTF-8),
# private-use and unassigned code points, line and paragraph separators.
_HIDDEN = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def assert_plain(data: bytes, what: str = "output") -> str:
    """`data` is valid UTF-8 and holds no raw control, bidi or invisible character but `\\n`."""
    text = data.decode("utf-8")  # raises on bytes a name smuggled through undecoded
    bad = sorted({repr(c) for c in text if c != "\n" and unicodedata.category(c) in _HIDDEN})
    assert not bad, f"{what} holds raw {', '.join(bad)}:\n{text[:2000]}"
    assert "\ufffd" not in text, f"{what} decoded a name lossily"
    return text
