"""dpkg database parsing on real status files, file lists and md5sums (syft, trivy)."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerscope.analysis.packages import dpkg


@pytest.fixture
def dp(fixtures_dir: Path) -> Path:
    return fixtures_dir / "syft" / "dpkg"


def test_full_status_counts_only_installed_stanzas(dp: Path) -> None:
    view = {dpkg.STATUS: (0, (dp / "trivy/dpkg").read_bytes())}
    found, notes = dpkg.find(view)
    assert len(found) == 90  # 91 stanzas, one `deinstall ok config-files`
    by = {f.name: f for f in found}
    assert by["libc6"].version == "2.27-3ubuntu1"
    assert by["apt"].version == "1.6.3ubuntu0.1"
    assert by["libc6"].key == "deb:libc6:amd64" and by["libc6"].location == "/var/lib/dpkg/status"
    assert all(f.files == () and f.stamp is None for f in found)  # no info/*.list captured
    assert notes == []


def test_list_files_give_paths_and_the_install_stamp(dp: Path) -> None:
    view = {
        dpkg.STATUS: (0, (dp / "trivy/tar-status").read_bytes()),
        dpkg.INFO + "tar.list": (4, (dp / "trivy/tar.list").read_bytes()),
    }
    (tar,), _ = dpkg.find(view)
    assert (tar.name, tar.version, tar.ecosystem) == ("tar", "1.29b-2", "deb")
    assert tar.stamp == 4
    assert "bin/tar" in tar.files and "usr/sbin/rmt-tar" in tar.files
    assert len(tar.files) == 27  # 28 lines, `/.` is the root
    assert tar.meta == (dpkg.STATUS, dpkg.INFO + "tar.list")


def test_md5sums_stand_in_for_a_missing_list(dp: Path) -> None:
    view = {
        dpkg.STATUS: (0, (dp / "trivy/tar-status").read_bytes()),
        dpkg.INFO + "tar.md5sums": (1, (dp / "trivy/tar.md5sums").read_bytes()),
    }
    (tar,), _ = dpkg.find(view)
    assert "usr/bin/tar" in tar.files and len(tar.files) == 13


def test_distroless_status_d_entries_and_their_md5sums(dp: Path) -> None:
    base = dp / "image-distroless-deb/var/lib/dpkg/status.d"
    view = {dpkg.STATUS_D + p.name: (0, p.read_bytes()) for p in base.iterdir()}
    view |= {
        dpkg.STATUS_D + p.name: (0, p.read_bytes()) for p in (dp / "image-pkg-coverage/var/lib/dpkg/status.d").iterdir()
    }
    found, notes = dpkg.find(view)
    by = {f.name: f for f in found}
    assert set(by) == {"libsqlite3-0", "dash", "netbase"}
    assert by["libsqlite3-0"].version == "3.34.1-3"
    assert "usr/lib/aarch64-linux-gnu/libsqlite3.so.0.8.6" in by["libsqlite3-0"].files
    assert len(by["libsqlite3-0"].files) == 6
    assert by["dash"].files == ()
    assert notes == []


def test_status_d_stubs_corrupt_and_empty_entries(dp: Path) -> None:
    names = ["multiple", "corrupt", "empty", "libpam-runtime", "deinstall", "single", "coreutils-relationships"]
    view = {dpkg.STATUS_D + n: (0, (dp / "status.d" / n).read_bytes()) for n in names}
    found, notes = dpkg.find(view)
    got = sorted((f.name, f.version) for f in found)
    assert ("tzdata", "2020a-0+deb10u1") in got and ("util-linux", "2.33.1-0.1") in got
    assert ("libpam-runtime", "1.5.2-6+deb12u1") in got and ("apt", "1.8.2") in got
    assert ("coreutils", "9.1-1") in got and len([n for n, _ in got if n == "libc6"]) == 1
    assert not any(n in ("no-version", "debconf1", "cdebconf") for n, _ in got)  # name-only stubs
    # a Status field, where a status.d entry has one, is honoured: `deinstall ok config-files` is not installed
    assert [n for n, _ in got if n.startswith("linux-image")] == ["linux-image-6.14.0-1012-aws"]
    assert any("corrupt" in n and "malformed" in n for n in notes)


def test_garbage_status_is_reported_never_raised() -> None:
    junk = b"\x00\x01\x02 not a stanza\n\n\xff\xfe:::\nPackage: ok\nStatus: install ok installed\nVersion: 1\n"
    found, notes = dpkg.find({dpkg.STATUS: (0, junk)})
    assert [(f.name, f.version) for f in found] == [("ok", "1")]
    assert notes and "malformed line" in notes[0]


def test_diversions_move_other_packages_files() -> None:
    ok = b"Status: install ok installed\n"
    status = b"Package: a\n" + ok + b"Version: 1\n\nPackage: b\n" + ok + b"Version: 2\n"
    view = {
        dpkg.STATUS: (0, status),
        dpkg.INFO + "a.list": (0, b"/usr/bin\n/usr/bin/tool\n"),
        dpkg.INFO + "b.list": (0, b"/usr/bin/tool\n"),
        dpkg.DIVERSIONS: (0, b"/usr/bin/tool\n/usr/bin/tool.real\nb\n"),
    }
    by = {f.name: f for f in dpkg.find(view)[0]}
    assert "usr/bin/tool.real" in by["a"].files and "usr/bin/tool" not in by["a"].files
    assert by["b"].files == ("usr/bin/tool",)
