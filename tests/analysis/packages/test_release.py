"""The image's os-release (analysis/packages/release.py): parsed as os-release(5) says,
read from the final filesystem in syft's order, captured by the one layer walk."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from layerscope.analysis.packages.release import Release, parse
from layerscope.api import analyze
from tests.support.factory import ImageSpec, d, f, layer_tar, sym, wh

DEBIAN = b"""PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
"""
STATUS = b"Package: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13.dfsg-1\nArchitecture: amd64\n\n"


def test_real_os_release_files() -> None:
    assert parse(DEBIAN) == Release(id="debian", version_id="12")
    ubuntu = parse(b'NAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\nID_LIKE=debian\n')
    assert ubuntu == Release(id="ubuntu", id_like=("debian",), version_id="22.04") and ubuntu.like("debian")
    rocky = parse(b'ID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.3"\n')
    assert rocky is not None and rocky.id_like == ("rhel", "centos", "fedora") and not rocky.like("debian")
    assert parse(b"ID=alpine\nVERSION_ID=3.19.1\n") == Release(id="alpine", version_id="3.19.1")


def test_quotes_escapes_and_comments() -> None:
    text = b'# a comment\n\nID=\'arch\'\nBUILD_ID=rolling\nVERSION_ID="1\\"2"\nnot a line\n'
    assert parse(text) == Release(id="arch", build_id="rolling", version_id='1"2')


def test_only_a_newline_ends_a_line_and_any_number_of_them_is_read() -> None:
    """A value holding U+0085 or U+2028 is not cut there (str.splitlines had cut it), and the ID
    after thousands of comment lines is still read (a 1,000-line cut-off had dropped it)."""
    assert parse(b'ID=debian\r\nVERSION_ID="1\xc2\x852"\n') == Release(id="debian", version_id="1\x852")
    assert parse("ID=deb\u2028ian\n".encode()) == Release(id="deb\u2028ian")
    assert parse(b"# padding\n" * 5000 + b"ID=alpine\n") == Release(id="alpine")


def test_distro_is_syfts_form() -> None:
    assert Release(id="debian", version_id="12").distro == "debian-12"
    assert Release(id="arch", build_id="rolling").distro == "arch-rolling"  # no VERSION_ID: the BUILD_ID
    assert Release(id="debian", version_id="12", build_id="x").distro == "debian-12"
    assert Release(id="debian").distro == "debian"


def test_a_file_stating_nothing_is_no_release() -> None:
    assert parse(b"") is None
    assert parse(b'NAME="Something"\nPRETTY_NAME="x"\n') is None


@given(st.binary(max_size=2000))
def test_any_bytes_parse_without_error(data: bytes) -> None:
    release = parse(data)
    assert release is None or release != Release()


def _analyze(tmp_path: Path, *layers: list) -> object:
    return analyze(ImageSpec([layer_tar(entries) for entries in layers]).docker_archive(str(tmp_path / "img.tar")))


DPKG = [d("var"), d("var/lib"), d("var/lib/dpkg"), f("var/lib/dpkg/status", STATUS)]


def test_etc_first_then_usr_lib(tmp_path: Path) -> None:
    both = [d("etc"), d("usr"), d("usr/lib"), f("etc/os-release", b"ID=debian\nVERSION_ID=12\n")]
    both.append(f("usr/lib/os-release", b"ID=debian\nVERSION_ID=11\n"))
    (pkg,) = _analyze(tmp_path, [*DPKG, *both]).packages.packages
    assert pkg.purl == "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&distro=debian-12"


def test_debians_symlink_leads_to_usr_lib(tmp_path: Path) -> None:
    """Debian's /etc/os-release is a symlink to ../usr/lib/os-release."""
    entries = [
        d("etc"),
        d("usr"),
        d("usr/lib"),
        f("usr/lib/os-release", DEBIAN),
        sym("etc/os-release", "../usr/lib/os-release"),
    ]
    (pkg,) = _analyze(tmp_path, [*DPKG, *entries]).packages.packages
    assert pkg.purl == "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&distro=debian-12"


def test_the_final_filesystems_file_counts(tmp_path: Path) -> None:
    """A later layer's os-release replaces the base's; a whiteout removes it (then: no release,
    and a deb has no purl, as in syft)."""
    base = [*DPKG, d("etc"), f("etc/os-release", b"ID=debian\nVERSION_ID=11\n")]
    upgraded = _analyze(tmp_path, base, [d("etc"), f("etc/os-release", b"ID=debian\nVERSION_ID=12\n")])
    assert upgraded.packages.packages[0].purl.endswith("distro=debian-12")
    removed = _analyze(tmp_path, base, [d("etc"), wh("etc/os-release")])
    assert removed.packages.packages[0].purl is None


def test_an_oversized_os_release_is_not_kept(tmp_path: Path) -> None:
    big = b"ID=debian\nVERSION_ID=12\n" + b"#" * (64 << 10)
    a = _analyze(tmp_path, [*DPKG, d("etc"), f("etc/os-release", big)])
    assert a.packages.packages[0].purl is None  # more than 64 KiB: not captured, so no release
