"""A small Python service image made in the test, with the Dockerfile, context and rawjson log of its build.

The image's history is the one BuildKit (or the classic builder) writes for the Dockerfile; its pip layer holds
dist-info directories for one heavy package and four small ones; the base layer a dpkg database (libc6).
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.factory import Entry, ImageSpec, d, f, layer_tar

SITE = "usr/local/lib/python3.11/site-packages"
DOCKERFILE = """\
FROM sample/base:1
WORKDIR /app
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY src/ ./src/
CMD ["python", "-m", "app"]
"""
PINS = {"torch": "2.1.0", "idna": "3.6", "six": "1.16.0", "attrs": "23.2.0", "certifi": "2024.2.2"}
SIZES = {"torch": 1_200_000, "idna": 2_000, "six": 2_000, "attrs": 2_000, "certifi": 2_000}
REQUIREMENTS = "".join(f"{n}=={v}\n" for n, v in PINS.items())
STEP_SECONDS = {"WORKDIR": 0.05, "COPY requirements.txt ./": 0.1, "RUN": 20.0, "COPY src/ ./src/": 0.2}
BK = "buildkit.dockerfile.v0"


def dist(name: str, version: str, size: int) -> list[Entry]:
    module = name.replace("-", "_")
    meta = f"{module}-{version}.dist-info"
    files = {f"{module}/__init__.py": b"#" * 100, f"{module}/_core.bin": bytes(size)}
    record = "".join(f"{p},,{len(b)}\n" for p, b in files.items()) + f"{meta}/METADATA,,\n{meta}/RECORD,,\n"
    return [
        d(f"{SITE}/{module}"),
        *[f(f"{SITE}/{p}", b) for p, b in files.items()],
        d(f"{SITE}/{meta}"),
        f(f"{SITE}/{meta}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"),
        f(f"{SITE}/{meta}/RECORD", record),
    ]


def layers() -> list[bytes]:
    base = [d("bin"), f("bin/sh", b"s" * 3000, 0o755), d("usr"), d("usr/lib"), f("usr/lib/libc.so.6", b"c" * 5000)]
    base += [d("var"), d("var/lib"), d("var/lib/dpkg"), d("var/lib/dpkg/info")]
    base += [f("var/lib/dpkg/status", "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\n\n")]
    base += [f("var/lib/dpkg/info/libc6.list", "/.\n/usr\n/usr/lib\n/usr/lib/libc.so.6\n")]
    site = [d("usr/local"), d("usr/local/lib"), d("usr/local/lib/python3.11"), d(SITE)]
    for name, version in PINS.items():
        site += dist(name, version, SIZES[name])
    return [
        layer_tar(base),
        layer_tar([d("app")]),
        layer_tar([d("app"), f("app/requirements.txt", REQUIREMENTS)]),
        layer_tar(site),
        layer_tar([d("app"), d("app/src"), f("app/src/app.py", "print('serving')\n")]),
    ]


def history(flavour: str) -> list[dict[str, object]]:
    base = {"created": "2024-01-01T00:00:00Z", "created_by": "/bin/sh -c #(nop) ADD file:0a1b in / "}
    times = ["2024-05-01T10:00:00Z", "2024-05-01T10:00:01Z", "2024-05-01T10:00:21Z", "2024-05-01T10:00:22Z"]
    if flavour == "buildkit":
        run = "RUN /bin/sh -c pip install --no-cache-dir -r requirements.txt # buildkit"
        made = ["WORKDIR /app", "COPY requirements.txt ./ # buildkit", run, "COPY src/ ./src/ # buildkit"]
        steps: list[dict[str, object]] = [
            {"created": t, "created_by": c, "comment": BK} for t, c in zip(times, made, strict=True)
        ]
        cmd = {"created_by": 'CMD ["python", "-m", "app"]', "comment": BK, "empty_layer": True}
    else:
        nop = "/bin/sh -c #(nop) "
        run = "/bin/sh -c pip install --no-cache-dir -r requirements.txt"
        made = [f"{nop}WORKDIR /app", f"{nop}COPY file:3a4f in ./ ", run, f"{nop}COPY dir:9a8b in ./src/ "]
        steps = [{"created": t, "created_by": c} for t, c in zip(times, made, strict=True)]
        cmd = {"created_by": '/bin/sh -c #(nop)  CMD ["python" "-m" "app"]', "empty_layer": True}
    return [base, *steps, {**cmd, "created": times[-1]}]


def rawjson() -> str:
    """The log of the build that made the image: every step executed (a cold build)."""
    names = ["[1/5] FROM docker.io/sample/base:1", "[2/5] WORKDIR /app", "[3/5] COPY requirements.txt ./",
             "[4/5] RUN pip install --no-cache-dir -r requirements.txt", "[5/5] COPY src/ ./src/"]  # fmt: skip
    seconds = [0.5, *STEP_SECONDS.values()]
    lines = []
    for i, (name, took) in enumerate(zip(names, seconds, strict=True)):
        vertex = {"digest": f"sha256:{i:064x}", "name": name, "started": "2024-05-01T10:00:00Z",
                  "completed": f"2024-05-01T10:00:{took:09.6f}Z"}  # fmt: skip
        lines.append(json.dumps({"vertexes": [vertex]}))
    return "\n".join(lines) + "\n"


def make(tmp_path: Path, flavour: str = "buildkit") -> tuple[str, Path, Path]:
    """(image reference, context with its Dockerfile, rawjson log)."""
    ctx = tmp_path / "ctx"
    (ctx / "src").mkdir(parents=True)
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    (ctx / "requirements.txt").write_text(REQUIREMENTS)
    (ctx / "src" / "app.py").write_text("print('serving')\n")
    log = tmp_path / "build.rawjson"
    log.write_text(rawjson())
    archive = ImageSpec(layers(), history(flavour)).docker_archive(str(tmp_path / f"{flavour}.tar"))
    return f"docker-archive:{archive}", ctx, log
