"""The builder table (buildcache/builders/table.py): every --builder flag and the walker lookup read it."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from layerscope.buildcache.builders.run import WALKERS
from layerscope.buildcache.builders.table import BUILDER_NAMES, BUILDERS, DEFAULT_BUILDER, builder_model, image_store
from layerscope.buildcache.builders.walk import Walker
from layerscope.buildcache.request import CacheRequest
from layerscope.buildcache.simulate import simulate_cache
from layerscope.cli.main import build_parser
from layerscope.errors import LayerscopeError, UsageError
from tests.buildcache.scenario import write_tree


def _builder_flags(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    found = []
    for action in parser._actions:
        if action.dest == "builder":
            found.append(action)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += _builder_flags(sub)
    return found


def test_every_builder_flag_offers_the_table() -> None:
    flags = _builder_flags(build_parser())
    assert len(flags) >= 4  # cache, report, explore, packages --rebuild
    for flag in flags:
        assert tuple(flag.choices or ()) == BUILDER_NAMES
        assert flag.default == DEFAULT_BUILDER == "buildkit"


def test_every_builder_has_a_walker() -> None:
    assert BUILDER_NAMES == ("buildkit", "buildkit-20.10", "classic", "buildah")
    for b in BUILDERS:
        assert issubclass(b.walker(), Walker)
        assert WALKERS[b.name] is b.walker()


def test_an_unknown_builder_names_the_known_ones() -> None:
    with pytest.raises(UsageError, match=r"unknown builder 'kaniko' \(buildkit, buildkit-20.10, classic, buildah\)"):
        builder_model("kaniko")


def test_every_builder_of_the_table_has_a_model_and_no_model_is_unlisted() -> None:
    assert set(WALKERS) == set(BUILDER_NAMES)
    assert all(WALKERS[name].builder == name for name in BUILDER_NAMES)


def test_no_module_compares_a_builder_name_outside_the_table() -> None:
    """A builder's rules outside its walker are fields of its entry: a new builder is one entry, not a hunt for
    `builder == "classic"` tests."""
    import re

    root = Path(__file__).parents[3] / "layerscope"
    assert (root / "buildcache" / "builders" / "table.py").is_file()  # a wrong root would find nothing, and pass
    names = "|".join(re.escape(n) for n in BUILDER_NAMES)
    compared = re.compile(r"""builder\s*[!=]=\s*["'](""" + names + r""")["']""")
    found = [
        f"{path.relative_to(root)}:{n}"
        for path in root.rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if compared.search(line)
    ]
    assert not found, found
    assert [b.name for b in BUILDERS if not b.dockerfile_ignore] == ["classic"]
    assert [b.name for b in BUILDERS if b.contexts_first] == ["buildah"]


def test_image_store_per_builder() -> None:
    assert image_store("buildkit", None) == "containerd"
    assert image_store("buildkit", "overlay2") == "overlay2"
    assert image_store("buildkit-20.10", None) == "overlay2"  # Docker 20.10 has no containerd image store
    assert image_store("classic", "overlay2") is None and image_store("buildah", None) is None
    with pytest.raises(UsageError, match="only the overlay2 store"):
        image_store("buildkit-20.10", "containerd")
    with pytest.raises(UsageError, match="unknown builder 'kaniko'"):
        image_store("kaniko", None)


def test_empty_wildcard_in_a_subdirectory_fails_on_28_5_only(tmp_path: Path) -> None:
    """Recorded (corpus app-wildcard-empty): 28.5 fails the COPY (lstat), 20.10 copies nothing and goes on."""
    write_tree(tmp_path, {"src/a.txt": "a\n"}, "FROM sample/busybox:base\nCOPY src/*.none /s/\nRUN ls /s\n")
    req = CacheRequest(context=str(tmp_path), changed=("src/a.txt",), builder="buildkit-20.10")
    assert [s.status for s in simulate_cache(req).steps] == ["hit", "hit", "hit"]
    with pytest.raises(LayerscopeError, match="matches nothing: the build fails"):
        simulate_cache(CacheRequest(context=str(tmp_path), changed=("src/a.txt",), builder="buildkit"))
