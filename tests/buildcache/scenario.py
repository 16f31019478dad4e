"""The scenario suite's data: Dockerfile, context, change and expected statuses per step, per builder.

Each tests/buildcache/scenarios/*.toml holds one scenario:
  rule        the docs/cache-rules.md rule it pins (section or §11 row)
  dockerfile  the Dockerfile before the change; [files] the context before (path = content)
  [change]    files (path = new content), remove, mkdir, chmod (path = "755"), dockerfile (new text),
              args_before / args (build args of the two builds), base_changed (bool), target
  [expect]    one letter per step of `layerscope cache` (h hit, m miss, n none, s skipped) for
              buildkit (containerd store), overlay2 (BuildKit on the overlay2 store; default: buildkit),
              buildkit-20.10 (Docker 20.10's BuildKit; default: overlay2), classic, buildah; or classic_error /
              buildah_error / buildkit-20.10_error (a message the builder refuses with)
  [causes]    "builder:line" = "kind:name" for a few steps whose cause the scenario pins
  [real]      where a real engine answers differently from the model: engine = letters (recorded, with
              the reason in `why_<engine>`); skip_<engine> = reason it cannot run there
  options     reproducible = [...], target = "..."
  [build_contexts.NAME]  a named build context of both builds: `files` (path = content: a directory, given as
              --build-context NAME=DIR) or `image` (a tag: docker-image://TAG, the test base image imported under
              that tag); [change.build_contexts.NAME] files of a directory context changed (path = new content,
              "@remove" deletes), change.base_changed_contexts = [NAME...] image contexts re-published
Engines: modern-containerd, modern-overlay2 (Docker 28.5), docker20-buildkit, docker20-classic (Docker
20.10), buildah (1.28).
"""

from __future__ import annotations

import base64
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from layerscope.buildcache.inputs.contexts import parse_contexts
from layerscope.buildcache.request import CacheRequest

HERE = Path(__file__).parent / "scenarios"
LETTER = {"hit": "h", "miss": "m", "none": "n", "skipped": "s", "depends": "d"}
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
    build_contexts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def expected(self, builder: str) -> str | None:
        value = self.expect.get(builder)
        if value is None and builder == "buildkit-20.10":  # Docker 20.10 runs on overlay2 only
            value = self.expect.get("overlay2")
        if value is None and builder in ("overlay2", "buildkit-20.10"):
            value = self.expect.get("buildkit")
        return None if value is None else value.replace(" ", "")

    @property
    def target(self) -> str | None:
        return self.change.get("target") or self.options.get("target")

    @property
    def target_before(self) -> str | None:
        return self.options.get("target_before") or self.target

    def context_images(self) -> dict[str, str]:
        """Image contexts: name -> the tag the test base image is imported under."""
        return {n: c["image"] for n, c in self.build_contexts.items() if "image" in c}

    def republished(self) -> list[str]:
        return list(self.change.get("base_changed_contexts", []))

    def write_contexts(self, root: Path, after: bool) -> dict[str, str]:
        """Directory contexts written under `root`; every context as NAME -> VALUE of --build-context."""
        out: dict[str, str] = {}
        changed = self.change.get("build_contexts", {}) if after else {}
        for name, spec in self.build_contexts.items():
            if "image" in spec:
                out[name] = "docker-image://" + spec["image"]
                continue
            files = {**spec.get("files", {}), **changed.get(name, {})}
            files = {p: c for p, c in files.items() if c != "@remove"}
            target = root / name.replace("/", "_")
            write_files(target, files)
            out[name] = str(target)
        return out

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


def cache_request(sc: Scenario, builder: str, store: str, root: Path) -> CacheRequest:
    """Write the scenario's two builds under `root` (before/, after/, contexts-before/, contexts-after/): the
    request `layerscope cache` gets for them."""
    before, after = root / "before", root / "after"
    if not before.exists():
        sc.write_before(before)
        sc.write_after(after)
    ctx_before = sc.write_contexts(root / "contexts-before", after=False)
    ctx_after = sc.write_contexts(root / "contexts-after", after=True)
    args_before, args_after = sc.args_before(), sc.args_after()
    old_args: dict[str, str | None] = {k: v for k, v in args_before.items() if args_after.get(k) != v}
    old_args.update({k: None for k in args_after if k not in args_before})
    base_changed = ("*",) if sc.change.get("base_changed") else ()
    return CacheRequest(
        context=str(after), against=str(before), target=sc.target, builder=builder, image_store=store,
        build_args=args_after, old_build_args=old_args, base_changed=(*base_changed, *sc.republished()),
        reproducible=tuple(sc.options.get("reproducible", ())),
        build_contexts=parse_contexts([f"{n}={v}" for n, v in ctx_after.items()]),
        old_build_contexts=parse_contexts([f"{n}={v}" for n, v in ctx_before.items() if "://" not in v]),
    )  # fmt: skip


def write_tree(root: Path, files: dict[str, str], dockerfile: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "Dockerfile").write_text(dockerfile.lstrip("\n"))
    write_files(root, files)


def write_files(root: Path, files: dict[str, str]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o755)
    for path, content in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if content.startswith("@link:"):
            target.symlink_to(content[len("@link:") :])
            continue
        if content.startswith("@b64:"):  # binary content (archives)
            target.write_bytes(base64.b64decode(content[len("@b64:") :]))
            os.chmod(target, 0o644)
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
                build_contexts=data.get("build_contexts", {}),
            )
        )
    return out
