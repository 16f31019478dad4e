"""Forbidden paths by glob in every layer, whether a later layer hides them, and secrets in Env and history."""

from __future__ import annotations

import fnmatch
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

import layerscope
from layerscope.analysis.exposure import DEFAULT_GLOBS, PathMatcher, describe, secret_name
from layerscope.model import Finding
from tests.support.factory import ImageSpec, d, f, layer_tar, opq, wh
from tests.support.leaky import crafted


@pytest.mark.parametrize(
    ("glob", "path", "is_dir", "hit"),
    [
        ("**/.git/", "app/.git", True, True),
        ("**/.git/", ".git", True, True),
        ("**/.git/", "app/.git", False, False),  # a file named .git (a worktree's pointer) is not the directory
        ("**/.git/", "app/.git/config", False, False),  # the directory is reported, not each file in it
        (".env", "srv/x/.env", False, True),  # no "/": any depth
        ("**/.env", ".env.example", False, False),
        ("**/*.pem", "etc/ssl/private/server.pem", False, True),
        ("/etc/shadow", "etc/shadow", False, True),
        ("etc/shadow", "x/etc/shadow", False, False),  # a "/" anchors at the root
        ("app/**/secret?.txt", "app/secret1.txt", False, True),
        ("app/**/secret?.txt", "app/a/b/secret2.txt", False, True),
        ("app/**/secret?.txt", "app/a/secret10.txt", False, False),
        ("**/id_[rd]sa", "root/.ssh/id_dsa", False, True),
        ("home/*/.aws/credentials", "home/ann/.aws/credentials", False, True),
        ("home/*/.aws/credentials", "home/ann/x/.aws/credentials", False, False),
        # a name may hold a newline (image text): no glob stops at it
        ("secrets/**", "secrets/a\nb", False, True),
        ("secrets/**", "secrets/x\n/y", False, True),
        ("app/*", "app/a\nb", False, True),
        ("app/?", "app/\n", False, True),
        ("**/.env", "srv/x\ny/.env", False, True),
        ("app/**/key*", "app/a\n/b/key\n1", False, True),
    ],
)
def test_glob_semantics(glob: str, path: str, is_dir: bool, hit: bool) -> None:
    assert (PathMatcher([glob]).match(path, is_dir) == glob) is hit


_name = st.text(alphabet="abc.-_", min_size=1, max_size=6).filter(lambda s: s not in (".", ".."))


@given(st.lists(_name, min_size=1, max_size=4), _name)
def test_any_depth_globs_agree_with_fnmatch_on_the_base_name(parts: list[str], pattern: str) -> None:
    path = "/".join(parts)
    glob = "**/*" + pattern
    expected = fnmatch.fnmatchcase(parts[-1], "*" + pattern)
    assert (PathMatcher([glob]).match(path, False) is not None) is expected


_glob_part = st.sampled_from(["a", "b", "*", "?", "**", "[ab]", "[!a]", "a*b", "*b*", "[a"])


def _as_regex(glob: str) -> re.Pattern[str]:
    """The glob as the regular expression exposure.py compiled for every glob before (kept for
    globs with at most one unbounded part): the reference the automaton must agree with."""
    body = glob.strip("/")
    body = body if "/" in body or body == "**" else "**/" + body
    parts = body.split("/")
    out = ""
    for k, part in enumerate(parts):
        final = k == len(parts) - 1
        if part == "**":
            out += ".*" if final else "(?:[^/]+/)*"
            continue
        i = 0
        while i < len(part):
            c = part[i]
            j = part.find("]", i + 2) if c == "[" else -1
            if c == "[" and j >= 0:
                cls = part[i + 1 : j]
                out += "[" + ("^" + cls[1:] if cls.startswith("!") else cls) + "]"
                i = j
            else:
                out += {"*": "[^/]*", "?": "[^/]"}.get(c, re.escape(c))
            i += 1
        out += "" if final else "/"
    return re.compile(out, re.DOTALL)


@given(st.lists(_glob_part, min_size=1, max_size=5), st.lists(st.text("ab", min_size=1, max_size=4), max_size=4))
def test_globs_with_several_stars_match_as_the_regex_does(parts: list[str], path_parts: list[str]) -> None:
    glob = "/".join(parts)
    path = "/".join(path_parts) or "a"
    expected = _as_regex(glob).fullmatch(path) is not None
    assert (PathMatcher([glob]).match(path, False) is not None) is expected


