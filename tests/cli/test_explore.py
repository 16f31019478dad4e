"""`layerscope explore` from the shell: argument errors, no terminal, and the real console
script under a pseudo-terminal showing its first screen."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from tests.conftest import REPO
from tests.tui.sample import sample_spec, write_build

ANSI = re.compile(
    rb"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[PX^_][^\x1b]*\x1b\\|[()][0-9A-Za-z]|[=>78cDEHMZ])"
)


def test_explore_needs_a_terminal(tmp_path: Path, run_cli) -> None:
    path = sample_spec().docker_archive(str(tmp_path / "s.tar"))
    r = run_cli("explore", path)
    assert r.code == 2
    assert r.err == "layerscope: explore needs a terminal; for scripts use `layerscope inspect --json`\n"
    assert r.out == ""


def test_ref_and_from_are_exclusive(run_cli) -> None:
    r = run_cli("explore", "x.tar", "--from", "saved.json")
    assert (r.code, r.err) == (2, "layerscope: give either REF or --from FILE, not both\n")
    r = run_cli("explore")
    assert (r.code, r.err) == (2, "layerscope: explore needs an image reference (or --from FILE)\n")


def console_script() -> list[str]:
    script = shutil.which("layerscope")
    if script is not None:
        return [script]
    # Not installed as a script here: the same entry point the script calls.
    return [sys.executable, "-c", "from layerscope.cli.main import main; raise SystemExit(main())"]


class Terminal:
    """A process on a pseudo-terminal of a given size; `screen` is what it printed, escapes removed."""

    def __init__(self, args: list[str], cols: int = 80, rows: int = 24) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "TERM": "xterm-256color",
            "COLUMNS": str(cols),
            "LINES": str(rows),
        }
        self.proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=REPO, close_fds=True)
        os.close(slave)
        self.raw = b""

    def read(self, timeout: float) -> None:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if ready:
            with contextlib.suppress(OSError):  # the child closed the terminal
                self.raw += os.read(self.master, 65536)

    @property
    def screen(self) -> str:
        return ANSI.sub(b"", self.raw).decode("utf-8", "replace")

    def wait_for(self, text: str, timeout: float = 60) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end and self.proc.poll() is None:
            self.read(0.1)
            if text in self.screen:
                return True
        return text in self.screen

    def press(self, key: bytes) -> None:
        os.write(self.master, key)

    def finish(self, timeout: float = 30) -> int:
        end = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < end:
            self.read(0.1)  # keep draining so the app never blocks on a full terminal
        code = self.proc.wait(timeout=1)
        os.close(self.master)
        return code


def test_console_script_shows_the_first_screen_and_q_exits_0(tmp_path: Path) -> None:
    path = sample_spec().docker_archive(str(tmp_path / "s.tar"))
    term = Terminal([*console_script(), "explore", f"docker-archive:{path}"])
    try:
        assert term.wait_for("ADD rootfs.tar"), term.screen[-2000:]
        assert term.wait_for("pip install numpy requests")
        assert term.wait_for("Files: filesystem up to L0")
        term.press(b"q")
        assert term.finish() == 0
    finally:
        if term.proc.poll() is None:
            term.proc.kill()


def test_console_script_shows_a_bad_reference_then_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "missing.tar"
    term = Terminal([*console_script(), "explore", f"docker-archive:{missing}"])
    try:
        assert term.wait_for("Press q to quit"), term.screen[-2000:]
        assert term.wait_for("no such file")
        assert "Traceback" not in term.screen
        term.press(b"q")
        assert term.finish() == 2
        # after the UI is gone, the same line inspect prints stays in the scrollback
        assert f"layerscope: no such file: {missing}" in term.screen
    finally:
        if term.proc.poll() is None:
            term.proc.kill()


def test_explore_from_a_saved_analysis(tmp_path: Path, run_cli) -> None:
    path = sample_spec().docker_archive(str(tmp_path / "s.tar"))
    saved = tmp_path / "saved.json"
    assert run_cli("inspect", path, "--save", str(saved)).code == 0
    term = Terminal([*console_script(), "explore", "--from", str(saved), "--theme", "light"])
    try:
        assert term.wait_for("COPY app/ /app/"), term.screen[-2000:]
        assert term.wait_for("4 layers")
        term.press(b"q")
        assert term.finish() == 0
    finally:
        if term.proc.poll() is None:
            term.proc.kill()


def test_cache_flags_need_a_dockerfile_that_exists(tmp_path: Path, run_cli) -> None:
    r = run_cli("explore", "x.tar", "--context", str(tmp_path))
    assert (r.code, r.err) == (2, "layerscope: --context describes the build of --dockerfile: give --dockerfile too\n")
    r = run_cli("explore", "x.tar", "--dockerfile", str(tmp_path / "Dockerfile"))
    assert (r.code, r.err) == (2, f"layerscope: --dockerfile {tmp_path / 'Dockerfile'}: no such file\n")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    r = run_cli("explore", "x.tar", "--dockerfile", str(tmp_path / "Dockerfile"), "--context", str(tmp_path / "no"))
    assert (r.code, r.err) == (2, f"layerscope: --context {tmp_path / 'no'}: no such directory\n")
    r = run_cli("explore", "x.tar", "--dockerfile", str(tmp_path / "Dockerfile"), "--build-arg", "A")
    assert (r.code, r.err) == (2, "layerscope: --build-arg 'A': expected K=V\n")


def test_console_script_with_a_dockerfile_shows_the_cache_view(tmp_path: Path) -> None:
    path = sample_spec().docker_archive(str(tmp_path / "s.tar"))
    build = tmp_path / "build"
    build.mkdir()
    write_build(build)
    args = ["explore", path, "--dockerfile", str(build / "Dockerfile"), "--context", str(build)]
    term = Terminal([*console_script(), *args])
    try:
        assert term.wait_for("Files: filesystem up to L0"), term.screen[-2000:]
        term.press(b"3")
        assert term.wait_for("Enter on a step"), term.screen[-2000:]
        term.press(b"\x1b[B\x1b[B\x1b[B\r")  # down to line 4, the pip RUN; Enter
        assert term.wait_for("3 steps rebuild from line 4"), term.screen[-2000:]
        term.press(b"q")
        assert term.finish() == 0
    finally:
        if term.proc.poll() is None:
            term.proc.kill()


def test_the_image_flags_reach_the_app(tmp_path: Path, monkeypatch) -> None:
    """Every image flag explore takes is passed on to the app (--no-cache once was not)."""
    import layerscope.tui
    from layerscope.cli.explore import run
    from layerscope.cli.main import build_parser

    made: list[dict[str, object]] = []

    class App:
        failure, return_code = None, 0

        def run(self) -> None:
            pass

    def make_app(ref: str, **kwargs: object) -> App:
        made.append({"ref": ref, **kwargs})
        return App()

    monkeypatch.setattr(layerscope.tui, "make_app", make_app)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    argv = ["explore", "x.tar", "--no-cache", "--verify", "--platform", "linux/arm64", "--manifest-only", "--insecure"]
    assert run(build_parser("explore").parse_args(argv), print) == 0
    assert made == [{"ref": "x.tar", "platform": "linux/arm64", "verify": True, "manifest_only": True,
                     "use_cache": False, "insecure": True, "theme": "dark", "cache": None}]  # fmt: skip
    run(build_parser("explore").parse_args(["explore", "x.tar"]), print)
    assert made[-1]["use_cache"] is True and made[-1]["insecure"] is False
