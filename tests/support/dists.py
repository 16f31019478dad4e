"""Python distributions as pip leaves them in site-packages (METADATA, RECORD with hashes
and sizes, INSTALLER), written as layer entries for crafted images."""

from __future__ import annotations

import base64
import hashlib

from tests.support.factory import Entry, f

SITE = "usr/local/lib/python3.11/site-packages"


def _hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def dist(name: str, version: str, files: dict[str, bytes], site: str = SITE) -> list[Entry]:
    """`files` are paths relative to site-packages (e.g. "foo/__init__.py")."""
    info = f"{name.replace('-', '_')}-{version}.dist-info"
    meta = {
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{info}/INSTALLER": b"pip\n",
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    every = {**files, **meta}
    record = "".join(f"{p},{_hash(data)},{len(data)}\n" for p, data in every.items()) + f"{info}/RECORD,,\n"
    every[f"{info}/RECORD"] = record.encode()
    return [f(f"{site}/{p}", data) for p, data in every.items()]
