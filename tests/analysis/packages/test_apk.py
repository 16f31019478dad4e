"""apk installed-database parsing on real Alpine databases (syft)."""

from __future__ import annotations

from pathlib import Path

from layerscope.analysis.packages import apk


def _find(path: Path, db: str = "lib/apk/db/installed") -> tuple[list, list]:
    return apk.find({db: (0, path.read_bytes())})


def test_alpine_base_database(fixtures_dir: Path) -> None:
    found, notes = _find(fixtures_dir / "syft/apk/multiple-2/lib/apk/db/installed")
    by = {f.name: f for f in found}
    assert len(found) == 14 and notes == []
    assert by["musl"].version == "1.2.3-r0" and by["busybox"].version == "1.35.0-r17"
    assert sum(len(f.files) for f in found) == 105
    assert "lib/ld-musl-x86_64.so.1" in by["musl"].files
    assert "bin/busybox" in by["busybox"].files
    assert by["musl"].location == "/lib/apk/db/installed" and by["musl"].key == "apk:musl"


def test_usr_lib_location_and_single_records(fixtures_dir: Path) -> None:
    (pkg,), _ = _find(fixtures_dir / "syft/apk/single", db="usr/lib/apk/db/installed")
    assert (pkg.name, pkg.version, pkg.location) == ("musl-utils", "1.1.24-r2", "/usr/lib/apk/db/installed")
    assert len(pkg.files) == 5
    (base,), _ = _find(fixtures_dir / "syft/apk/base")
    assert base.name == "alpine-baselayout" and len(base.files) == 27


def test_extra_attributes_and_empty_fields(fixtures_dir: Path) -> None:
    (jre,), notes = _find(fixtures_dir / "syft/apk/extra-file-attributes")
    assert jre.name == "openjdk8-jre" and notes == []
    (data,), _ = _find(fixtures_dir / "syft/apk/empty-deps-and-provides")
    assert (data.name, data.version) == ("alpine-baselayout-data", "3.4.0-r0")


def test_corrupt_first_line_is_skipped_and_reported(fixtures_dir: Path) -> None:
    (pkg,), notes = _find(fixtures_dir / "syft/apk/corrupt/lib/apk/db/installed")
    assert (pkg.name, pkg.version) == ("alpine-baselayout-data", "3.2.0-r22")
    assert notes == ["/lib/apk/db/installed: 1 malformed line(s) skipped"]
