"""Every design doc the code cites is in the repository, under docs/ (the design notes it
came from are not shipped with it)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

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


# The README's console examples are real output. Every `$ ` command of a ```console block is either run
# here, from a clone's files, or named in NOT_RUN with what it needs that a clone lacks; a new example must
# be one or the other. A shown line that is "…" or starts with "…" or "(…" stands for lines left out; the
# lines between two such cuts are printed as shown, one after the other, and a block that starts (ends)
# without a cut starts (ends) where the output does.
NOT_RUN = {
    "pip install -e '.[test]' && python -m pytest": "the test suite itself",
    "layerscope packages --json svc-fat.tar": "a Debian image built from the mirror (test_multistage_savings.py)",
    "layerscope packages svc-fat.tar": "a Debian image built from the mirror (test_multistage_savings.py)",
    "layerscope cache --against ../last-build-ctx": "a user's project (acme/api), for the flags",
    "layerscope cache --git-log 20": "a user's project (acme/api), for the flags",
    "layerscope fleet --catalog": "the test fleet in a docker-registry (tests/fleet)",
    "python benchmarks/fleet_benchmark.py": "a benchmark with a docker-registry, never run in tests",
}
CUT = ("…", "(…")


@dataclass(frozen=True)
class Example:
    command: str  # as the README shows it, continuation lines joined
    shown: tuple[str, ...]  # the lines shown under it


def console_examples() -> list[Example]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    examples: list[Example] = []
    for block in text.split("```console\n")[1:]:
        lines = block.split("```", 1)[0].splitlines()
        command: str | None = None
        shown: list[str] = []
        while lines:
            line = lines.pop(0)
            if line.startswith("$ "):
                if command is not None:
                    examples.append(Example(command, tuple(shown)))
                command, shown = line[2:], []
                while command.endswith("\\") and lines:
                    command = command[:-1].rstrip() + " " + lines.pop(0).strip()
            else:
                shown.append(line.rstrip())
        assert command is not None, f"a console block with no command: {lines}"
        examples.append(Example(command, tuple(shown)))
    return examples


def _segments(shown: tuple[str, ...]) -> tuple[list[list[str]], bool, bool]:
    """The runs of lines between cuts, and whether the first (last) run is cut off before (after) it."""
    segments: list[list[str]] = [[]]
    for line in shown:
        if line.startswith(CUT):
            segments.append([])
        else:
            segments[-1].append(line)
    open_start, open_end = shown[:1] and shown[0].startswith(CUT), shown[-1:] and shown[-1].startswith(CUT)
    return [s for s in segments if s], bool(open_start), bool(open_end)


def assert_shown(shown: tuple[str, ...], printed: list[str], what: str) -> None:
    segments, open_start, open_end = _segments(shown)
    at = 0
    for n, segment in enumerate(segments):
        starts = [i for i in range(at, len(printed) - len(segment) + 1) if printed[i : i + len(segment)] == segment]
        if n == 0 and not open_start:
            starts = [i for i in starts if i == 0]
        if n == len(segments) - 1 and not open_end:
            starts = [i for i in starts if i + len(segment) == len(printed)]
        assert starts, (
            f"the README shows, under `{what}`, these lines together, which it does not print so:\n"
            + "\n".join(segment)
            + "\n--- it prints:\n"
            + "\n".join(printed)
        )
        at = starts[0] + len(segment)


def _not_run(command: str) -> str | None:
    return next((why for prefix, why in NOT_RUN.items() if command.startswith(prefix)), None)


def _runnable() -> list[Example]:
    return [e for e in console_examples() if _not_run(e.command) is None]


def test_every_console_example_is_run_or_says_why_not() -> None:
    commands = [e.command for e in console_examples()]
    assert len(commands) >= 15
    ran = [c for c in commands if _not_run(c) is None]
    assert all(c.startswith(("layerscope ", "pip install . && layerscope ")) for c in ran), ran
    unused = [p for p in NOT_RUN if not any(c.startswith(p) for c in commands)]
    assert unused == []  # a NOT_RUN entry no example has any more


@pytest.mark.parametrize("example", _runnable(), ids=lambda e: " ".join(e.command.split()[:4]))
def test_readme_console_example_is_real_output(example: Example, tmp_path: Path) -> None:
    words = shlex.split(example.command.removeprefix("pip install . && "), comments=True)
    assert words[0] == "layerscope"
    argv, cwd, code, stream = words[1:], REPO, 0, "out"
    if argv[:3] == ["cache", "--context", "demo/after"]:
        cwd = REPO / "tests" / "fixtures" / "modern-docker"  # "On the demo context of tests/fixtures/modern-docker"
    elif argv == ["check", "leaky.tar"]:
        from tests.support.leaky import CONFIG, crafted  # the README's test image and its config

        crafted(tmp_path / "leaky.tar")
        (tmp_path / ".layerscope.toml").write_text(CONFIG)
        cwd, code = tmp_path, 1
    elif argv == ["inspect", "/dev/zero"]:
        code, stream = 2, "err"
    if "-o" in argv:  # a report: written to the test's directory, not the clone's
        argv[argv.index("-o") + 1] = str(tmp_path / argv[argv.index("-o") + 1])
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    p = subprocess.run([sys.executable, "-m", "layerscope", *argv], capture_output=True, text=True, env=env,
                       cwd=cwd, timeout=300)  # fmt: skip
    assert p.returncode == code, p.stderr
    printed = [line.rstrip() for line in (p.stdout if stream == "out" else p.stderr).splitlines()]
    if example.shown:
        assert_shown(example.shown, printed, example.command)


@pytest.mark.parametrize(
    ("shown", "printed", "holds"),
    [
        (("a", "b"), ["a", "b"], True),
        (("a", "b"), ["a", "x", "b"], False),  # a line left out without a cut
        (("a", "…", "b"), ["a", "x", "b"], True),
        (("a",), ["a", "b"], False),  # the end left out without a cut
        (("a", "(… the rest)"), ["a", "b"], True),
        (("…", "b"), ["a", "b"], True),
        (("b",), ["a", "b"], False),  # the start left out without a cut
        (("b", "…", "a"), ["a", "b"], False),  # out of order
    ],
)
def test_the_cut_rules(shown: tuple[str, ...], printed: list[str], holds: bool) -> None:
    try:
        assert_shown(shown, printed, "x")
    except AssertionError:
        assert not holds
    else:
        assert holds


def test_cache_keys_doc_names_the_cache_paths_the_code_writes(tmp_path: Path) -> None:
    from layerscope.analysis import summary_cache
    from layerscope.layers.layercache import SCHEMA, LayerCache

    doc = (REPO / "docs" / "cache-keys.md").read_text(encoding="utf-8")
    cache = LayerCache(str(tmp_path))
    directory = Path(cache.directory).name  # layers-v5-py311-c<stamp>
    shown = f"layers-v{SCHEMA}-pyXY-cSTAMP"
    assert directory == shown.replace("pyXY", f"py{sys.version_info[0]}{sys.version_info[1]}").replace(
        "STAMP", directory.rsplit("-c", 1)[1]
    )
    assert f"`{shown}/sha256/ab/<hex>.zst`" in doc and f"`{shown}/local/ab/" in doc
    assert Path(cache._blob_path("sha256:ab" + "0" * 62)).relative_to(tmp_path).parts == (
        directory, "sha256", "ab", "ab" + "0" * 62 + ".zst"
    )  # fmt: skip
    assert f"`images-v{summary_cache.SCHEMA}/ab/<key>.json.zst`" in doc
    assert f"more than {summary_cache.MAX_LAYOUT_FILES:,} files are not summarised" in doc


def test_the_floors_of_architecture_md_are_the_import_contract_and_the_whole_package() -> None:
    """docs/ARCHITECTURE.md's table of floors names every module and package of layerscope once, in the
    order of the `layers` contract that lint-imports checks."""
    doc = (REPO / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\d+)(?: \(top\))? \| ((?:`[\w.]+/?`(?:, )?)+) \|", doc, re.M)
    floors = [sorted(name.rstrip("/").removesuffix(".py") for name in re.findall(r"`([\w.]+/?)`", names))
              for _, names in rows]  # fmt: skip
    assert [int(n) for n, _ in rows] == list(range(1, len(rows) + 1))
    contracts = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    layers = next(c for c in contracts["contracts"] if c["type"] == "layers" and "containers" not in c)["layers"]
    assert floors == [sorted(m.strip().removeprefix("layerscope.") for m in layer.split(":")) for layer in layers]
    package = REPO / "layerscope"
    modules = {p.stem for p in package.glob("*.py")} | {
        p.name for p in package.iterdir() if (p / "__init__.py").is_file()
    }
    assert sorted(name for floor in floors for name in floor) == sorted(modules - {"__init__", "__main__"})


def test_the_readme_budget_example_is_a_valid_config(tmp_path: Path) -> None:
    """The README's `[tool.layerscope.images.api]` example, as pyproject.toml: every key a rule, every value valid."""
    from layerscope.budget.config import load_config
    from layerscope.budget.rules import RULES

    text = (REPO / "README.md").read_text(encoding="utf-8")
    (example,) = re.findall(r"```toml\n(.*?)```", text, re.S)
    (tmp_path / "pyproject.toml").write_text(example)
    config = load_config(str(tmp_path / "pyproject.toml"))
    assert config.errors == ()
    (api,) = config.images
    assert api.name == "api" and api.ref == "docker-daemon:acme/api:latest"
    shown = re.findall(r"^([a-z-]+) = ", example, re.M)
    assert sorted(r.key for r in api.rules if r.key in shown) == sorted(set(shown) - {"ref"})
    assert set(shown) - {"ref"} <= set(RULES)


