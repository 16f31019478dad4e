"""What-if requests: a step's inputs changing (its files, its base image, its text) and a context file
changing, each simulated for real."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerscope.buildcache.features.change import simulate_change
from layerscope.buildcache.inputs.whatif import WhatIf
from layerscope.buildcache.request import BuildSpec
from layerscope.errors import BadReferenceError, FormatError, UsageError
from tests.buildcache.scenario import write_tree

DF = """\
FROM sample/busybox:base AS build
ONBUILD RUN echo built
COPY requirements.txt /src/
RUN pip wheel -r /src/requirements.txt

FROM build AS app
ENV HOME=/app
COPY --exclude=*.md src/ /app/
COPY config.toml /etc/app.toml
RUN python -m compileall /app
CMD ["app"]

FROM scratch AS empty
"""

FILES = {
    "requirements.txt": "requests\n",
    "src/main.py": "print()\n",
    "src/lib/util.py": "x = 1\n",
    "src/README.md": "docs\n",
    "src/secret.key": "k\n",
    "config.toml": "a = 1\n",
    ".dockerignore": "src/*.key\n",
}


@pytest.fixture
def whatif(tmp_path: Path) -> WhatIf:
    write_tree(tmp_path, FILES, DF)
    return WhatIf(BuildSpec(context=str(tmp_path), target="app"))


def missed(w: WhatIf, stage: str, line: int) -> tuple[str, list[int]]:
    plan = w.step_change(stage, line)
    return plan.what, [s.line for s in simulate_change(w.base, plan.change).missed]


def test_steps_are_listed_as_the_builders_walk_them(whatif: WhatIf) -> None:
    listed = [(s.stage, s.line, s.instruction) for s in whatif.steps]
    assert listed == [
        ("build", 1, "FROM"), ("build", 2, "ONBUILD"), ("build", 3, "COPY"), ("build", 4, "RUN"),
        ("app", 6, "FROM"), ("app", 2, "RUN"), ("app", 7, "ENV"), ("app", 8, "COPY"), ("app", 9, "COPY"),
        ("app", 10, "RUN"), ("app", 11, "CMD"), ("empty", 13, "FROM"),
    ]  # fmt: skip
    assert whatif.steps[5].text == "ONBUILD RUN echo built"


def test_a_copy_of_context_files_changes_with_the_files_it_selects(whatif: WhatIf) -> None:
    plan = whatif.step_change("app", 8)
    assert plan.change.changed == ("src/lib/util.py", "src/main.py")  # not the .md (--exclude), not the .key
    assert plan.what == "the 2 files COPY (line 8) copies changed"
    sim = simulate_change(whatif.base, plan.change)
    assert [s.line for s in sim.missed] == [8, 9, 10]  # the COPY after it builds on its output
    assert sim.missed[0].cause.kind == "file"
    assert missed(whatif, "app", 9) == ("config.toml changed, copied by COPY (line 9)", [9, 10])


def test_other_steps_change_by_their_text(whatif: WhatIf) -> None:
    assert missed(whatif, "build", 4) == ("RUN (line 4) edited", [4, 2, 8, 9, 10])
    assert missed(whatif, "app", 7) == ("ENV (line 7) edited", [10])  # only the RUN sees HOME
    assert missed(whatif, "app", 11)[1] == []  # CMD: config only in BuildKit
    what, lines = missed(whatif, "app", 2)  # the ONBUILD trigger: editing it edits the ONBUILD line
    assert what == "RUN (line 2) edited" and lines == [2, 8, 9, 10]


def test_a_from_changes_with_its_base_image(whatif: WhatIf) -> None:
    what, lines = missed(whatif, "build", 1)
    assert what == "base image sample/busybox:base re-published"
    assert lines == [1, 3, 4, 2, 8, 9, 10]
    with pytest.raises(UsageError, match="continues a stage: choose one of its steps"):
        whatif.step_change("app", 6)
    with pytest.raises(UsageError, match=r"FROM scratch \(line 13\) has no inputs"):
        whatif.step_change("empty", 13)
    with pytest.raises(UsageError, match="no instruction of stage app starts on line 5"):
        whatif.step_change("app", 5)


def test_a_context_path_changes(whatif: WhatIf, tmp_path: Path) -> None:
    plan = whatif.path_change("src/main.py")
    assert (plan.what, plan.change.changed) == ("src/main.py changed", ("src/main.py",))
    assert [s.line for s in simulate_change(whatif.base, plan.change).missed] == [8, 9, 10]
    assert whatif.path_change(str(tmp_path / "src")).what == "src/ changed"
    readme = whatif.path_change("./src/README.md").change
    assert simulate_change(whatif.base, readme).missed == ()  # excluded by the COPY
    for bad in ("nope.txt", "/etc/passwd", "", "../x"):
        with pytest.raises(UsageError, match="not in the context"):
            whatif.path_change(bad)


def test_the_context_file_behind_an_image_path(whatif: WhatIf) -> None:
    assert whatif.source_of("/app/lib/util.py", "app", 8) == "src/lib/util.py"
    assert whatif.source_of("app/main.py", "app", 8) == "src/main.py"
    assert whatif.source_of("/etc/app.toml", "app", 9) == "config.toml"  # one file, renamed by its destination
    assert whatif.source_of("/app/README.md", "app", 8) is None  # excluded: not from the context
    assert whatif.source_of("/app/__pycache__/main.pyc", "app", 10) is None  # made by a RUN
    assert whatif.source_of("/app/main.py", "app", 99) is None


def test_bad_inputs(tmp_path: Path) -> None:
    write_tree(tmp_path, FILES, "FROM\n")
    with pytest.raises(FormatError):
        WhatIf(BuildSpec(context=str(tmp_path)))
    with pytest.raises(BadReferenceError, match="cannot read Dockerfile"):
        WhatIf(BuildSpec(context=str(tmp_path), dockerfile=str(tmp_path / "missing")))
    write_tree(tmp_path, FILES, DF)
    with pytest.raises(UsageError, match="unknown target stage 'nope'"):
        WhatIf(BuildSpec(context=str(tmp_path), target="nope"))
