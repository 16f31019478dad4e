"""Image text is data (issue #17, terminal and log injection): escapes, OSC sequences, `\\r`,
`\\n`, bidi overrides and bytes that are not UTF-8 in file names, history, tags, package
metadata and build contexts reach no human-readable output raw, in any command or output
format; `--json` keeps the exact text and stays valid UTF-8."""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.buildcache.realbuild import git
from tests.support.hostile import HostileResult, Sandbox
from tests.support.hostile_text import (
    APK_PACKAGE,
    CLEAR,
    DEB_PACKAGE,
    EMOJI,
    FAKE_PASS,
    GH_LEGACY,
    GH_STOP,
    HISTORY,
    MARKUP,
    MARKUP_PACKAGE,
    NAMES,
    NOT_UTF8,
    OSC52,
    PACKAGE_NAME,
    PACKAGE_VERSION,
    assert_inert_page,
    assert_inert_svg,
    assert_plain,
    runner_commands,
    write_hostile_image,
    write_markup_image,
)


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_hostile_image(tmp_path_factory.mktemp("hostile"))


_BOX: list[Sandbox] = []


@pytest.fixture(autouse=True)
def box(tmp_path: Path) -> Sandbox:
    """Each test runs the CLI in its own sandbox (tests/support/hostile.py): limits, and a
    record of anything written outside the cache dir and the outputs a run names."""
    _BOX[:] = [Sandbox(tmp_path / "box")]
    return _BOX[0]


def run_raw(*args: str, outputs: tuple[Path, ...] = (), env: dict[str, str] | None = None) -> HostileResult:
    r = _BOX[0].run(*args, outputs=outputs, env=env)
    assert not r.written, r.written
    return r


def _run(*args: str, code: int = 0, outputs: tuple[Path, ...] = (), env: dict[str, str] | None = None) -> str:
    r = run_raw(*args, outputs=outputs, env=env)
    assert r.code == code, r.err
    assert_plain(r.raw_err, "stderr")
    return assert_plain(r.raw_out, "stdout")


def _json(*args: str, code: int = 0, outputs: tuple[Path, ...] = ()) -> dict:
    r = run_raw(*args, outputs=outputs)
    assert r.code == code, r.err
    raw = r.raw_out.decode("utf-8")  # valid UTF-8, names that are not UTF-8 included
    assert_plain(r.raw_out.replace(b"\n", b" "), "--json")  # a terminal shows it safely too
    return json.loads(raw)


def test_inspect_text_escapes_history_paths_and_tags(image: Path) -> None:
    out = _run("inspect", str(image))
    # the history is shown, visibly escaped, on the lines it belongs to
    assert "RUN echo \\x1b[2J\\x1b[H\\x1b[32mall checks PASSED\\x1b[0m" in out
    assert "\\u202eexe.txt\\u202c" in out and "\\u009b31m" in out
    assert "/app/caf\\xe9" in out  # the byte that is not UTF-8, as that byte
    assert "/app/nl\\nnewline" in out and "/app/cr\\roverwrite" in out
    assert f"/app/{MARKUP}" in out and f"/app/{EMOJI}" in out  # markup-looking text stays as it is
    # no line starts with the injected text: every line is one of inspect's own
    assert not any(line.startswith(("RUN injected", "all checks")) for line in out.splitlines())


def test_inspect_json_keeps_the_exact_text(image: Path) -> None:
    doc = _json("inspect", "--json", str(image))
    assert [h["created_by"] for h in doc["history"]] == HISTORY
    waste = {w["path"].lstrip("/") for w in doc["waste"]}
    assert waste == set(NAMES)  # \r, \n, escapes and the Latin-1 byte (as a lone surrogate) exact
    assert ("app/" + NOT_UTF8).encode("utf-8", "surrogateescape") == b"app/caf\xe9"


def test_analysis_round_trip_keeps_exact_names(image: Path, tmp_path: Path) -> None:
    saved = tmp_path / "saved.json"
    _run("inspect", "--save", str(saved), str(image), outputs=(saved,))
    first = _json("inspect", "--json", str(image))
    again = _json("inspect", "--json", f"analysis:{saved}")
    assert again["history"] == first["history"]
    assert again["waste"] == first["waste"]
    packages = _json("packages", "--json", f"analysis:{saved}")
    assert {p["name"] for p in packages["packages"]} == {PACKAGE_NAME}


