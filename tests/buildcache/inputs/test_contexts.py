"""Named build contexts in the model: the --build-context forms, how each builder resolves a name, and what a
change to a context invalidates."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layerscope.buildcache.features.change import simulate_change
from layerscope.buildcache.inputs.contexts import (
    DIR_CONTEXT,
    IMAGE_CONTEXT,
    OCI_LAYOUT_CONTEXT,
    parse_context,
    parse_contexts,
)
from layerscope.buildcache.request import BuildSpec, CacheRequest
from layerscope.buildcache.simulate import simulate_cache
from layerscope.buildfile.stages import NamedRef, Names, familiar_name, from_target, load_dockerfile
from layerscope.errors import LayerscopeError, UnsupportedError, UsageError
from tests.buildcache.scenario import write_files, write_tree

DOCKERFILE = """\
FROM sample/busybox:base AS build
RUN echo built > /out.txt
FROM sample/busybox:base
COPY --from=libs a.txt /a.txt
RUN --mount=from=libs,source=b.txt,target=/b.txt cat /b.txt
COPY --from=build /out.txt /out.txt
RUN cat /a.txt /out.txt
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    write_tree(tmp_path / "ctx", {"README.md": "hi\n"}, DOCKERFILE)
    write_files(tmp_path / "libs", {"a.txt": "a\n", "b.txt": "b\n", "c.txt": "c\n"})
    write_files(tmp_path / "build", {"out.txt": "from the context\n"})
    return tmp_path


def letters(req: CacheRequest) -> dict[int, str]:
    return {s.line: s.status for s in simulate_cache(req).steps}


# --- the flag -----------------------------------------------------------------------------------


