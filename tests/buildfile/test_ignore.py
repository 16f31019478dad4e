"""The .dockerignore matcher against moby/patternmatcher's own test cases (patternmatcher_test.go)."""

from __future__ import annotations

import pytest

from layerscope.buildfile.ignore import IgnoreMatcher, read_ignore_lines
from layerscope.errors import FormatError

EXACT, INEXACT, FAIL = "exact", "inexact", "fail"
WHL = "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl"

# TestMatches: (pattern, text, result); "inexact" matches only through a parent directory.
MATCHES = [
    ("**", "file", EXACT), ("**", "file/", EXACT), ("**/", "file", EXACT), ("**/", "file/", EXACT),
    ("**", "/", EXACT), ("**/", "/", EXACT), ("**", "dir/file", EXACT), ("**/", "dir/file", EXACT),
    ("**", "dir/file/", EXACT), ("**/", "dir/file/", EXACT), ("**/**", "dir/file", EXACT),
    ("**/**", "dir/file/", EXACT), ("dir/**", "dir/file", EXACT), ("dir/**", "dir/file/", EXACT),
    ("dir/**", "dir/dir2/file", EXACT), ("dir/**", "dir/dir2/file/", EXACT), ("**/dir", "dir", EXACT),
    ("**/dir", "dir/file", INEXACT), ("**/dir2/*", "dir/dir2/file", EXACT), ("**/dir2/*", "dir/dir2/file/", INEXACT),
    ("**/dir2/**", "dir/dir2/dir3/file", EXACT), ("**/dir2/**", "dir/dir2/dir3/file/", EXACT),
    ("**file", "file", EXACT), ("**file", "dir/file", EXACT), ("**/file", "dir/file", EXACT),
    ("**file", "dir/dir/file", EXACT), ("**/file", "dir/dir/file", EXACT), ("**/file*", "dir/dir/file", EXACT),
    ("**/file*", "dir/dir/file.txt", EXACT), ("**/file*txt", "dir/dir/file.txt", EXACT),
    ("**/file*.txt", "dir/dir/file.txt", EXACT), ("**/file*.txt*", "dir/dir/file.txt", EXACT),
    ("**/**/*.txt", "dir/dir/file.txt", EXACT), ("**/**/*.txt2", "dir/dir/file.txt", FAIL),
    ("**/*.txt", "file.txt", EXACT), ("**/**/*.txt", "file.txt", EXACT), ("a**/*.txt", "a/file.txt", EXACT),
    ("a**/*.txt", "a/dir/file.txt", EXACT), ("a**/*.txt", "a/dir/dir/file.txt", EXACT),
    ("a/*.txt", "a/dir/file.txt", FAIL), ("a/*.txt", "a/file.txt", EXACT), ("a/*.txt**", "a/file.txt", EXACT),
    ("a[b-d]e", "ae", FAIL), ("a[b-d]e", "ace", EXACT), ("a[b-d]e", "aae", FAIL), ("a[^b-d]e", "aze", EXACT),
    (".*", ".foo", EXACT), (".*", "foo", FAIL), ("abc.def", "abcdef", FAIL), ("abc.def", "abc.def", EXACT),
    ("abc.def", "abcZdef", FAIL), ("abc?def", "abcZdef", EXACT), ("abc?def", "abcdef", FAIL),
    ("**/foo/bar", "foo/bar", EXACT), ("**/foo/bar", "dir/foo/bar", EXACT), ("**/foo/bar", "dir/dir2/foo/bar", EXACT),
    ("abc/**", "abc", FAIL), ("abc/**", "abc/def", EXACT), ("abc/**", "abc/def/ghi", EXACT),
    ("**/.foo", ".foo", EXACT), ("**/.foo", "bar.foo", FAIL), ("a(b)c/def", "a(b)c/def", EXACT),
    ("a(b)c/def", "a(b)c/xyz", FAIL), ("a.|)$(}+{bc", "a.|)$(}+{bc", EXACT),
    (WHL, WHL, EXACT),
    ("dist/*.whl", WHL, EXACT),
    ("a\\\\", "a\\", EXACT), ("a\\*b", "a*b", EXACT),
]  # fmt: skip

