"""A requirements-based Python service as a build context, for real builds without a Python interpreter.

pip's part is done here on the host, as sample_images/build.sh does it: each pinned version is staged under
`wheels/NAME-VERSION/` as pip would install it into site-packages (the package's files, and a `.dist-info`
with METADATA, WHEEL, INSTALLER and a RECORD of urlsafe-base64 sha256 hashes and sizes). The Dockerfile's
install step reads the requirements file and copies each pinned version from a bind mount of `wheels`, so a
changed pin installs other bytes exactly as a real `pip install -r` would change the layer.
"""

from __future__ import annotations

import base64
import hashlib
import random
from pathlib import Path

SITE = "/usr/local/lib/python3.11/site-packages"
# name -> (payload bytes, versions staged): one heavy package and six small ones
PACKAGES = {
    "torch": (1_500_000, ("2.1.0", "2.1.1")),
    "idna": (20_000, ("3.6", "3.7")),
    "six": (20_000, ("1.16.0",)),
    "attrs": (20_000, ("23.2.0",)),
    "packaging": (20_000, ("24.0",)),
    "certifi": (20_000, ("2024.2.2",)),
    "charset-normalizer": (20_000, ("3.3.2",)),
}
V1 = {name: versions[0] for name, (_, versions) in PACKAGES.items()}
HEAVY, LIGHTS = ["torch"], [n for n in PACKAGES if n != "torch"]


def install_run(requirements: str) -> str:
    """The install step: `pip install -r FILE`, done by copying the staged versions the file pins."""
    return (
        "RUN --mount=type=bind,source=wheels,target=/wheels \\\n"
        f"    mkdir -p {SITE} && grep -v '^#' {requirements} | while read -r req; do \\\n"
        f'      cp -a "/wheels/${{req%%==*}}-${{req##*==}}/." {SITE}/ || exit 1; done && sleep 1\n'
    )


def dockerfile(base: str, two_step: bool) -> str:
    steps = ["requirements-heavy.txt", "requirements.txt"] if two_step else ["requirements.txt"]
    install = "".join(f"COPY {req} ./\n{install_run(req)}" for req in steps)
    return (
        f"FROM {base}\nWORKDIR /app\n{install}COPY src/ ./src/\n"
        'RUN sleep 0.5 && cat src/*.py > /app/build.txt\nENV PORT=8080\nCMD ["/bin/sh"]\n'
    )


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")


def stage(wheels: Path, name: str, version: str, payload: int) -> None:
    """`name==version` as pip leaves it in site-packages, under wheels/NAME-VERSION/."""
    module = name.replace("-", "_")
    rng = random.Random(f"{name}-{version}")
    files = {
        f"{module}/__init__.py": f'__version__ = "{version}"\n'.encode(),
        f"{module}/_core.bin": rng.randbytes(payload),  # incompressible, like a shared library
    }
    dist = f"{module}-{version}.dist-info"
    files[f"{dist}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    files[f"{dist}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: layerscope-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    files[f"{dist}/INSTALLER"] = b"pip\n"
    record = "".join(f"{p},{_record_hash(d)},{len(d)}\n" for p, d in files.items()) + f"{dist}/RECORD,,\n"
    files[f"{dist}/RECORD"] = record.encode()
    for path, data in files.items():
        full = wheels / f"{name}-{version}" / path
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_bytes(data)
        full.chmod(0o644)


def context(root: Path, base: str, pins: dict[str, str], two_step: bool = False) -> Path:
    """A build context pinning `pins`; every staged version is in it, so a bump changes the pins alone."""
    root.mkdir(parents=True)
    for name, (payload, versions) in PACKAGES.items():
        for version in versions:
            stage(root / "wheels", name, version, payload)
    lines = {n: f"{n}=={v}\n" for n, v in pins.items()}
    if two_step:
        (root / "requirements-heavy.txt").write_text("".join(lines[n] for n in HEAVY))
        (root / "requirements.txt").write_text("".join(lines[n] for n in LIGHTS))
    else:
        (root / "requirements.txt").write_text("".join(lines.values()))
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text("print('serving')\n")
    (root / "Dockerfile").write_text(dockerfile(base, two_step))
    return root
