"""The Dockerfile rewrite `--advise` proposes: copy the files an install step reads first, run it, then copy the
rest; and which context files that step reads, judged from its command.

A RUN reads the copied files its command names (`pip install -r requirements.txt`, `sort reqs.txt`), plus the
manifests of the package managers it runs (`npm ci` reads package.json and its lock file). A command that names
a copied directory (`pip install .`) or runs a tool that reads the whole tree (`make`, `npm run build`) needs
more than that: no rewrite is proposed for it.
"""

from __future__ import annotations

import fnmatch
import json
import posixpath
import re
import shlex
from dataclasses import dataclass

from layerscope.buildfile.context import DIR, clean_source
from layerscope.buildfile.instructions import Instruction
from layerscope.buildfile.stages import Dockerfile

# package-manager commands that read only their manifests, and those manifests
MANIFESTS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"^npm (ci|install)\b"), ("package.json", "package-lock.json", "npm-shrinkwrap.json")),
    (re.compile(r"^yarn( install)?( --frozen-lockfile| --immutable)*$"), ("package.json", "yarn.lock")),
    (re.compile(r"^pnpm (install|i)\b"), ("package.json", "pnpm-lock.yaml")),
    (re.compile(r"^go mod download\b"), ("go.mod", "go.sum")),
    (re.compile(r"^bundle install\b"), ("Gemfile", "Gemfile.lock")),
    (re.compile(r"^poetry install\b.*--no-root"), ("pyproject.toml", "poetry.lock")),
    (re.compile(r"^uv sync\b.*--no-install-project"), ("pyproject.toml", "uv.lock")),
    (re.compile(r"^pipenv (install|sync)\b"), ("Pipfile", "Pipfile.lock")),
    (re.compile(r"^cargo fetch\b"), ("Cargo.toml", "Cargo.lock")),
)
# tools that read the working tree without naming files
WHOLE_TREE = re.compile(
    r"^(make|cmake|ninja|mvn|gradle|\./gradlew|pytest|tox|nox|tsc|webpack|vite|cargo (build|install|test)|"
    r"go (build|install|test|generate|vet)|(npm|yarn|pnpm) (run|build|test|exec)|poetry (install|build)|uv sync|"
    r"pip3? install (-e|--editable)|python3? (setup\.py|-m build)|hatch|flit|maturin)\b"
)
OPERATORS = frozenset({"&&", "||", ";", "|", "&", "(", ")"})


@dataclass(frozen=True, slots=True)
class Copied:
    """What a COPY from the context put where: destination path -> (entry type, context path)."""

    dest: str  # the destination as written
    files: dict[str, tuple[str, str]]


def run_command(ins: Instruction) -> str:
    if ins.heredocs:
        return "\n".join(h.content for h in ins.heredocs)
    return " ".join(ins.args) if not ins.json else " ".join(shlex.quote(a) for a in ins.args)


def shell_commands(text: str) -> list[list[str]]:
    lexer = shlex.shlex(text.replace("\n", " ; "), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:  # unbalanced quotes: cannot tell what it reads
        return [["make"]]
    out: list[list[str]] = [[]]
    for tok in tokens:
        if tok in OPERATORS:
            out.append([])
        else:
            out[-1].append(tok)
    return [c for c in out if c]


def needed_files(ins: Instruction, cwd: str, copied: Copied) -> set[str] | None:
    """Context paths of the copied files this RUN reads; None when it may read more (or we cannot tell)."""
    if ins.flag("mount") is not None:
        return None
    by_dest = copied.files
    names = {posixpath.basename(d): d for d, (kind, _) in by_dest.items() if kind != DIR}
    need: set[str] = set()
    for words in shell_commands(run_command(ins)):
        line = " ".join(words)
        if WHOLE_TREE.match(line):
            return None
        for pattern, manifests in MANIFESTS:
            if pattern.match(line):
                need |= {by_dest[d][1] for n, d in names.items() if n in manifests and posixpath.dirname(d) == cwd}
        after_output = False
        for word in words:
            if word in (">", ">>"):
                after_output = True
                continue
            if after_output or (word.startswith("-") and "=" not in word):
                after_output = False
                continue
            value = word.split("=", 1)[1] if "=" in word else word
            path = posixpath.normpath(posixpath.join(cwd, value))
            hits = [d for d in by_dest if fnmatch.fnmatchcase(d, path)] if any(c in value for c in "*?[") else []
            hits += [path] if path in by_dest else []
            for d in hits:
                if by_dest[d][0] == DIR:
                    return None  # a copied directory: the whole tree below it
                need.add(by_dest[d][1])
    return need or None


def _copy_line(ins: Instruction, sources: list[str], dest: str) -> str:
    flags = [f"--{k}={v}" if v is not None else f"--{k}" for k, v in ins.flags if k in ("chown", "chmod", "link")]
    if any(" " in s for s in [*sources, dest]):
        return " ".join([ins.keyword, *flags, json.dumps([*sources, dest])])
    return " ".join([ins.keyword, *flags, *sources, dest])


def manifest_copies(copy: Instruction, needs: set[str]) -> list[str]:
    """COPY lines that put `needs` (context paths) where the broad COPY would, grouped by directory."""
    source = clean_source(copy.args[0], copy.line)
    dest = copy.args[-1]
    groups: dict[str, list[str]] = {}
    for path in sorted(needs):
        rel = path[len(source) + 1 :] if source else path
        groups.setdefault(posixpath.dirname(rel), []).append(path)
    out = []
    for sub, paths in sorted(groups.items()):
        target = posixpath.join(dest, sub) if sub else dest
        out.append(_copy_line(copy, paths, target if target.endswith("/") else target + "/"))
    return out


def find(df: Dockerfile, stage: str, text: str) -> Instruction | None:
    want = " ".join(text.split())
    for st in df.stages:
        if st.label == stage:
            return next((i for i in st.instructions if " ".join(i.original.split()) == want), None)
    return None


def split_copy(df: Dockerfile, copy: Instruction, run: Instruction, needs: set[str]) -> str | None:
    """The Dockerfile with `needs` copied first and `run` (and the metadata lines before it) moved above `copy`.

    None when something between them must stay after the COPY (a WORKDIR, another COPY, a RUN).
    """
    stage = next(s for s in df.stages if copy in s.instructions)
    body = list(stage.instructions)
    between = body[body.index(copy) + 1 : body.index(run)]
    if any(i.keyword in ("WORKDIR", "RUN", "COPY", "ADD", "ONBUILD") for i in between) or len(copy.args) != 2:
        return None
    lines = df.text.splitlines(keepends=True)
    moved = lines[copy.end_line : run.end_line]  # the metadata lines, comments and the RUN
    if moved and not moved[-1].endswith("\n"):
        moved[-1] += "\n"
    head, original_copy = lines[: copy.line - 1], lines[copy.line - 1 : copy.end_line]
    if original_copy and not original_copy[-1].endswith("\n"):
        original_copy[-1] += "\n"
    new = [c + "\n" for c in manifest_copies(copy, needs)]
    return "".join([*head, *new, *moved, *original_copy, *lines[run.end_line :]])