def test_forms(tmp_path: Path) -> None:
    assert parse_context(f"libs={tmp_path}") == parse_context(f"libs={tmp_path}")
    assert parse_context(f"libs={tmp_path}").kind == DIR_CONTEXT
    img = parse_context("base=docker-image://alpine:3.20")
    assert (img.kind, img.source, img.image_like, img.spec) == (
        IMAGE_CONTEXT,
        "alpine:3.20",
        True,
        "base=docker-image://alpine:3.20",
    )
    oci = parse_context(f"base=oci-layout://{tmp_path}:v1")
    assert (oci.kind, oci.source) == (OCI_LAYOUT_CONTEXT, f"{tmp_path}:v1")
    assert parse_context("sample/busybox:base=docker-image://x").name == "sample/busybox:base"


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("libs", "expected NAME=DIR"),
        ("=x", "expected NAME=DIR"),
        ("libs=", "expected NAME=DIR"),
        ("Libs=.", "not a valid context name"),
        ("li bs=.", "not a valid context name"),
        ("scratch=.", "reserved"),
        ("libs=/no/such/dir", "no such directory /no/such/dir"),
        ("libs=https://example.com/x.tar", "only NAME=DIR"),
        ("libs=git@github.com:o/r.git", "only NAME=DIR"),
        ("libs=target:build", "only NAME=DIR"),
        ("libs=docker-image://", "needs an image reference"),
        ("libs=oci-layout:///no/such/layout:tag", "no OCI layout directory /no/such/layout"),
    ],
)
def test_bad_forms_are_usage_errors(item: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as err:
        parse_context(item)
    assert "\n" not in str(err.value)


def test_a_name_given_twice(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="given twice"):
        parse_contexts([f"libs={tmp_path}", "libs=docker-image://x"])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_value_parses_or_is_one_usage_line(item: str) -> None:
    try:
        ctx = parse_context(item)
    except UsageError as err:
        assert "\n" not in str(err) or "\n" in item
        return
    assert ctx.name and ctx.source and "=" in item


# --- names --------------------------------------------------------------------------------------


def test_familiar_names_are_one_context() -> None:
    assert familiar_name("docker.io/library/alpine:latest") == "alpine"
    assert familiar_name("library/alpine") == "alpine"
    assert familiar_name("docker.io/acme/api") == "acme/api"
    assert familiar_name("ghcr.io/acme/api:latest") == "ghcr.io/acme/api"
    assert familiar_name("alpine:3.20") == "alpine:3.20"
    assert Names(("alpine",)).context("docker.io/library/alpine:latest") == "alpine"
    assert Names(("alpine",), context_first=True).context("docker.io/library/alpine:latest") is None
    assert Names(("scratch",)).context("scratch") is None  # reserved in BuildKit


def test_a_context_named_like_a_stage() -> None:
    df = load_dockerfile(DOCKERFILE.replace("--from=libs", "--from=build"))
    final = df.stages[1]
    # BuildKit: the stage is replaced by the context; buildah: the context wins; without it: the stage
    assert from_target(df, final, "build", 4, {}, Names(("build",))) == NamedRef("build")
    assert Names(("build",)).replaced(df.stages[0]) == "build"
    assert from_target(df, final, "build", 4, {}, Names(("build",), context_first=True)) == NamedRef("build")
    assert Names(("build",), context_first=True).replaced(df.stages[0]) is None
    assert from_target(df, final, "build", 4, {}, Names()) is df.stages[0]


def test_an_unknown_name_is_an_image_with_a_note(tree: Path) -> None:
    req = CacheRequest(context=str(tree / "ctx"), changed=("README.md",))
    sim = simulate_cache(req)
    assert (
        "--from=libs (line 4), --from=libs (line 5) name no stage and no --build-context: taken as images"
        in sim.notes[-1]
    )
    assert {s.line: s.status for s in sim.steps}[4] == "hit"


# --- changes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("builder", ["buildkit", "buildah"])
def test_a_file_of_a_directory_context_changed(tree: Path, builder: str) -> None:
    contexts = parse_contexts([f"libs={tree / 'libs'}"])
    req = CacheRequest(context=str(tree / "ctx"), builder=builder, build_contexts=contexts,
                       changed=(str(tree / "libs" / "a.txt"),))  # fmt: skip
    sim = simulate_cache(req)
    got = {s.line: s for s in sim.steps}
    assert got[4].status == "miss" and got[4].cause is not None
    assert (got[4].cause.kind, got[4].cause.name) == ("file", "libs:a.txt")
    assert got[4].reason == "libs:a.txt changed"
    # a file no step selects changes nothing
    req = CacheRequest(context=str(tree / "ctx"), builder=builder, build_contexts=contexts,
                       changed=(str(tree / "libs" / "c.txt"),))  # fmt: skip
    assert {s.status for s in simulate_cache(req).steps} <= {"hit", "none"}


def test_the_mounted_file_of_a_context_changed(tree: Path) -> None:
    contexts = parse_contexts([f"libs={tree / 'libs'}"])
    req = CacheRequest(context=str(tree / "ctx"), build_contexts=contexts, changed=(str(tree / "libs" / "b.txt"),))
    got = letters(req)
    assert (got[4], got[5], got[6], got[7]) == ("hit", "miss", "miss", "miss")


def test_old_build_context_gives_the_earlier_directory(tree: Path) -> None:
    write_files(tree / "libs-before", {"a.txt": "a, before\n", "b.txt": "b\n", "c.txt": "c\n"})
    req = CacheRequest(
        context=str(tree / "ctx"),
        build_contexts=parse_contexts([f"libs={tree / 'libs'}"]),
        old_build_contexts=parse_contexts([f"libs={tree / 'libs-before'}"], "--old-build-context"),
    )
    sim = simulate_cache(req)
    assert {s.line: s.status for s in sim.steps}[4] == "miss"
    assert "named contexts at the last build" in sim.change


def test_a_context_replaces_the_stage_of_its_name(tree: Path) -> None:
    contexts = parse_contexts([f"libs={tree / 'libs'}", f"build={tree / 'build'}"])
    sim = simulate_cache(CacheRequest(context=str(tree / "ctx"), build_contexts=contexts,
                                      changed=(str(tree / "build" / "out.txt"),)))  # fmt: skip
    got = {s.line: s for s in sim.steps}
    assert got[1].status == "none" and "replaced by the named context build=" in (got[1].reason or "")
    assert got[2].status == "skipped"
    assert (got[6].status, got[6].cause and got[6].cause.name) == ("miss", "build:out.txt")


def test_an_image_context_republished(tree: Path) -> None:
    (tree / "ctx" / "Dockerfile").write_text("FROM base\nRUN echo hi\nCOPY --from=tools /bin/sh /sh\n")
    contexts = parse_contexts(["base=docker-image://acme/base:1", "tools=docker-image://acme/tools:1"])
    sim = simulate_cache(CacheRequest(context=str(tree / "ctx"), build_contexts=contexts, base_changed=("tools",)))
    assert [s.status for s in sim.steps] == ["hit", "hit", "miss"]
    assert sim.steps[2].cause is not None and sim.steps[2].cause.name == "tools=docker-image://acme/tools:1"
    sim = simulate_cache(CacheRequest(context=str(tree / "ctx"), build_contexts=contexts, base_changed=("base",)))
    assert [s.status for s in sim.steps] == ["miss", "miss", "miss"]
    assert sim.change == "base image: base"
    # another image at the last build
    old = parse_contexts(["base=docker-image://acme/base:0"], "--old-build-context")
    sim = simulate_cache(CacheRequest(context=str(tree / "ctx"), build_contexts=contexts, old_build_contexts=old))
    assert [s.status for s in sim.steps] == ["miss", "miss", "miss"]


def test_a_context_overrides_a_base_image_of_its_name(tree: Path) -> None:
    (tree / "ctx" / "Dockerfile").write_text("FROM docker.io/library/alpine:latest\nRUN echo hi\n")
    contexts = parse_contexts(["alpine=docker-image://alpine@sha256:" + "a" * 64])
    sim = simulate_cache(CacheRequest(context=str(tree / "ctx"), build_contexts=contexts, base_changed=("alpine",)))
    assert [s.status for s in sim.steps] == ["miss", "miss"]
    assert sim.steps[0].cause is not None and sim.steps[0].cause.name.startswith("alpine=docker-image://")


def test_base_changed_on_a_directory_context_says_how(tree: Path) -> None:
    contexts = parse_contexts([f"libs={tree / 'libs'}"])
    with pytest.raises(UsageError, match="a directory context: say which of its files changed"):
        simulate_cache(CacheRequest(context=str(tree / "ctx"), build_contexts=contexts, base_changed=("libs",)))


def test_old_build_context_needs_the_context(tree: Path) -> None:
    with pytest.raises(UsageError, match="no --build-context libs"):
        simulate_cache(CacheRequest(context=str(tree / "ctx"), changed=("README.md",),
                                    old_build_contexts=parse_contexts([f"libs={tree / 'libs'}"])))  # fmt: skip


def test_the_classic_builder_refuses_named_contexts(tree: Path) -> None:
    contexts = parse_contexts([f"libs={tree / 'libs'}"])
    with pytest.raises(UnsupportedError, match="classic builder does not support named build contexts"):
        simulate_cache(CacheRequest(context=str(tree / "ctx"), builder="classic", build_contexts=contexts,
                                    changed=("README.md",)))  # fmt: skip


def test_buildah_refuses_from_a_directory_context(tree: Path) -> None:
    (tree / "ctx" / "Dockerfile").write_text("FROM libs\nCOPY README.md /\n")
    contexts = parse_contexts([f"libs={tree / 'libs'}"])
    with pytest.raises(LayerscopeError, match="cannot build FROM the directory context libs"):
        simulate_cache(CacheRequest(context=str(tree / "ctx"), builder="buildah", build_contexts=contexts,
                                    changed=("README.md",)))  # fmt: skip


def test_git_log_replays_with_the_contexts(tree: Path) -> None:
    from tests.buildcache.realbuild import git

    ctx = tree / "ctx"
    git(ctx, "init", "-q")
    git(ctx, "add", "-A")
    git(ctx, "commit", "-qm", "one")
    (ctx / "README.md").write_text("edited\n")
    git(ctx, "commit", "-qam", "two")
    contexts = parse_contexts([f"libs={tree / 'libs'}"])
    sim = simulate_cache(CacheRequest(context=str(ctx), build_contexts=contexts, git_log=1))
    assert sim.steps[3].status == "hit"  # COPY --from=libs: the context, not an image named libs
    assert not any("no stage and no --build-context" in n for n in sim.notes)
    assert any("named directory contexts are read from disk" in n for n in sim.notes)


def test_buildah_refuses_oci_layout_contexts(tree: Path) -> None:
    contexts = parse_contexts([f"libs=oci-layout://{tree / 'libs'}:v1"])
    with pytest.raises(UnsupportedError, match="buildah does not take oci-layout:// build contexts"):
        simulate_cache(CacheRequest(context=str(tree / "ctx"), builder="buildah", build_contexts=contexts,
                                    changed=("README.md",)))  # fmt: skip
    # BuildKit takes it as an image
    sim = simulate_cache(CacheRequest(context=str(tree / "ctx"), build_contexts=contexts, base_changed=("libs",)))
    assert {s.line: s.status for s in sim.steps}[4] == "miss"


def test_base_changed_takes_an_image_copy_from_reads(tree: Path) -> None:
    (tree / "ctx" / "Dockerfile").write_text("FROM scratch\nCOPY --from=acme/tools:1 /bin/sh /sh\nCOPY README.md /\n")
    sim = simulate_cache(CacheRequest(context=str(tree / "ctx"), base_changed=("acme/tools",)))
    assert [s.status for s in sim.steps] == ["none", "miss", "miss"]
    assert sim.steps[1].cause is not None and sim.steps[1].cause.name == "acme/tools:1"


def test_whatif_path_in_a_directory_context(tree: Path) -> None:
    from layerscope.buildcache.inputs.whatif import WhatIf

    contexts = parse_contexts([f"libs={tree / 'libs'}"])
    whatif = WhatIf(BuildSpec(context=str(tree / "ctx"), build_contexts=contexts))
    change = whatif.path_change(str(tree / "libs" / "a.txt"))
    assert change.what == "libs:a.txt changed"
    assert {s.line: s.status for s in simulate_change(whatif.base, change.change).steps}[4] == "miss"
    with pytest.raises(UsageError, match="not in the context"):
        whatif.path_change(str(tree / "elsewhere.txt"))