MULTI = [
    (["**", "!util/docker/web"], "util/docker/web/foo", FAIL),
    (["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", EXACT),
    (["**", "!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl"], WHL, FAIL),
    (["**", "!dist/*.whl"], WHL, FAIL),
    (["docs", "!docs/README.md"], "docs/README.md", FAIL),
    (["docs/", "!docs/README.md"], "docs/README.md", FAIL),
    (["docs/*", "!docs/README.md"], "docs/README.md", FAIL),
    (["*.go", "!fileutils.go"], "fileutils.go", FAIL),
    (["!fileutils.go", "*.go"], "fileutils.go", EXACT),
    (["*.go"], ".", FAIL),
    (["*"], "fileutils.go", EXACT),
]  # fmt: skip

# TestMatch: Go's filepath.Match cases; None = ErrBadPattern.
GO_MATCH = [
    ("abc", "abc", True), ("*", "abc", True), ("*c", "abc", True), ("a*", "a", True), ("a*", "abc", True),
    ("a*", "ab/c", True), ("a*/b", "abc/b", True), ("a*/b", "a/c/b", False), ("a*b*c*d*e*/f", "axbxcxdxe/f", True),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/f", True), ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", False),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", False), ("a*b?c*x", "abxbbxdbxebxczzx", True),
    ("a*b?c*x", "abxbbxdbxebxczzy", False), ("ab[c]", "abc", True), ("ab[b-d]", "abc", True), ("ab[e-g]", "abc", False),
    ("ab[^c]", "abc", False), ("ab[^b-d]", "abc", False), ("ab[^e-g]", "abc", True), ("a\\*b", "a*b", True),
    ("a\\*b", "ab", False), ("a?b", "a☺b", True), ("a[^a]b", "a☺b", True), ("a???b", "a☺b", False),
    ("a[^a][^a][^a]b", "a☺b", False), ("[a-ζ]*", "α", True), ("*[a-ζ]", "A", False), ("a?b", "a/b", False),
    ("a*b", "a/b", False), ("[\\]a]", "]", True), ("[\\-]", "-", True), ("[x\\-]", "x", True), ("[x\\-]", "-", True),
    ("[x\\-]", "z", False), ("[\\-x]", "x", True), ("[\\-x]", "-", True), ("[\\-x]", "a", False),
    ("[]a]", "]", None), ("[-]", "-", None), ("[x-]", "x", None), ("[x-]", "-", None), ("[x-]", "z", None),
    ("[-x]", "x", None), ("[-x]", "-", None), ("[-x]", "a", None), ("\\", "a", None), ("[a-b-c]", "a", None),
    ("[", "a", None), ("[^", "a", None), ("[^bc", "a", None), ("a[", "a", None), ("a[", "ab", None),
    ("*x", "xxx", True),
]  # fmt: skip


@pytest.mark.parametrize(("pattern", "text", "result"), MATCHES)
def test_patternmatcher_matches(pattern: str, text: str, result: str) -> None:
    assert IgnoreMatcher([pattern]).ignored(text) is (result != FAIL)


@pytest.mark.parametrize(("patterns", "text", "result"), MULTI)
def test_patternmatcher_multi(patterns: list[str], text: str, result: str) -> None:
    assert IgnoreMatcher(patterns).ignored(text) is (result != FAIL)


@pytest.mark.parametrize(("pattern", "text", "result"), GO_MATCH)
def test_go_filepath_match(pattern: str, text: str, result: bool | None) -> None:
    if result is None:
        with pytest.raises(FormatError):
            IgnoreMatcher([pattern])
    else:
        assert IgnoreMatcher([pattern]).ignored(text) is result


def test_single_exclamation_is_an_error() -> None:
    with pytest.raises(FormatError):
        IgnoreMatcher(["!"])


def test_case_sensitive_unlike_the_sdk() -> None:
    assert not IgnoreMatcher(["README.md"]).ignored("readme.md")


def test_ignore_file_syntax() -> None:
    text = "# comment\n\n  *.log  \n /build/ \n.\n #not a comment\n"
    lines = read_ignore_lines(text)
    assert lines == ["*.log", "/build/", "#not a comment"]
    m = IgnoreMatcher(lines)
    assert m.ignored("a.log") and not m.ignored("sub/a.log")
    assert m.ignored("build/x/y")
    assert m.ignored(" #not a comment".strip())


def test_dotdot_is_cleaned() -> None:
    assert IgnoreMatcher(["a/../b"]).ignored("b")


def test_more_patterns_than_the_limit_is_one_error():
    from layerscope.buildfile.ignore import MAX_PATTERNS, read_ignore_lines
    from layerscope.errors import FormatError

    lines = [f"x{i}/**/y*" for i in range(MAX_PATTERNS)]
    assert len(read_ignore_lines("# comment\n\n" + "\n".join(lines))) == MAX_PATTERNS  # comments do not count
    with pytest.raises(FormatError, match=f"more than {MAX_PATTERNS} patterns"):
        read_ignore_lines("\n".join([*lines, "one/more"]))
