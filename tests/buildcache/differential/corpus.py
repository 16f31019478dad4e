"""The recorded corpus: generated scenarios (scenarios.jsonl) and each real builder's verdicts on them.

tests/buildcache/corpus/
  scenarios.jsonl         one scenario per line (`operators.py` generates it; `generate.py` rewrites it)
  truth-<engine>.jsonl    one line per scenario the engine built: {"id", "steps": {"<line>": "hit"|"miss"}}
                          or {"id", "error": "before"|"after", "log": tail}, or {"id", "unreadable": why}
  engines.json            the versions of the builders the truth was recorded with
Engines: modern-containerd, modern-overlay2 (Docker 28.5 BuildKit), docker20-buildkit, docker20-classic
(Docker 20.10), buildah (1.28) -- the ids of tests/buildcache/engines.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.buildcache.scenario import Scenario

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
SCENARIOS = CORPUS / "scenarios.jsonl"
VERSIONS = CORPUS / "engines.json"
ENGINES = ("modern-containerd", "modern-overlay2", "docker20-buildkit", "docker20-classic", "buildah")
# engine -> (builder model, image store) of `layerscope cache`
MODEL = {
    "modern-containerd": ("buildkit", "containerd"),
    "modern-overlay2": ("buildkit", "overlay2"),
    "docker20-buildkit": ("buildkit-20.10", "overlay2"),
    "docker20-classic": ("classic", "containerd"),
    "buildah": ("buildah", "containerd"),
}


def to_scenario(d: dict[str, Any]) -> Scenario:
    return Scenario(
        name=d["id"], rule=f"{d['seed']}/{d['op']}", dockerfile=d["dockerfile"], files=d["files"],
        change=d["change"], expect={}, options=d.get("options", {}),
    )  # fmt: skip


def load_scenarios() -> list[Scenario]:
    return [to_scenario(json.loads(line)) for line in SCENARIOS.read_text().splitlines() if line.strip()]


def truth_path(engine: str) -> Path:
    return CORPUS / f"truth-{engine}.jsonl"


def load_truth(engine: str) -> dict[str, dict[str, Any]]:
    path = truth_path(engine)
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        if line.strip():
            rec = json.loads(line)
            out[rec["id"]] = rec
    return out


def append_truth(engine: str, record: dict[str, Any]) -> None:
    with truth_path(engine).open("a") as fh:
        fh.write(json.dumps(record, sort_keys=True) + "\n")


def load_versions() -> dict[str, str]:
    return json.loads(VERSIONS.read_text()) if VERSIONS.exists() else {}


def save_version(engine: str, version: str) -> None:
    versions = load_versions()
    versions[engine] = version
    VERSIONS.write_text(json.dumps(versions, indent=1, sort_keys=True) + "\n")