def test_packages_text_and_json(image: Path) -> None:
    out = _run("packages", "--all", str(image))
    assert "evil\\x1b[2J\\x1b[Hpkg" in out
    doc = _json("packages", "--json", str(image))
    (pkg,) = doc["packages"]
    assert (pkg["name"], pkg["version"]) == (PACKAGE_NAME, PACKAGE_VERSION)


def test_compare_text_and_json(image: Path, tmp_path: Path) -> None:
    other = write_hostile_image(tmp_path, tag="other:1")
    out = _run("compare", str(image), str(other))
    assert "\\x1b[2J" in out
    doc = _json("compare", "--json", str(image), str(other))
    assert doc["a"]["reference"] == str(image)


CONFIG = """
[images."web\\u001b[2J\\u001b[32mPASS"]
max-size = "1 B"
forbid-packages = ["evil*"]
max-model-file-size = "1 B"
require-non-root = true
forbid-paths = ["**/.env"]
"""


def test_check_every_output_format(image: Path, tmp_path: Path) -> None:
    cfg = tmp_path / ".layerscope.toml"
    cfg.write_text(CONFIG)
    junit, markdown, summary = tmp_path / "junit.xml", tmp_path / "summary.md", tmp_path / "step-summary.md"
    env = {"GITHUB_STEP_SUMMARY": str(summary)}
    args = ["check", "--config", str(cfg), "--junit", str(junit), "--markdown", str(markdown), str(image)]
    out = _run(*args, "--github", code=1, env=env, outputs=(junit, markdown, summary))
    assert "forbidden: python:evil\\x1b[2J\\x1b[Hpkg" in out
    assert "USER \\x1b[2J\\x1b[Hroot" in out
    assert "/app/\\x1b]52;c;cm0gLXJmIH4=\\x07d/.env: glob **/.env" in out  # a finding, one per line
    assert out.rstrip().splitlines()[-1].startswith("FAIL")
    annotations = [line for line in out.splitlines() if line.startswith("::")]
    assert annotations and all(line.startswith(("::error title=", "::warning title=")) for line in annotations)
    # a title is a property: its `:` and `,` are %-escaped, so the command cannot be cut short
    assert all(line.count("::") == 2 for line in annotations), annotations

    tree = ET.fromstring(junit.read_bytes())  # well-formed: no character XML forbids
    assert_plain(junit.read_bytes().replace(b"\n", b" "), "junit")
    names = {s.get("name") for s in tree.iter("testsuite")}
    assert names == {"web\\x1b[2J\\x1b[32mPASS"}
    failures = " ".join(x.get("message") or "" for x in tree.iter("failure"))
    assert "evil\\x1b[2J\\x1b[Hpkg" in failures

    for md in (markdown, summary):
        text = assert_plain(md.read_bytes(), md.name)
        # image text sits in code spans (no link, HTML, emphasis or :emoji: inside) or is backslashed
        assert "`/app/model\\x1b[2J\\x1b[H.safetensors`" in text or "model\\x1b" in text
        assert "<" not in text.replace("\\<", "")
        for row in (line for line in text.splitlines() if line.startswith("| ")):
            assert row.replace("\\|", "").count("|") in (4, 5), row  # no cell break from image text

    doc = _json(*args, "--json", code=1, outputs=(junit, markdown, summary))
    assert {r["image"] for r in doc["results"]} == {"web\x1b[2J\x1b[32mPASS"}
    forbidden = next(r for r in doc["results"] if r["rule"] == "forbid-packages")
    assert forbidden["actual"] == [f"python:{PACKAGE_NAME}"]


def test_check_config_errors_are_escaped(tmp_path: Path, image: Path) -> None:
    cfg = tmp_path / ".layerscope.toml"
    cfg.write_text('[images.web]\n"max-size\\u001b[2J" = 1\n"\\u202ebad" = 2\n')
    r = run_raw("check", "--config", str(cfg), str(image))
    assert r.code == 2
    err = assert_plain(r.raw_err, "stderr")
    assert "max-size\\x1b[2J" in err and "\\u202ebad" in err  # repr() and textsafe agree
    assert err.startswith("layerscope: 2 error(s) in ") and "Traceback" not in err


def _context(root: Path) -> Path:
    ctx = root / "ctx"
    ctx.mkdir(parents=True)
    (ctx / "Dockerfile").write_text(f"FROM busybox\nCOPY . /app/\nRUN echo '{FAKE_PASS}'\n")
    for name in (f"x{CLEAR}y", "a\rb", "n\nl", "\u202eexe.txt", "[bold red]loud"):
        (ctx / name).write_text("1")
    with open(os.path.join(os.fsencode(ctx), b"caf\xe9"), "wb") as fh:
        fh.write(b"1")
    return ctx


