"""High-signal secret detectors, run over file contents during the one pass over a layer.

Each detector is one prefilter (a substring, or a regex with a literal prefix: one fast
pass over the bytes each) and a regular expression that confirms it; only files whose
head passes a prefilter pay for the full patterns. Bounded cost: regular files of at most
MAX_FILE bytes are scanned, and of each only its first HEAD bytes, and only text: a NUL
byte in the first SNIFF bytes marks a binary (compiled code, images, archives), skipped.
Keys, .env files and credential JSON are small text files. What a detector matched is
never kept: a finding is a path and a detector name.

STAMP names this set (patterns and limits): cached findings made by other detectors are
not reused (layers/layercache.py).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

HEAD = 64 << 10  # bytes scanned at the start of each file
MAX_FILE = 8 << 20  # larger files are not scanned at all
SNIFF = 1024  # a NUL byte in this many first bytes: a binary file, not scanned


@dataclass(frozen=True, slots=True)
class Detector:
    name: str
    prefilter: bytes | re.Pattern[bytes]  # a substring or a literal-prefixed pattern every match holds
    pattern: re.Pattern[bytes]
    also: bytes = b""  # a second literal the head must hold too (the GCP key's "private_key")


DETECTORS: tuple[Detector, ...] = (
    # A PEM or OpenSSH private key: the header followed by base64 (not a header quoted in docs).
    Detector(
        "private-key",
        b"PRIVATE KEY",
        re.compile(
            rb"-----BEGIN[ A-Z0-9]{0,20}PRIVATE KEY(?: BLOCK)?-----\r?\n"
            rb"(?:[A-Za-z-]+: [^\r\n]*\r?\n)*\r?\n?[A-Za-z0-9+/=]{40,}"
        ),
    ),
    # AWS access key ids; AWS's documented example key (…EXAMPLE) is not one.
    Detector(
        "aws-access-key-id",
        re.compile(rb"A[KS]IA"),
        re.compile(rb"\b(?:AKIA|ASIA)(?![A-Z0-9]{9}EXAMPLE)[A-Z0-9]{16}\b"),
    ),
    Detector(
        "github-token",
        re.compile(rb"gh(?:[pousr]_|ithub_pat_)"),
        re.compile(rb"\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})\b"),
    ),
    Detector("gitlab-token", b"glpat-", re.compile(rb"\bglpat-[A-Za-z0-9_-]{20}\b")),
    Detector("slack-token", b"xox", re.compile(rb"\bxox[baprs]-[0-9]{6,}-[0-9A-Za-z-]{8,}")),
    Detector("stripe-secret-key", b"k_live_", re.compile(rb"\b[sr]k_live_[0-9A-Za-z]{24,}\b")),
    Detector(
        "gcp-service-account",
        b"service_account",
        re.compile(rb'"type"\s*:\s*"service_account"'),
        also=b'"private_key"',
    ),
)

NAMES = tuple(d.name for d in DETECTORS)


def stamp(detectors: tuple[Detector, ...], head: int, max_file: int) -> str:
    """A name for a set of detectors and limits: findings made by another set are not these."""
    material: list[object] = [
        (d.name, d.prefilter if isinstance(d.prefilter, bytes) else d.prefilter.pattern, d.pattern.pattern, d.also)
        for d in detectors
    ]
    material += [head, max_file, SNIFF]
    return hashlib.sha256(repr(material).encode()).hexdigest()[:16]


STAMP = stamp(DETECTORS, HEAD, MAX_FILE)


def _passes(d: Detector, data: bytes) -> bool:
    f = d.prefilter
    return f in data if isinstance(f, bytes) else f.search(data) is not None


def scan(data: bytes) -> tuple[str, ...]:
    """The names of the detectors that fire on ``data`` (a file's head), in DETECTORS order;
    none for a binary (a NUL byte in its first SNIFF bytes)."""
    if b"\0" in data[:SNIFF]:
        return ()
    return tuple(
        d.name for d in DETECTORS if _passes(d, data) and d.pattern.search(data) and (not d.also or d.also in data)
    )


def scan_text(text: str) -> tuple[str, ...]:
    """The same detectors over text (an ENV value, a history line)."""
    return scan(text.encode("utf-8", "surrogateescape"))
