"""Wheels of small local projects, built once per session by pip (setuptools, offline)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.pyinstall import build_wheels, write_project


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    src = tmp_path_factory.mktemp("projects")
    out = tmp_path_factory.mktemp("wheels")
    big = "# padding\n" * 500
    projects = {
        "demo1": write_project(
            src,
            "Demo_Pkg",
            "1.0",
            {
                "demo/__init__.py": "def main():\n    return 1\n" + big,
                "demo/tests/__init__.py": "",
                "demo/tests/test_demo.py": "def test_x():\n    assert True\n" + big,
            },
            ["demo", "demo.tests"],
            scripts={"demo-cli": "demo:main"},
        ),
        "demo2": write_project(
            src,
            "Demo_Pkg",
            "2.0",
            {"demo/__init__.py": "def main():\n    return 2\n" + big * 2, "demo/util.py": "X = 1\n"},
            ["demo"],
            scripts={"demo-cli": "demo:main"},
        ),
        "acme_a": write_project(
            src, "acme-a", "1.0", {"acme/a/__init__.py": "", "acme/a/mod.py": "A = 1\n" + big}, ["acme.a"]
        ),
        "acme_b": write_project(
            src, "acme-b", "3.1", {"acme/b/__init__.py": "", "acme/b/mod.py": "B = 1\n"}, ["acme.b"]
        ),
        "solo": write_project(src, "solo", "0.5", {"solo.py": "S = 1\n" + big}, [], py_modules=["solo"]),
    }
    later = {"demo2"}  # a second version of a name needs its own pip run
    first = [k for k in projects if k not in later]
    built = dict(zip(first, build_wheels([projects[k] for k in first], out), strict=True))
    built |= dict(zip(later, build_wheels([projects[k] for k in later], out), strict=True))
    return built
