"""The scenario suite's data: Dockerfile, context, change and expected statuses per step, per builder.

Each tests/cache/scenarios/*.toml holds one scenario:
  rule        the docs/cache-rules.md rule it pins (section or §11 row)
  dockerfile  the Dockerfile before the change; [files] the context before (path = content)
  [change]    files (path = new content), remove, mkdir, chmod (path = "755"), dockerfile (new text),
              args_before / args (build args of the two builds), base_changed (bool), target
  [expect]    one letter per step of `layerscope cache` (h hit, m miss, n none, s skipped) for
              buildkit (containerd store), overlay2 (BuildKit on the overlay2 store; default: buildkit),
              classic, buildah; or classic_error / buildah_error (a message the builder refuses with)
  [causes]    "builder:line" = "kind:name" for a few steps whose cause the scenario pins
  [real]      where a real engine answers differently from the model: engine = letters (recorded, with
              the reason in `why_<engine>`); skip_<engine> = reason it cannot run there
  options     reproducible = [...], target = "..."
Engines: modern-containerd, modern-overlay2 (Docker 28.5), docker20-buildkit, docker20-classic (Docker
20.10), buildah (1.28).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent / "scenarios"
LETTER = {"hit": "h", "miss": "m", "none": "n", "skipped": "s"}
BASE_IMAGE = "sample/busybox:base"


@dataclass
class Scenario:
    name: str
    rule: str
    dockerfile: str
    files: dict[str, str]
    change: dict[str, Any]
    expect: dict[str, str]
    causes: dict[str, str] = field(default_factory=dict)
    real: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    def expected(self, builder: str) -> str | None:
        value = self.expect.get(builder)
        if value is None and builder == "overlay2":
            value = self.expect.get("buildkit")
        return None if value is None else value.replace(" ", "")

    @property
    def target(self) -> str | None:
        return self.change.get("target") or self.options.get("target")

    def args_before(self) -> dict[str, str]:
        return dict(self.change.get("args_before", self.change.get("args", {})))

    def args_after(self) -> dict[str, str]:
        return dict(self.change.get("args", {}))

    def write_before(self, root: Path) -> None:
        write_tree(root, self.files, self.dockerfile)

    def write_after(self, root: Path) -> None:
        files = dict(self.files)
        files.update(self.change.get("files", {}))
        for path in self.change.get("remove", []):
            files.pop(path, None)
        write_tree(root, files, self.change.get("dockerfile", self.dockerfile))
        for path in self.change.get("mkdir", []):
            (root / path).mkdir(parents=True, exist_ok=True)
        for path, mode in self.change.get("chmod", {}).items():
            os.chmod(root / path, int(mode, 8))
        for path, owner in self.change.get("chown", {}).items():
            os.chown(root / path, int(owner), int(owner))


def write_tree(root: Path, files: dict[str, str], dockerfile: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o755)
    (root / "Dockerfile").write_text(dockerfile.lstrip("\n"))
    for path, content in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if content.startswith("@link:"):
            target.symlink_to(content[len("@link:") :])
            continue
        target.write_text(content)
        os.chmod(target, 0o755 if content.startswith("#!") else 0o644)
    for dirpath, dirnames, _ in os.walk(root):  # one umask for every machine
        for d in dirnames:
            os.chmod(os.path.join(dirpath, d), 0o755)


def load_all() -> list[Scenario]:
    out = []
    for path in sorted(HERE.glob("*.toml")):
        data = tomllib.loads(path.read_text())
        out.append(
            Scenario(
                name=path.stem,
                rule=data["rule"],
                dockerfile=data["dockerfile"],
                files=data.get("files", {}),
                change=data.get("change", {}),
                expect=data.get("expect", {}),
                causes=data.get("causes", {}),
                real=data.get("real", {}),
                options=data.get("options", {}),
            )
        )
    return out
