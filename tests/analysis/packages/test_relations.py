"""The dependency-field parsers: dpkg relationship fields, apk `D:`/`p:`/world, apt's marks."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layerscope.analysis.packages.relations import (
    Alt,
    apk_provides,
    apk_relations,
    apt_auto,
    apt_bool,
    apt_config,
    deb_provides,
    deb_relations,
)

DEB_NAME = st.from_regex(r"[a-z0-9][a-z0-9+.\-]{0,20}", fullmatch=True)
VERSION = st.from_regex(r"[0-9][0-9A-Za-z.+~:\-]{0,12}", fullmatch=True)
OPS = st.sampled_from(["<<", "<=", "=", ">=", ">>"])
SPACE = st.sampled_from(["", " ", "  ", "\t"])


@st.composite
def deb_alt(draw: st.DrawFn) -> tuple[str, Alt]:
    name = draw(DEB_NAME)
    qual = draw(st.sampled_from(["", ":any", ":native", ":amd64"]))
    text = draw(SPACE) + name + qual
    versioned = draw(st.booleans())
    if versioned:
        text += f"{draw(SPACE)}({draw(SPACE)}{draw(OPS)}{draw(SPACE)}{draw(VERSION)}{draw(SPACE)})"
    if draw(st.booleans()):
        text += " [amd64 !i386]"
    if draw(st.booleans()):
        text += " <!nocheck>"
    return text + draw(SPACE), Alt(name, versioned)


# composite draws are slow to start on a loaded machine: that is not the parser's fault
@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st.lists(deb_alt(), min_size=1, max_size=3), max_size=6))
def test_deb_relations_round_trip(groups: list[list[tuple[str, Alt]]]) -> None:
    text = ",".join("|".join(t for t, _ in g) for g in groups)
    assert deb_relations(text) == tuple(tuple(a for _, a in g) for g in groups)


@given(st.text(max_size=200))
def test_deb_relations_never_fail_on_garbage(text: str) -> None:
    for group in deb_relations(text):
        assert group and all(a.name for a in group)


def test_real_debian_fields() -> None:
    # bookworm's python3.11-dev and gcc-12, as in /var/lib/dpkg/status
    assert deb_relations(
        "python3.11 (= 3.11.2-6+deb12u6), libpython3.11-dev (= 3.11.2-6+deb12u6), libpython3.11 (= 3.11.2-6+deb12u6), "
        "libexpat1-dev, zlib1g-dev"
    )[3] == (Alt("libexpat1-dev", False),)
    assert deb_relations("libc6-dev | libc-dev, python3:any (>= 3.11~)") == (
        (Alt("libc6-dev", False), Alt("libc-dev", False)),
        (Alt("python3", True),),
    )
    assert deb_provides("libc-dev, libc6-dev-amd64 (= 2.36-9)") == (
        Alt("libc-dev", False),
        Alt("libc6-dev-amd64", True),
    )


@st.composite
def apk_token(draw: st.DrawFn) -> tuple[str, Alt | None]:
    name = draw(st.from_regex(r"(so:|cmd:|pc:|py3\.11:)?[a-zA-Z0-9][a-zA-Z0-9_.+\-]{0,20}", fullmatch=True))
    if draw(st.booleans()):
        return "!" + name, None  # a conflict: not a dependency
    versioned = draw(st.booleans())
    text = name + (draw(st.sampled_from(["=", ">=", "<", "~", "><"])) + draw(VERSION) if versioned else "")
    if draw(st.booleans()):
        text += "@edge"
    return text, Alt(name, versioned)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(apk_token(), max_size=10), st.sampled_from([" ", "  ", "\n"]))
def test_apk_relations_round_trip(tokens: list[tuple[str, Alt | None]], sep: str) -> None:
    text = sep.join(t for t, _ in tokens)
    assert apk_relations(text) == tuple((a,) for _, a in tokens if a is not None)


def test_real_apk_lines() -> None:
    # alpine 3.19's python3-dev and its db's provides
    assert apk_relations("python3=3.11.9-r0 pkgconf so:libc.musl-x86_64.so.1 !py3-foo") == (
        (Alt("python3", True),),
        (Alt("pkgconf", False),),
        (Alt("so:libc.musl-x86_64.so.1", False),),
    )
    assert apk_provides("so:libpython3.11.so.1.0=1.0 cmd:python3=3.11.9-r0") == (
        Alt("so:libpython3.11.so.1.0", True),
        Alt("cmd:python3", True),
    )


@given(st.lists(st.tuples(DEB_NAME, st.booleans(), st.sampled_from(["amd64", "all", "i386"])), max_size=10))
def test_apt_auto_reads_the_marks(entries: list[tuple[str, bool, str]]) -> None:
    text = "".join(f"Package: {n}\nArchitecture: {arch}\nAuto-Installed: {int(auto)}\n\n" for n, auto, arch in entries)
    assert apt_auto(text) == {n for n, auto, _ in entries if auto}


@given(st.text(max_size=300))
def test_apt_auto_never_fails(text: str) -> None:
    assert isinstance(apt_auto(text), set)


KEY = st.from_regex(r"[A-Za-z][A-Za-z0-9\-]{0,8}", fullmatch=True)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(KEY, min_size=1, max_size=3), st.from_regex(r"[a-z0-9 ./]{0,10}", fullmatch=True), st.booleans()
        ),
        max_size=6,
    )
)
def test_apt_config_flat_and_scoped_forms(entries: list[tuple[list[str], str, bool]]) -> None:
    text = ""
    want: dict[str, str] = {}
    for path, value, scoped in entries:
        if scoped:  # Scope { Sub { Name "v"; }; };
            text += "".join(f"{p} {{ " for p in path[:-1]) + f'{path[-1]} "{value}";' + " };" * (len(path) - 1) + "\n"
        else:
            text += "::".join(path) + f' "{value}"; // a comment\n'
        want["::".join(path).lower()] = value
    assert apt_config(["# a comment\n/* and\nanother */\n" + text]) == want


def test_apt_config_as_debian_images_set_it() -> None:
    docker_autoremove_suggests = (  # the official debian images' file
        "# Since Docker users are looking for the smallest possible final images, the\n"
        "# following emerges as a very common pattern:\n"
        'APT::AutoRemove::SuggestsImportant "false";\n'
    )
    docker_clean = 'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb || true"; };\nDir::Cache::pkgcache "";\n'
    conf = apt_config([docker_clean, docker_autoremove_suggests, 'APT { AutoRemove { RecommendsImportant "0"; }; };'])
    assert conf == {
        "dir::cache::pkgcache": "",
        "apt::autoremove::suggestsimportant": "false",
        "apt::autoremove::recommendsimportant": "0",
    }
    assert not apt_bool(conf["apt::autoremove::recommendsimportant"], True)
    assert apt_bool(conf.get("apt::autoremove::nothing"), True)


@given(st.lists(st.text(max_size=200), max_size=3))
def test_apt_config_never_fails(texts: list[str]) -> None:
    assert isinstance(apt_config(texts), dict)