def test_cache_names_from_the_context(tmp_path: Path) -> None:
    before = _context(tmp_path / "before")
    after = _context(tmp_path / "after")
    (after / f"x{CLEAR}y").write_text("2")
    out = _run("cache", "--context", str(after), "--against", str(before))
    assert "COPY . /app/  (x\\x1b[2J\\x1b[Hy changed)" in out
    assert "RUN echo '\\x1b[32mall checks PASSED" in out
    changed = _run("cache", "--context", str(after), "--changed", os.fsdecode(b"caf\xe9"), "n\nl")
    assert "caf\\xe9" in changed
    doc = _json("cache", "--json", "--context", str(after), "--changed", os.fsdecode(b"caf\xe9"))
    assert any("caf\udce9" in (s["reason"] or "") for s in doc["steps"])


def test_error_lines_are_escaped(tmp_path: Path) -> None:
    missing = tmp_path / f"nope{CLEAR}{FAKE_PASS}\u202e.tar"
    for args in (
        ["inspect", str(missing)],
        ["inspect", f"docker-archive:{missing}"],
        ["inspect", f"--platform=linux/{OSC52}", str(missing)],
        ["inspect", f"--bogus={CLEAR}"],  # argparse's own error line
        ["cache", "--context", str(tmp_path), "--changed", f"x{CLEAR}"],  # no Dockerfile there
    ):
        r = run_raw(*args)
        assert r.code == 2, (args, r.err)
        err = assert_plain(r.raw_err, "stderr")
        assert len(err.splitlines()) == 1 and err.startswith("layerscope: "), err
        assert r.raw_out == b""