def test_a_glob_that_backtracks_in_re_is_matched_in_linear_time(tmp_path) -> None:
    """`*b` fifteen times then `x`, against a name of 40 `b`s: minutes in `re` (check --config hung)."""
    from tests.support.hostile import Sandbox, assert_accepted

    glob = "*b" * 15 + "x"
    assert PathMatcher(["*b" * 15]).match("a/" + "b" * 40, False) == "*b" * 15
    # The miss is asked in a subprocess: a regression is the sandbox's timeout, not a hung test run.
    spec = ImageSpec([layer_tar([f("b" * 40, b"1"), f("a/" * 40 + "y", b"1")])])
    image = spec.docker_archive(str(tmp_path / "i.tar"))
    config = tmp_path / "budget.toml"
    config.write_text(f'[images.app]\nforbid-paths = ["{glob}", "{"**/" * 12}x"]\n')
    out = assert_accepted(Sandbox(tmp_path / "box").run("check", "--config", str(config), image))
    assert "1 passed, 0 failed" in out


def _analyze(tmp_path, layers, **kw):
    spec = ImageSpec([layer_tar(x) for x in layers], **kw)
    return layerscope.analyze(spec.docker_archive(str(tmp_path / "img.tar")), use_cache=False)


def test_every_layer_is_searched_and_hiding_is_told(tmp_path) -> None:
    a = _analyze(
        tmp_path,
        [
            [d("app"), d("app/.git"), f("app/.git/HEAD", "x"), f("app/.env", "A=1"), d("keys"), f("keys/id_rsa", "k")],
            [opq("app"), f("app/main.py", "print()")],  # the opaque directory hides .git and .env
            [f("keys/id_rsa", "another")],  # overwritten: the first key is still in layer 0's blob
            [wh("keys")],  # and the second goes with its directory
        ],
    )
    assert a.exposure is not None
    got = {(x.path, x.layer): (x.detector, x.hidden, x.hidden_by) for x in a.exposure.findings}
    assert got == {
        ("app/.git", 0): ("**/.git/", True, 1),
        ("app/.env", 0): ("**/.env", True, 1),
        ("keys/id_rsa", 0): ("**/id_rsa", True, 2),
        ("keys/id_rsa", 2): ("**/id_rsa", True, 3),
    }
    assert a.exposure.path_globs == DEFAULT_GLOBS and not a.exposure.secrets_scanned


def test_a_newline_in_a_name_does_not_hide_it_from_forbid_paths(tmp_path) -> None:
    a = layerscope.analyze(
        ImageSpec([layer_tar([d("secrets"), d("secrets/x\n"), f("secrets/x\n/key", "k")])]).docker_archive(
            str(tmp_path / "img.tar")
        ),
        use_cache=False,
        forbid_paths=("secrets/**",),
    )
    assert a.exposure is not None
    assert sorted(x.path for x in a.exposure.findings) == ["secrets/x\n", "secrets/x\n/key"]


def test_visible_findings_are_not_hidden(tmp_path) -> None:
    a = _analyze(tmp_path, [[d("app"), d("app/.git")], [d("app/.git"), f("app/.git/HEAD", "x")]])
    assert a.exposure is not None
    assert [(x.layer, x.hidden, x.hidden_by) for x in a.exposure.findings] == [(0, False, None), (1, False, None)]


def test_env_and_history_secrets(tmp_path) -> None:
    crafted(tmp_path / "leaky.tar")
    a = layerscope.analyze(str(tmp_path / "leaky.tar"), use_cache=False)
    assert a.exposure is not None
    config = [(x.kind, x.detector, x.name, x.history_index, x.layer) for x in a.exposure.findings if x.path is None]
    assert config == [
        ("env", "secret-name", "API_TOKEN", None, None),
        ("env", "aws-access-key-id", "UPLOAD_ID", None, None),
        ("history", "secret-name", "NPM_TOKEN", 2, None),  # ARG NPM_TOKEN=...: an empty layer
        ("history", "secret-name", "NPM_TOKEN", 3, 2),  # RUN |1 NPM_TOKEN=...: the build arg recorded
        ("history", "secret-name", "API_TOKEN", 4, None),
    ]  # PATH and PASSWORD_FILE (a path to a secret, not one) are not findings


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("GITHUB_TOKEN", True),
        ("DB_PASSWORD", True),
        ("MYSQL_ROOT_PASSWORD", True),
        ("AWS_SECRET_ACCESS_KEY", True),
        ("STRIPE_API_KEY", True),
        ("SECRET", True),
        ("GPG_KEY", False),
        ("PASSWORD_FILE", False),
        ("TOKEN_PATH", False),
        ("PATH", False),
        ("PYTHON_SHA256", False),
    ],
)
def test_secret_looking_names(name: str, secret: bool) -> None:
    assert secret_name(name) is secret


def test_descriptions_escape_image_text() -> None:
    line = describe(Finding("path", "**/.env", path="a\x1b[31m/.env", layer=0, hidden=True, hidden_by=None))
    assert "\x1b" not in line and "\\x1b[31m" in line and "hidden by a later layer" in line