def test_every_flag_of_every_command_is_documented() -> None:
    """A flag a user can type is in the contract, its extensions or the README."""
    import argparse

    from layerscope.cli.main import build_parser

    docs = "".join(
        (REPO / p).read_text(encoding="utf-8") for p in ("docs/CONTRACT.md", "docs/contract-extensions.md", "README.md")
    )
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    parsers = {"": parser, **sub.choices}
    flags = {f for p in parsers.values() for a in p._actions for f in a.option_strings if f.startswith("--")}
    assert len(parsers) >= 10 and "--no-cache" in flags
    assert sorted(f for f in flags - {"--help"} if not re.search(re.escape(f) + r"(?![\w-])", docs)) == []


def test_the_readme_python_examples_run() -> None:
    """The README's ```python blocks run as shown, from the repository root (the samples' paths)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks
    for code in blocks:
        check = code + "\nimport sys\nassert 'matplotlib.pyplot' not in sys.modules  # figures without pyplot\n"
        p = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, cwd=REPO, timeout=300,
                           env={**os.environ, "PYTHONPATH": str(REPO)})  # fmt: skip
        assert p.returncode == 0, p.stderr[-3000:]


def test_the_flags_the_docs_give_a_command_are_its_flags() -> None:
    """`layerscope CMD ... --flag` in the README and the contract: CMD takes --flag."""
    import argparse

    from layerscope.cli.main import build_parser

    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    top = {f for a in parser._actions for f in a.option_strings}
    takes = {name: top | {f for a in p._actions for f in a.option_strings} for name, p in sub.choices.items()}
    wrong, seen = [], 0
    for doc in ("README.md", "docs/CONTRACT.md", "docs/contract-extensions.md", "docs/fleet.md", "docs/cache-keys.md"):
        text = (REPO / doc).read_text(encoding="utf-8")
        for command, rest in re.findall(r"\blayerscope ([a-z][a-z-]*)((?: [^`\n|]*)?)", text):
            if command not in takes:
                continue
            for flag in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", rest.split(" | ")[0]):
                seen += 1
                if flag not in takes[command]:
                    wrong.append(f"{doc}: layerscope {command} ... {flag}")
    assert seen > 30
    assert wrong == []
