"""Hostile files the user names: /dev/zero, FIFOs, huge files, a YAML alias bomb, and the
commands' own writes. Each run is a real CLI process under a timeout and a memory limit
(tests/support/hostile.py); only the cache dir and the requested output may change."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from layerscope.readfile import read_bytes
from tests.support.factory import ImageSpec, f, layer_tar
from tests.support.hostile import Sandbox, assert_clean, assert_refused

SPEC = ImageSpec([layer_tar([f("app/a", b"a" * 100)]), layer_tar([f("app/b", b"b" * 10)])])
DOCKERFILE = b"FROM busybox\nCOPY a.txt /a.txt\n"


@pytest.fixture
def box(tmp_path: Path) -> Sandbox:
    return Sandbox(tmp_path / "box")


def _special(box: Sandbox, kind: str) -> str:
    """/dev/zero (never ends) or a FIFO nobody writes to (blocks an ordinary open)."""
    if kind == "zero":
        return "/dev/zero"
    path = box.inputs / f"fifo-{len(os.listdir(box.inputs))}"
    os.mkfifo(path)
    return str(path)


@pytest.mark.parametrize("kind", ["zero", "fifo"])
@pytest.mark.parametrize("prefix", ["", "docker-archive:", "analysis:"])
def test_a_special_file_as_the_image(box, kind, prefix):
    path = _special(box, kind)
    line = assert_refused(box.run("inspect", prefix + path, timeout=60), "not a regular file")
    assert path in line


@pytest.mark.parametrize("kind", ["zero", "fifo"])
def test_a_special_file_as_a_blob_of_an_oci_layout(box, kind):
    layout = Path(SPEC.oci_dir(str(box.inputs / "oci")))
    blobs = layout / "blobs" / "sha256"
    biggest = max(blobs.iterdir(), key=lambda p: p.stat().st_size)  # a layer
    biggest.unlink()
    if kind == "zero":
        biggest.symlink_to("/dev/zero")
    else:
        os.mkfifo(biggest)
    assert_refused(box.run("inspect", f"oci:{layout}", "--no-cache", timeout=60))


@pytest.mark.parametrize("kind", ["zero", "fifo"])
@pytest.mark.parametrize("which", ["dockerfile", "dockerignore", "timings", "in-context-dockerfile"])
def test_special_files_around_a_build(box, kind, which):
    ctx = box.inputs / "ctx"
    ctx.mkdir()
    (ctx / "a.txt").write_text("a")
    (box.inputs / "Dockerfile").write_bytes(DOCKERFILE)
    args = ["cache", "--context", str(ctx), "--changed", "a.txt"]
    special = _special(box, kind)
    if which == "dockerfile":
        args += ["-f", special]
    elif which == "in-context-dockerfile":
        (ctx / "Dockerfile").symlink_to(special)
    else:
        args += ["-f", str(box.inputs / "Dockerfile")]
        if which == "dockerignore":
            (box.inputs / "Dockerfile.dockerignore").symlink_to(special)
        else:
            args += ["--timings", special]
    assert_refused(box.run(*args, timeout=60), "not a regular file")


@pytest.mark.parametrize("kind", ["zero", "fifo"])
@pytest.mark.parametrize("which", ["config", "baseline"])
def test_special_files_given_to_check(box, kind, which):
    image = SPEC.docker_archive(str(box.inputs / "img.tar"))
    special = _special(box, kind)
    args = ["--config", special] if which == "config" else ["--baseline", special]
    assert_refused(box.run("check", image, *args, timeout=60), "not a regular file")


@pytest.mark.parametrize("kind", ["zero", "fifo"])
def test_a_special_file_as_the_fleet_reference_list(box, kind):
    assert_refused(box.run("fleet", "--from-file", _special(box, kind), timeout=60), "not a regular file")


@pytest.mark.parametrize("kind", ["zero", "fifo"])
@pytest.mark.parametrize("which", ["oci-archive", "packages-dockerfile", "packages-timings", "fleet-config"])
def test_special_files_named_by_other_flags_say_what_they_are(box, kind, which):
    """Each was refused, but as "no such file": the line names what the path is instead."""
    image = SPEC.docker_archive(str(box.inputs / "img.tar"))
    (box.inputs / "Dockerfile").write_bytes(DOCKERFILE)
    special = _special(box, kind)
    args = {
        "oci-archive": ["inspect", f"oci-archive:{special}"],
        "packages-dockerfile": ["packages", image, "--dockerfile", special, "--context", str(box.inputs)],
        "packages-timings": ["packages", image, "--dockerfile", str(box.inputs / "Dockerfile"), "--timings", special],
        "fleet-config": ["fleet", image, "--config", special, "--workers", "1"],
    }[which]
    line = assert_refused(box.run(*args, timeout=120, env={"DASK_SCHEDULER_ADDRESS": ""}), "not a regular file")
    assert special in line


def test_password_stdin_from_dev_zero(box):
    image = SPEC.docker_archive(str(box.inputs / "img.tar"))
    fd = os.open("/dev/zero", os.O_RDONLY)
    try:
        r = box.run("inspect", image, "--username", "u", "--password-stdin", stdin=fd, timeout=60)
    finally:
        os.close(fd)
    assert_refused(r, "--password-stdin")


def test_a_huge_sparse_analysis_file_is_refused_unread(box):
    path = box.inputs / "huge.json"
    with open(path, "wb") as fh:
        fh.truncate(3 << 30)  # sparse: 3 GiB of holes, no disk
    assert_refused(box.run("inspect", f"analysis:{path}", timeout=60), "too large")


def test_read_bytes_refuses_special_and_large_files(tmp_path):
    from layerscope.errors import LayerscopeError

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path in ("/dev/zero", str(fifo), str(tmp_path)):
        with pytest.raises(LayerscopeError, match="not a regular file"):
            read_bytes(path, "test file")
    big = tmp_path / "big"
    big.write_bytes(b"x" * 101)
    with pytest.raises(LayerscopeError, match="too large"):
        read_bytes(str(big), "test file", limit=100)
    assert read_bytes(str(big), "test file", limit=101) == b"x" * 101


# -- .dive-ci: YAML bombs ----------------------------------------------------------------------

LAUGHS = "".join(f"{chr(97 + k)}: &{chr(97 + k)} [" + ",".join([f"*{chr(96 + k)}"] * 9) + "]\n" for k in range(1, 9))
ALIAS_BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + LAUGHS
ALIAS_BOMB += "rules:\n  lowestEfficiency: *i\n"


@pytest.mark.parametrize(
    "doc, expect",
    [
        (ALIAS_BOMB, "alias bomb"),
        ("rules: &r\n  lowestEfficiency: [*r]\n", "recursive"),
        ("rules:\n  lowestEfficiency: " + "[" * 20000 + "]" * 20000 + "\n", "nests too deeply"),
    ],
    ids=["laughs", "recursive", "deep"],
)
def test_dive_ci_yaml_bombs(box, doc, expect):
    assert len(ALIAS_BOMB) < 1024  # the bomb is small; expanded, it would be gigabytes
    image = SPEC.docker_archive(str(box.inputs / "img.tar"))
    (box.work / ".dive-ci").write_text(doc)
    line = assert_refused(box.run("check", image, timeout=60), "not valid YAML")
    assert expect in line


def test_dive_ci_with_harmless_aliases_still_reads(box):
    image = SPEC.docker_archive(str(box.inputs / "img.tar"))
    (box.work / ".dive-ci").write_text("x: &v 0.5\nrules:\n  lowestEfficiency: *v\n")
    r = box.run("check", image)
    assert_clean(r)
    assert r.code == 0, r.err


# -- writes: only the cache dir and the requested output ---------------------------------------


def test_check_without_a_config_writes_nothing_but_the_cache(box):
    image = SPEC.docker_archive(str(box.inputs / "img.tar"))
    r = box.run("check", image)
    assert_clean(r)
    assert "dive's default CI rules" in r.out
    assert r.code == 0, r.err


def test_report_writes_only_its_output_and_the_cache(box):
    image = SPEC.docker_archive(str(box.inputs / "img.tar"))
    out = box.root / "out" / "report.png"
    out.parent.mkdir()
    r = box.run("report", image, "-o", str(out), outputs=[out], memory=3 << 30)
    assert_clean(r)
    assert r.code == 0 and out.stat().st_size > 0, r.err
    assert (box.cache / "matplotlib").is_dir()  # the font cache went here, not under HOME


def test_fleet_writes_only_its_output_and_the_cache(box):
    """Its HTML report draws with matplotlib too: the font cache went to XDG_CACHE_HOME/matplotlib."""
    image = SPEC.docker_archive(str(box.inputs / "img.tar"))
    out = box.root / "out"
    r = box.run(
        "fleet", image, "--workers", "1", "--output", str(out), outputs=[out], memory=4 << 30,
        env={"DASK_SCHEDULER_ADDRESS": ""}, timeout=240,
    )  # fmt: skip
    assert_clean(r)
    assert r.code == 0 and (out / "report.html").stat().st_size > 0, r.err
    assert (box.cache / "matplotlib").is_dir()
