"""The source components of a step's key (buildcache/builders/source_keys.py): an ADD of a URL without
--checksum is keyed by the build that fetches it, named by the walk's build id, never by an object id (which
is reused once the object is freed, and differs from run to run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerscope.buildcache.builders.plan import BuildInput, PlannedStep, Records
from layerscope.buildcache.builders.run import WALKERS, simulate_builds
from layerscope.buildcache.builders.table import BUILDER_NAMES
from layerscope.buildfile.context import ContextTree
from layerscope.buildfile.stages import load_dockerfile
from tests.buildcache.scenario import write_tree

URL = "https://example.invalid/x.tgz"
DF = f"""\
FROM sample/busybox:base
ADD {URL} /x
RUN echo hi > /hi
"""


def build(root: Path) -> BuildInput:
    write_tree(root, {"a.txt": "a\n"}, DF)
    return BuildInput(load_dockerfile(DF), ContextTree.from_dir(str(root)), {})


def add_step(builder: str, b: BuildInput, build_id: str) -> PlannedStep:
    steps = WALKERS[builder](b, Records(), build_id).run()
    return next(s for s in steps if s.instruction == "ADD")


@pytest.mark.parametrize("builder", BUILDER_NAMES)
def test_a_url_fetch_is_keyed_by_the_build_id(builder: str, tmp_path: Path) -> None:
    b = build(tmp_path / "a")
    current = add_step(builder, b, "current")
    url = next(c for c in current.components if c.name == "url")
    assert url.value == f"{([URL], None)!r}|fetched by build current"
    assert url.optimistic == repr(([URL], None))  # the same bytes as last time: the `depends` side
    # the same build: the same key, walked again or rebuilt from the same inputs (another object)
    assert add_step(builder, b, "current").key == current.key
    assert add_step(builder, build(tmp_path / "b"), "current").key == current.key
    # another build of the same object: its own fetch, another key
    assert add_step(builder, b, "build-0").key != current.key


@pytest.mark.parametrize("builder", BUILDER_NAMES)
def test_the_same_object_as_earlier_and_current_build_fetches_twice(builder: str, tmp_path: Path) -> None:
    """One BuildInput walked as the earlier and as the current build is two builds: the URL step depends on
    what the server gives (an id(build) key made it a hit)."""
    b = build(tmp_path)
    steps = {s.line: s.status for s in simulate_builds([b], b, builder)}
    assert steps[2] == "depends"
