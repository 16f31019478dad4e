"""The purl encoder (analysis/packages/purl.py) against the spec's reference parser
(packageurl-python), and each ecosystem's purl function on the cases syft's fixtures do not
cover (an rpm epoch, conda, hostile text)."""

from __future__ import annotations

import string
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packageurl import PackageURL

from layerscope.analysis.packages import apk, conda, dpkg, python, rpm
from layerscope.analysis.packages.common import APK, CONDA, DEB, PYTHON, RPM, Found
from layerscope.analysis.packages.ecosystems import ECOSYSTEMS, package_url
from layerscope.analysis.packages.purl import encode, quote
from layerscope.analysis.packages.release import Release

PERMITTED = frozenset(string.ascii_letters + string.digits + ".-_~" + "%" + ":/@?=&#")
DEBIAN_12 = Release(id="debian", version_id="12")

# Any text, except what the reference parser itself normalises away: whitespace or `/` at
# either end of a component (it strips them after decoding).
component = st.text(min_size=1, max_size=40).filter(lambda s: s == s.strip().strip("/") and s != "")
keys = st.from_regex(r"\A[a-z][a-z0-9._-]{0,11}\Z")
qualifiers = st.dictionaries(keys, component, max_size=5)
namespaces = st.one_of(st.just(""), component)


@given(namespace=namespaces, name=component, version=st.one_of(st.just(""), component), quals=qualifiers)
def test_the_reference_parser_reads_back_every_component(
    namespace: str, name: str, version: str, quals: dict[str, str]
) -> None:
    purl = encode("generic", namespace, name, version, sorted(quals.items(), reverse=True))
    assert purl is not None
    parsed = PackageURL.from_string(purl)
    assert (parsed.type, parsed.namespace or "", parsed.name, parsed.version or "") == (
        "generic",
        namespace,
        name,
        version,
    )
    assert (parsed.qualifiers or {}) == quals
    assert parsed.subpath is None


@given(namespace=namespaces, name=st.text(min_size=1), version=st.text(), quals=st.dictionaries(keys, st.text()))
def test_only_permitted_characters_and_one_split(
    namespace: str, name: str, version: str, quals: dict[str, str]
) -> None:
    """Whatever the image's text: ASCII of the spec's permitted set, each component decoding
    back to itself, and its separators only where the encoder put them."""
    purl = encode("deb", namespace, name, version, quals.items())
    assert purl is not None
    assert set(purl) <= PERMITTED
    assert "#" not in purl and purl.count("?") <= 1
    path, _, query = purl.partition("?")
    head, _, ver = path.removeprefix("pkg:deb/").partition("@")
    assert unquote(head.split("/")[-1]) == name and unquote(ver) == version
    kept = {k: v for k, v in quals.items() if v}
    pairs = [p.split("=") for p in query.split("&")] if query else []
    assert [k for k, _ in pairs] == sorted(kept)  # sorted by key: the canonical form
    assert {k: unquote(v) for k, v in pairs} == kept


def test_the_encoding_is_the_specs() -> None:
    """Upper-case hex from UTF-8; `:` and the unreserved punctuation stay; everything else,
    `/` and `+` and controls included, is encoded (docs/standard/characters-and-encoding.md)."""
    assert quote("1:2.4.47-2+b1") == "1:2.4.47-2%2Bb1"
    assert quote("a/b c?d#e@f&g=h%") == "a%2Fb%20c%3Fd%23e%40f%26g%3Dh%25"
    assert quote("é\x1b[31m\n") == "%C3%A9%1B%5B31m%0A"
    assert quote("A-Z_a.z~0") == "A-Z_a.z~0"


def test_a_lone_surrogate_is_encoded_as_the_replacement_character() -> None:
    """JSON metadata (conda-meta, direct_url.json) may hold "\\udce9": it has no UTF-8, and is
    U+FFFD in the purl as the docstring says, not a `?` that reads back as a real question mark."""
    assert quote("a\udce9b\ud800") == "a%EF%BF%BDb%EF%BF%BD"
    assert package_url(_found(CONDA, "x\udce9", "1.0"), None) == "pkg:conda/x%EF%BF%BD@1.0"


def test_the_specs_examples() -> None:
    assert encode("deb", "debian", "attr", "1:2.4.47-2+b1", [("arch", "amd64")]) == (
        "pkg:deb/debian/attr@1:2.4.47-2%2Bb1?arch=amd64"
    )
    conda_example = [("type", "tar.bz2"), ("subdir", "linux-64"), ("channel", "main"), ("build", "py36h06a4308_0")]
    assert encode("conda", "", "absl-py", "0.4.1", conda_example) == (
        "pkg:conda/absl-py@0.4.1?build=py36h06a4308_0&channel=main&subdir=linux-64&type=tar.bz2"
    )


def test_what_is_left_out() -> None:
    assert encode("pypi", "", "", "1.0") is None  # no name: no purl (the spec requires one)
    assert encode("pypi", "", "x", "") == "pkg:pypi/x"  # no version: no `@`
    assert encode("rpm", "", "x", "1", [("arch", ""), ("epoch", "")]) == "pkg:rpm/x@1"  # empty values: none
    assert encode("rpm", "a/b", "x", "1") == "pkg:rpm/a%2Fb/x@1"  # one segment, whatever it holds
    with pytest.raises(ValueError):
        encode("Not A Type", "", "x", "1")
    with pytest.raises(ValueError):
        encode("deb", "", "x", "1", [("Arch", "amd64")])