def test_html_report_escapes(image: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "report.html"
    _run("report", "-o", str(out), str(image), outputs=(out,))
    html = assert_plain(out.read_bytes().replace(b"\n", b" "), "report.html")
    assert "[bold red]loud[/]" in html  # shown, not interpreted
    assert "<script" not in html
    assert "caf\\xe9" in html


def test_cache_git_log_commit_subjects_and_names(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "Dockerfile").write_text("FROM busybox\nCOPY . /app/\n")
    for i, subject in enumerate(("first", f"{CLEAR}{FAKE_PASS}", f"fix {OSC52} \u202eexe.txt")):
        (repo / f"f{i}\x1b[2J").write_text(str(i))
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", subject)
    out = _run("cache", "--context", str(repo), "--git-log", "2")
    assert "\\x1b[2J\\x1b[H\\x1b[32mall checks PASSED" in out and "\\u202eexe.txt" in out
    doc = _json("cache", "--json", "--context", str(repo), "--git-log", "2")
    assert [c["subject"] for c in doc["commits"]][-1] == f"fix {OSC52} \u202eexe.txt"


# -- text that is markup somewhere: HTML, Rich, Markdown and CI runners' commands -------------


@pytest.fixture(scope="module")
def markup(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_markup_image(tmp_path_factory.mktemp("markup"))


def _no_runner_command(text: str, what: str) -> None:
    assert runner_commands(text) == [], f"{what} would run a CI command:\n{text[:3000]}"


def test_text_outputs_give_a_ci_runner_no_command(markup: Path, tmp_path: Path) -> None:
    other = write_markup_image(tmp_path, tag="other:1")
    for args in (["inspect", str(markup)], ["packages", "--all", str(markup)], ["compare", str(markup), str(other)]):
        r = run_raw(*args)
        assert r.code == 0, r.err
        for data, what in ((r.raw_out, "stdout"), (r.raw_err, "stderr")):
            _no_runner_command(assert_plain(data, what), f"{args[0]} {what}")
    inspect = _run("inspect", str(markup))
    assert "/app/##\\x5bstop-commands]tok" in inspect  # shown, the prefix disarmed
    assert "/app/##vso\\x5btask.setvariable variable=PATH]evil" in inspect
    assert "/app/nl\\n::error title=fake::injected%0A::warning::two" in inspect
    assert "RUN echo <script>alert(1)</script>" in inspect  # a terminal shows HTML as it is
    packages = _run("packages", "--all", str(markup))
    for name in (MARKUP_PACKAGE[0], DEB_PACKAGE[0], APK_PACKAGE[0]):
        assert name.replace("##[", "##\\x5b")[:20] in packages, name


def test_error_lines_give_a_ci_runner_no_command(tmp_path: Path) -> None:
    missing = tmp_path / f"{GH_STOP}{GH_LEGACY}.tar"
    r = run_raw("inspect", f"docker-archive:{missing}")
    assert r.code == 2
    err = assert_plain(r.raw_err, "stderr")
    _no_runner_command(err, "the error line")
    assert "##\\x5bstop-commands]tok" in err


_CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)")


def test_check_annotations_are_its_only_ci_commands(markup: Path, tmp_path: Path) -> None:
    cfg = tmp_path / ".layerscope.toml"
    # the budget's name starts a text line: a leading `::` there must not be a command either
    cfg.write_text(
        '[images."  ::warning::boo"]\nmax-size = "1 B"\nforbid-packages = ["*"]\nrequire-non-root = true\n'
        'forbid-paths = ["**/.env*"]\n'
    )
    junit, markdown, summary = tmp_path / "junit.xml", tmp_path / "summary.md", tmp_path / "step-summary.md"
    args = ["check", "--github", "--config", str(cfg), "--junit", str(junit), "--markdown", str(markdown), str(markup)]
    r = run_raw(*args, outputs=(junit, markdown, summary), env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert r.code == 1, r.err
    out = assert_plain(r.raw_out, "stdout")
    _no_runner_command(assert_plain(r.raw_err, "stderr"), "stderr")
    commands = runner_commands(out)
    annotations = [line for line in out.splitlines() if line.startswith("::")]
    assert len(commands) == len(annotations) >= 3
    # each one layerscope's own: an error or warning whose title its budget and rule make
    title = "title=layerscope   %3A%3Awarning%3A%3Aboo "
    assert all(info.startswith((f"error {title}", f"warning {title}")) for info, _ in commands), commands
    finding = "/app/.env##\\x5bstop-commands]tok: glob **/.env*, layer 0"
    assert any(data.startswith(finding) for _, data in commands)
    assert any(line.strip().startswith(finding) for line in out.splitlines() if not line.startswith("::"))
    assert "\\x3a:warning::boo: " in out  # the budget's line, its leading `::` disarmed

    ET.fromstring(junit.read_bytes())  # well-formed, quotes and brackets escaped by ElementTree
    for md in (markdown, summary):
        text = assert_plain(md.read_bytes(), md.name)
        prose = _CODE_SPAN.sub("", text)  # code spans show their text as it is: HTML there is literal
        assert "<" not in prose.replace("\\<", ""), prose
        assert "](" not in prose.replace("\\](", ""), prose  # no link or image
        assert "[link=https\\://evil.example\\]" in prose or "`" in text


def test_html_and_svg_reports_hold_no_markup_from_the_image(markup: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    other = write_markup_image(tmp_path, tag="other:1")
    page, svg = tmp_path / "report.html", tmp_path / "report.svg"
    for out in (page, svg):
        _run("report", "-o", str(out), "--compare", str(other), str(markup), outputs=(out,))
    html = assert_plain(page.read_bytes().replace(b"\n", b" "), "report.html")
    assert_inert_page(html, "report.html")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#x27;&gt;&lt;img src=x onerror=alert(2)&gt;" in html
    assert "[link=https://evil.example]click[/link]" in html  # not markup in HTML: shown as it is
    assert_inert_svg(svg.read_bytes(), "report.svg")
    assert_plain(svg.read_bytes().replace(b"\n", b" "), "report.svg")


def test_fleet_text_and_report_hold_no_markup_from_the_image(markup: Path, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    where = tmp_path / GH_STOP  # the reference is on the summary's lines
    where.mkdir()
    other = write_markup_image(where, tag="other:1")
    out_dir = tmp_path / "fleet-out"
    outputs = (out_dir, *(out_dir / n for n in ("report.html",)))
    r = _BOX[0].run("fleet", "--workers", "1", "--output", str(out_dir), str(markup), f"docker-archive:{other}",
                    outputs=outputs, memory=4 << 30)  # fmt: skip
    assert r.code == 0, r.err
    for data, what in ((r.raw_out, "stdout"), (r.raw_err, "stderr")):
        _no_runner_command(assert_plain(data, what), f"fleet {what}")
    assert "/##\\x5bstop-com" in r.out  # the reference, cut to the column
    html = assert_plain((out_dir / "report.html").read_bytes().replace(b"\n", b" "), "fleet report.html")
    assert_inert_page(html, "fleet report.html")
    assert "&lt;script&gt;" in html
