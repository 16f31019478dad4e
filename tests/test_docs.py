"""Every design doc the code cites is in the repository, under docs/ (the design notes it
came from are not shipped with it)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_DESIGN = ("ARCHITECTURE", "CONTRACT", "STYLE", "cache-rules", "environment", "image-formats", "performance", "fleet")


def _sources() -> list[Path]:
    return sorted(p for d in ("layerscope", "tests") for p in (REPO / d).rglob("*.py"))


def test_every_cited_doc_is_in_docs() -> None:
    cite = re.compile(r"\bdocs/(?:" + "|".join(map(re.escape, _DESIGN)) + r")\.md\b")
    cited = {m for p in _sources() for m in cite.findall(p.read_text(encoding="utf-8"))}
    assert "docs/image-formats.md" in cited  # the scan finds citations at all
    assert sorted(c for c in cited if not (REPO / c).is_file()) == []


def test_design_docs_are_cited_by_their_path() -> None:
    bare = re.compile(r"(?<![/\w\"-])(?:" + "|".join(map(re.escape, _DESIGN)) + r")\.md\b")
    found = [
        f"{p.relative_to(REPO)}:{n}"
        for p in _sources()
        for n, line in enumerate(p.open(encoding="utf-8"), 1)
        if bare.search(line) and p.name != "test_docs.py"
    ]
    assert found == []
