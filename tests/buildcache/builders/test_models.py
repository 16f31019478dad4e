"""Builder models beyond one earlier build: older records, forced misses, image stores, reasons."""

from __future__ import annotations

from pathlib import Path

from layerscope.buildcache.builders.buildkit import platform_key
from layerscope.buildcache.builders.plan import BuildInput
from layerscope.buildcache.builders.run import simulate_builds
from layerscope.buildfile.context import ContextTree
from layerscope.buildfile.stages import load_dockerfile
from tests.buildcache.scenario import write_tree

DF = """\
FROM sample/busybox:base
COPY a.txt /a.txt
RUN cat /a.txt
"""


def build(root: Path, files: dict[str, str], dockerfile: str = DF, **kw: object) -> BuildInput:
    write_tree(root, files, dockerfile)
    return BuildInput(load_dockerfile(dockerfile), ContextTree.from_dir(str(root)), {}, **kw)  # type: ignore[arg-type]


def test_reverting_hits_older_records(tmp_path: Path) -> None:
    a = build(tmp_path / "a", {"a.txt": "one\n"})
    b = build(tmp_path / "b", {"a.txt": "two\n"})
    again = build(tmp_path / "c", {"a.txt": "one\n"})
    for builder in ("buildkit", "classic", "buildah"):
        steps = simulate_builds([a, b], again, builder)
        assert all(s.status != "miss" for s in steps), builder
        steps = simulate_builds([b], again, builder)
        assert any(s.status == "miss" for s in steps), builder


def test_buildah_skips_lookups_after_a_mounted_stage_ran(tmp_path: Path) -> None:
    df = """\
FROM sample/busybox:base AS gen
COPY a.txt /a.txt
FROM sample/busybox:base
RUN --mount=type=bind,from=gen,source=/a.txt,target=/a.txt cat /a.txt
"""
    old = build(tmp_path / "a", {"a.txt": "one\n"}, df)
    new = build(tmp_path / "b", {"a.txt": "two\n"}, df)
    steps = {s.line: s for s in simulate_builds([old], new, "buildah")}
    assert steps[4].status == "miss" and steps[4].reason == "no lookup: stage gen executed in this build"
    steps = {s.line: s for s in simulate_builds([old], new, "buildkit")}
    assert steps[4].status == "miss" and steps[4].cause is not None and steps[4].cause.kind == "earlier-step"


def test_hit_notes(tmp_path: Path) -> None:
    old = build(tmp_path / "a", {"a.txt": "one\n"})
    new = build(tmp_path / "b", {"a.txt": "one\n"})
    steps = {s.line: s for s in simulate_builds([old], new, "buildah")}
    assert steps[2].status == "hit" and steps[2].reason is not None and "before the lookup" in steps[2].reason
    assert steps[3].reason is None and steps[3].cause is None


def test_classic_refuses_buildkit_only_syntax(tmp_path: Path) -> None:
    import pytest

    from layerscope.errors import UnsupportedError

    df = "FROM sample/busybox:base\nRUN --mount=type=cache,target=/c true\n"
    old = build(tmp_path / "a", {}, df)
    with pytest.raises(UnsupportedError, match="line 2: the classic builder does not support RUN --mount"):
        simulate_builds([old], old, "classic")


def test_a_from_platform_naming_the_build_platform_keys_as_no_flag(tmp_path: Path) -> None:
    plain = build(tmp_path / "a", {"a.txt": "one\n"})
    for i, flag in enumerate(("linux/amd64", "$BUILDPLATFORM", "linux/x86_64", "linux/arm64")):
        df = DF.replace("FROM ", f"FROM --platform={flag} ")
        after = build(tmp_path / f"p{i}", {"a.txt": "one\n"}, df)
        statuses = {s.line: s.status for s in simulate_builds([plain], after, "buildkit")}
        expected = "miss" if flag == "linux/arm64" else "hit"  # another platform: another image, new keys
        assert statuses[2] == statuses[3] == expected, (flag, statuses)


def test_platform_key_normalizes() -> None:
    assert platform_key("") == platform_key("linux/amd64") == platform_key("LINUX/X86_64") == "linux/amd64"
    assert platform_key("linux/arm64/v8") == platform_key("linux/aarch64") == platform_key("arm64") == "linux/arm64"
    assert platform_key("linux/arm/v7") == "linux/arm/v7"
