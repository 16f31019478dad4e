"""The builder table (cache/builders.py): every --builder flag and the walker lookup read it."""

from __future__ import annotations

import argparse

import pytest

from layerscope.cache.builders import BUILDER_NAMES, BUILDERS, DEFAULT_BUILDER, builder_model
from layerscope.cache.simulate import WALKERS
from layerscope.cache.walk import Walker
from layerscope.cli.main import build_parser
from layerscope.errors import UsageError


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
    assert BUILDER_NAMES == ("buildkit", "classic", "buildah")
    for b in BUILDERS:
        assert issubclass(b.walker(), Walker)
        assert WALKERS[b.name] is b.walker()


def test_an_unknown_builder_names_the_known_ones() -> None:
    with pytest.raises(UsageError, match=r"unknown builder 'kaniko' \(buildkit, classic, buildah\)"):
        builder_model("kaniko")
