"""The toolchain's dependency closure: apt's autoremove rules on small graphs, properties on
random ones, and the whole path on an image whose dpkg database the host's dpkg wrote."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layerscope.analysis.packages.closure import PackageNode, apk_graph, closure, deb_graph, settle
from layerscope.analysis.packages.relations import Alt, deb_provides, deb_relations
from layerscope.api import analyze
from tests.support import debs
from tests.support.factory import ImageSpec, layer_tar
from tests.support.pyinstall import layer_entries, snapshot

# bookworm's tar, bzip2 and dpkg-dev stanzas (abridged), as in /var/lib/dpkg/status
STATUS = """\
Package: tar
Essential: yes
Status: install ok installed
Version: 1.34+dfsg-1.2+deb12u1
Pre-Depends: libacl1 (>= 2.2.23), libc6 (>= 2.34), libselinux1 (>= 3.1~)
Suggests: bzip2, ncompress, xz-utils, tar-scripts, tar-doc

Package: bzip2
Status: install ok installed
Version: 1.0.8-5+b1
Depends: libbz2-1.0 (= 1.0.8-5+b1), libc6 (>= 2.34)
Suggests: bzip2-doc

Package: dpkg-dev
Status: install ok installed
Version: 1.21.22
Depends: perl:any, libdpkg-perl (= 1.21.22), tar (>= 1.28-1), bzip2, xz-utils (>= 5.2.5), patch (>= 2.7), make
Recommends: build-essential, gcc | c-compiler, fakeroot, gnupg | sq | sqop | pgpainless-cli, gpgv | sq | sqopv
"""
MARKS = "Package: bzip2\nArchitecture: amd64\nAuto-Installed: 1\n"


def _node(name: str, root: bool = False, provides: str = "", **fields: str) -> PackageNode:
    rel = tuple((f.replace("_", "-").title(), g) for f, v in fields.items() for g in deb_relations(v))
    return PackageNode(name, "1", rel, deb_provides(provides), root)


def _graph(*nodes: PackageNode) -> dict[str, PackageNode]:
    return {n.name: n for n in nodes}


def _names(members: list) -> dict[str, set[str]]:
    return {m.name: {n for n, _f in m.needed_by} for m in members}


def test_what_only_the_toolchain_needs() -> None:
    g = _graph(
        _node("gcc-12", depends="cpp-12, libmpc3, binutils"),
        _node("cpp-12", depends="libmpfr6"),
        _node("libmpc3", depends="libmpfr6, libgmp10"),
        _node("binutils"),
        _node("libmpfr6", depends="libgmp10"),
        _node("libgmp10"),
        _node("coreutils", root=True, pre_depends="libgmp10"),
    )
    assert _names(closure(g, {"gcc-12", "binutils", "libmpc3"})) == {
        "cpp-12": {"gcc-12"},
        "libmpfr6": {"cpp-12", "libmpc3"},
    }


def test_alternatives_virtual_names_and_arch_qualifiers() -> None:
    g = _graph(
        _node("python3.11-dev", depends="libc6-dev | libc-dev, python3:any (>= 3.11~), mail-transport-agent"),
        _node("libc6-dev", provides="libc-dev"),
        _node("musl-dev", provides="libc-dev"),  # another installed provider of the virtual name
        _node("python3", provides="python3-any (= 3.11.2)"),
        _node("exim", provides="mail-transport-agent"),
        _node("app", root=True, depends="python3"),
    )
    got = _names(closure(g, {"python3.11-dev", "libc6-dev"}))
    # libc6-dev is removed with the toolchain; musl-dev came in for the virtual libc-dev;
    # python3 stays (the app needs it); exim only provides what the toolchain wanted
    assert got == {"musl-dev": {"python3.11-dev"}, "exim": {"python3.11-dev"}}


def test_a_versioned_dependency_is_not_met_by_an_unversioned_provides() -> None:
    g = _graph(_node("tool-dev", depends="virt (>= 2)"), _node("a", provides="virt"), _node("b", provides="virt (= 3)"))
    assert _names(closure(g, {"tool-dev"})) == {"b": {"tool-dev"}}


def test_recommends_keep_like_apt_suggests_do_not() -> None:
    g = _graph(
        _node("make"),
        _node("app", root=True, recommends="libfoo"),
        _node("gcc", depends="libfoo, libbaz"),
        _node("libfoo"),
        _node("libbaz"),
    )
    assert _names(closure(g, {"gcc", "make"})) == {"libbaz": {"gcc"}}
    # the graph never holds Suggests: bookworm's apt autoremoves what a kept package only suggests
    view = {"var/lib/dpkg/status": (0, STATUS.encode()), "var/lib/apt/extended_states": (0, MARKS.encode())}
    g2 = deb_graph(view)
    assert g2 is not None
    assert _names(closure(g2.nodes, {"dpkg-dev"})) == {"bzip2": {"dpkg-dev"}}


def test_a_runtime_package_holds_the_toolchain_package_it_depends_on() -> None:
    g = _graph(
        _node("needrestart", root=True, depends="perl:any, binutils"),
        _node("binutils", depends="libbinutils"),
        _node("libbinutils", depends="libzstd1"),
        _node("libzstd1"),
        _node("perl"),
        _node("gcc-12", depends="binutils, libmpfr6, libc6-dev | libc-dev"),
        _node("libc6-dev"),
        _node("musl-dev", provides="libc-dev"),
        _node("libmpfr6"),
        _node("tool", root=True, depends="libc6-dev | musl-dev"),  # an alternative outside the toolchain
    )
    removable, held = settle(g, {"gcc-12", "binutils", "libbinutils", "libc6-dev"})
    assert held == {"binutils": ("needrestart",), "libbinutils": ("binutils",)}
    assert removable == {"gcc-12", "libc6-dev"}
    assert _names(closure(g, removable)) == {"libmpfr6": {"gcc-12"}}


def test_without_marks_every_package_is_on_purpose() -> None:
    g = _graph(_node("gcc", depends="libmpfr6"), _node("libmpfr6", root=True))
    assert closure(g, {"gcc"}) == []


def test_a_root_never_keeps_through_a_toolchain_package() -> None:
    g = _graph(
        _node("app", root=True, recommends="build-essential"), _node("build-essential", depends="libx"), _node("libx")
    )
    assert _names(closure(g, {"build-essential"})) == {"libx": {"build-essential"}}


@st.composite
def graphs(draw: st.DrawFn) -> tuple[dict[str, PackageNode], set[str]]:
    n = draw(st.integers(2, 14))
    names = [f"p{i}" for i in range(n)]
    nodes = {}
    for name in names:
        groups = draw(
            st.lists(st.lists(st.sampled_from([*names, "virt"]), min_size=1, max_size=2, unique=True), max_size=4)
        )
        rel = tuple((draw(st.sampled_from(["Depends", "Recommends"])), tuple(Alt(x, False) for x in g)) for g in groups)
        prov = (Alt("virt", False),) if draw(st.booleans()) else ()
        nodes[name] = PackageNode(name, "1", rel, prov, draw(st.booleans()))
    tools = set(draw(st.lists(st.sampled_from(names), min_size=1, max_size=3)))
    return nodes, tools


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(graphs())
def test_closure_properties(case: tuple[dict[str, PackageNode], set[str]]) -> None:
    nodes, tools = case
    members = closure(nodes, tools)
    got = {m.name for m in members}

    def targets(name: str) -> set[str]:
        out = set()
        for _f, group in nodes[name].relations:
            for a in group:
                out |= {a.name} & nodes.keys()
                out |= {p.name for p in nodes.values() if any(x.name == a.name for x in p.provides)}
        return out

    assert not got & tools
    assert not any(nodes[n].root for n in got)  # installed on purpose: never autoremoved
    kept = set(nodes) - got - tools
    reach = {n for n in kept if nodes[n].root}
    todo = list(reach)
    while todo:  # what the roots keep never leads into the closure
        for t in targets(todo.pop()) - tools:
            assert t not in got
            if t not in reach:
                reach.add(t)
                todo.append(t)
    for m in members:  # each member is needed by something removed, and that something needs it
        assert m.needed_by
        assert all(n in tools | got and m.name in targets(n) for n, _f in m.needed_by)
    everything_on_purpose = {k: PackageNode(v.name, v.version, v.relations, v.provides, True) for k, v in nodes.items()}
    assert closure(everything_on_purpose, tools) == []


def test_apk_world_and_provides() -> None:
    db = (
        "P:gcc\nV:13.2.1-r0\nD:binutils so:libisl.so.23 so:libmpc.so.3 libgomp\n\n"
        "P:binutils\nV:2.41-r0\nD:so:libc.musl-x86_64.so.1 so:libz.so.1\n\n"
        "P:isl26\nV:0.26-r1\np:so:libisl.so.23=23.3.0\n\n"
        "P:mpc1\nV:1.3.1-r1\np:so:libmpc.so.3=3.3.1\nD:so:libmpfr.so.6\n\n"
        "P:mpfr4\nV:4.2.1-r0\np:so:libmpfr.so.6=6.2.1\n\n"
        "P:libgomp\nV:13.2.1-r0\n\n"
        "P:zlib\nV:1.3.1-r0\np:so:libz.so.1=1.3.1\n\n"
        "P:musl\nV:1.2.4-r2\np:so:libc.musl-x86_64.so.1=1\n\n"
        "P:python3\nV:3.11.9-r0\nD:so:libz.so.1 so:libc.musl-x86_64.so.1\n\n"
    )
    view = {"lib/apk/db/installed": (0, db.encode()), "etc/apk/world": (1, b"musl python3 gcc\n")}
    g = apk_graph(view)
    assert g is not None and g.marks == "/etc/apk/world"
    assert _names(closure(g.nodes, {"gcc", "binutils"})) == {
        "isl26": {"gcc"},
        "mpc1": {"gcc"},
        "mpfr4": {"mpc1"},
        "libgomp": {"gcc"},
    }
    assert apk_graph({"lib/apk/db/installed": (0, db.encode())}).marks == ""  # type: ignore[union-attr]


@pytest.mark.skipif(not debs.available(), reason="dpkg and dpkg-deb are needed")
def test_dpkg_image_closure_in_the_json(tmp_path: Path) -> None:
    """A dpkg database the host's dpkg writes (Depends, Pre-Depends, Provides) and apt's marks,
    in image layers: the build-toolchains saving counts and names the closure."""
    out = tmp_path / "debs"
    out.mkdir()
    root = debs.DpkgRoot.create(tmp_path / "root")
    states = [snapshot(root.path)]
    mk = debs.build_deb
    root.install(mk(out, "libgmp10", "1", {"/usr/lib/libgmp.so.10": b"g" * 500}))  # configured before a Pre-Depends
    root.install(
        mk(
            out,
            "libmpfr6",
            "1",
            {"/usr/lib/libmpfr.so.6": b"m" * 3000},
            control="Depends: libgmp10\nMulti-Arch: allowed\n",
        ),
        mk(out, "libmpc3", "1", {"/usr/lib/libmpc.so.3": b"c" * 700}, control="Depends: libmpfr6, libgmp10\n"),
        mk(out, "perl-stuff", "1", {"/usr/share/perl/x.pm": b"p" * 9000}, control="Provides: perl-api\n"),
        mk(
            out,
            "gcc-12",
            "1",
            {"/usr/bin/gcc-12": b"x" * 20000},
            control="Depends: libmpc3 (>= 1), libmpfr6:any\nRecommends: perl-api\n",
        ),
        mk(out, "app-runtime", "1", {"/usr/bin/app": b"a" * 100}, control="Pre-Depends: libgmp10\n"),
    )
    (root.path / "var/lib/apt").mkdir(parents=True)
    (root.path / "var/lib/apt/extended_states").write_text(
        "".join(
            f"Package: {n}\nArchitecture: all\nAuto-Installed: 1\n\n" for n in ("libgmp10", "libmpfr6", "perl-stuff")
        )
    )
    states.append(snapshot(root.path))
    layers = [layer_tar(layer_entries(states[0], ""))]
    layers += [layer_tar(layer_entries(after, "", before)) for before, after in pairwise(states)]
    a = analyze(ImageSpec(layers).docker_archive(str(tmp_path / "img.tar")))
    saving = next(s for s in a.packages.savings if s.what == "build-toolchains")
    # gcc-12 and libmpc3 by name; libmpfr6 and perl-stuff only for them; libgmp10 kept by app-runtime
    assert {(c.name, c.bytes, c.needed_by) for c in saving.closure} == {
        ("libmpfr6", 3000, ("gcc-12", "libmpc3")),
        ("perl-stuff", 9000, ("gcc-12",)),
    }
    assert saving.bytes == 20000 + 700 + 3000 + 9000
    assert "perl-stuff" in saving.reasoning and "/var/lib/apt/extended_states" in saving.closure[0].why
    from layerscope.analysis.packages.document import report_from, report_json

    doc = report_json(a.packages)
    (sj,) = [s for s in doc["savings"] if s["what"] == "build-toolchains"]
    assert [c["name"] for c in sj["closure"]] == ["perl-stuff", "libmpfr6"]
    assert report_from(doc) == a.packages
    g = deb_graph({"var/lib/dpkg/status": (0, (root.path / "var/lib/dpkg/status").read_bytes())})
    assert g is not None and g.marks == ""  # without extended_states: nothing is known to be automatic


def test_recommends_keep_unless_the_images_apt_conf_says_otherwise() -> None:
    status = (
        "Package: app\nStatus: install ok installed\nVersion: 1\nRecommends: libfoo\n\n"
        "Package: libfoo\nStatus: install ok installed\nVersion: 1\n\n"
        "Package: gcc-12\nStatus: install ok installed\nVersion: 1\nDepends: libfoo\n\n"
        "Package: gone\nStatus: deinstall ok config-files\nVersion: 1\n"
    )
    view = {
        "var/lib/dpkg/status": (0, status.encode()),
        "var/lib/apt/extended_states": (0, b"Package: libfoo\nArchitecture: amd64\nAuto-Installed: 1\n"),
    }
    g = deb_graph(view)
    assert g is not None and set(g.nodes) == {"app", "libfoo", "gcc-12"}
    assert closure(g.nodes, {"gcc-12"}, g.keep) == []
    off = 'APT { AutoRemove { RecommendsImportant "false"; }; };\n'
    for name in ("etc/apt/apt.conf.d/99no-recommends", "etc/apt/apt.conf"):
        g = deb_graph({**view, name: (1, off.encode())})
        assert g is not None and _names(closure(g.nodes, {"gcc-12"}, g.keep)) == {"libfoo": {"gcc-12"}}
    # a file apt would not read (a dpkg backup) changes nothing
    g = deb_graph({**view, "etc/apt/apt.conf.d/99no-recommends.dpkg-old": (1, off.encode())})
    assert g is not None and closure(g.nodes, {"gcc-12"}, g.keep) == []


def test_the_saving_names_held_packages_and_what_was_not_estimated() -> None:
    from layerscope.analysis.packages.savings import savings
    from layerscope.model import BuildOnly, Package

    def pkg(eco: str, name: str, size: int) -> Package:
        return Package(name, "1", eco, size, 1, 1, ((1, size),), "/var/lib/dpkg/status", 0, "build-toolchains")

    packages = [pkg("deb", "gcc-12", 5000), pkg("deb", "binutils", 3000), pkg("rpm", "gcc", 700)]
    closure_ = (BuildOnly("deb", "libmpfr6", "4.2.0-1", 400, ("gcc-12",), "why"),)
    notes = ("rpm: the toolchain's dependencies are not counted (rpm Requires are not read)",)
    (s,) = savings(packages, [], {}, {}, closure_, notes, {("deb", "binutils"): ("needrestart",)})
    assert s.what == "build-toolchains" and s.bytes == 5000 + 700 + 400  # binutils stays: needrestart needs it
    assert s.closure == closure_
    assert "libmpfr6 (400 B, for gcc-12)" in s.reasoning
    assert "binutils (3.0 kB, for needrestart)" in s.reasoning
    assert "rpm Requires are not read" in s.reasoning