def _found(ecosystem: str, name: str, version: str, **quals: str) -> Found:
    return Found(ecosystem, name, version, "/db", f"{ecosystem}:{name}", (), qualifiers=tuple(quals.items()))


def test_every_ecosystem_names_its_purl_function() -> None:
    assert {e.package_ecosystem: e.purl for e in ECOSYSTEMS} == {
        PYTHON: python.purl,
        CONDA: conda.purl,
        DEB: dpkg.purl,
        APK: apk.purl,
        RPM: rpm.purl,
    }
    assert package_url(_found("source", "gcc", ""), DEBIAN_12) is None  # attributed from source: no database


def test_rpm_epoch_is_a_qualifier_not_part_of_the_version() -> None:
    f = _found(RPM, "perl-Carp", "1:1.50-439.el9", arch="noarch", epoch="1", upstream="perl-Carp-1.50-439.el9.src.rpm")
    purl = package_url(f, Release(id="rhel", version_id="9.3", id_like=("fedora",)))
    assert purl == (
        "pkg:rpm/redhat/perl-Carp@1.50-439.el9?arch=noarch&distro=rhel-9.3&epoch=1"
        "&upstream=perl-Carp-1.50-439.el9.src.rpm"
    )
    # rpm names keep their case (the spec's rpm type); openSUSE's vendor is `opensuse` (syft's)
    leap = Release(id="opensuse-leap", version_id="15.5")
    assert package_url(_found(RPM, "NetworkManager", "1.38-1", arch="x86_64"), leap) == (
        "pkg:rpm/opensuse/NetworkManager@1.38-1?arch=x86_64&distro=opensuse-leap-15.5"
    )


def test_pypi_names_are_normalised_as_the_spec_says() -> None:
    assert package_url(_found(PYTHON, "Typing_Extensions", "4.12.2"), None) == "pkg:pypi/typing-extensions@4.12.2"
    assert package_url(_found(PYTHON, "zope.interface", "7.0"), DEBIAN_12) == "pkg:pypi/zope.interface@7.0"


def test_conda_qualifiers_from_its_conda_meta() -> None:
    doc = (
        b'{"name": "jupyterlab", "version": "2.1.0", "build": "py_0", "subdir": "noarch",'
        b' "channel": "https://conda.anaconda.org/conda-forge/noarch", "fn": "jupyterlab-2.1.0-py_0.tar.bz2"}'
    )
    (f,), _ = conda.find({"opt/conda/conda-meta/jupyterlab-2.1.0-py_0.json": (0, doc)})
    assert package_url(f, DEBIAN_12) == (
        "pkg:conda/jupyterlab@2.1.0?build=py_0&channel=conda-forge&subdir=noarch&type=tar.bz2"
    )
    (bare,), _ = conda.find({"opt/conda/conda-meta/x-1-0.json": (0, b'{"name": "x", "channel": 7}')})
    assert package_url(bare, None) == "pkg:conda/x"  # fields of the wrong type are left out


def test_deb_and_apk_need_an_os_release_and_deb_a_debian_like_one() -> None:
    deb = _found(DEB, "libc6", "2.36-9+deb12u4", arch="amd64", upstream="glibc")
    assert package_url(deb, None) is None
    assert package_url(deb, Release(id="fedora", version_id="39")) is None
    assert package_url(deb, Release(id="ubuntu", id_like=("debian",), version_id="24.04")) == (
        "pkg:deb/ubuntu/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=ubuntu-24.04&upstream=glibc"
    )
    musl = _found(APK, "musl", "1.2.4-r2", arch="aarch64")
    assert package_url(musl, None) is None
    assert package_url(musl, Release(id="alpine", version_id="3.19.1")) == (
        "pkg:apk/alpine/musl@1.2.4-r2?arch=aarch64&distro=alpine-3.19.1"
    )


@given(name=st.text(min_size=1, max_size=30), version=st.text(max_size=30), os_id=st.text(max_size=20))
def test_hostile_database_and_os_release_text_stays_inside_its_component(name: str, version: str, os_id: str) -> None:
    """A name, version or os-release ID holding `/`, `@`, `?`, `#` or controls cannot add a
    component: the reference parser reads back exactly what the database said."""
    release = Release(id=os_id, version_id="1")
    for eco in (DEB, APK):
        purl = package_url(_found(eco, name, version, arch="x86_64"), release)
        if purl is None:
            continue  # deb: the release is not Debian-like
        assert set(purl) <= PERMITTED and "#" not in purl and purl.count("?") == 1
        parts = purl.split("?")[0].removeprefix(f"pkg:{eco}/").split("/")
        assert [unquote(p) for p in parts[:-1]] == ([os_id.lower()] if os_id else [])
        got_name, at, got_version = parts[-1].partition("@")
        assert unquote(got_name) == name.lower() and unquote(got_version) == version and bool(at) == bool(version)
