"""Platform normalisation and preference: containerd's `Normalize` and `Only(p)` order."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from layerscope.errors import PlatformError
from layerscope.sources.manifests import Descriptor, choose
from layerscope.sources.platforms import Platform, accepted, preference

P = Platform.parse
ARCHES = ["amd64", "x86_64", "x86-64", "AMD64", "aarch64", "arm64", "ARM64", "arm", "armhf", "armel", "i386", "386",
          "i686", "riscv64", "s390x", "ppc64le"]  # fmt: skip
VARIANTS = ["", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "8", "7", "6", "5", "v8.2", "v9", "v9.1", "V7"]
OSES = ["linux", "Linux", "windows", "darwin", "macos", "freebsd"]

arch_st = st.sampled_from(ARCHES) | st.text("abcdefxyz0123456789_-", min_size=1, max_size=8)
variant_st = st.sampled_from(VARIANTS) | st.text("v0123456789.", max_size=5)
os_st = st.sampled_from(OSES)
plat_st = st.builds(Platform.normalized, os_st, arch_st, variant_st)


@given(os_st, arch_st, variant_st)
def test_normalisation_is_idempotent(os_: str, arch: str, variant: str) -> None:
    p = Platform.normalized(os_, arch, variant)
    assert Platform.normalized(p.os, p.architecture, p.variant) == p
    assert p.os == p.os.lower() and p.architecture == p.architecture.lower() and p.variant == p.variant.lower()


@given(plat_st)
def test_parse_reads_what_str_writes(p: Platform) -> None:
    if "." not in p.architecture and p.architecture and all(c.isalnum() or c in "_-." for c in p.variant):
        assert P(str(p)) == p


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("linux/aarch64", "linux/arm64"),
        ("linux/arm64/v8", "linux/arm64"),
        ("linux/arm64/8", "linux/arm64"),
        ("linux/x86_64", "linux/amd64"),
        ("linux/x86-64", "linux/amd64"),
        ("linux/amd64/v1", "linux/amd64"),
        ("linux/arm", "linux/arm/v7"),
        ("linux/arm/7", "linux/arm/v7"),
        ("linux/arm/6", "linux/arm/v6"),
        ("linux/armhf", "linux/arm/v7"),
        ("linux/armhf/v6", "linux/arm/v7"),  # containerd: armhf is v7 whatever the variant says
        ("linux/armel", "linux/arm/v6"),
        ("linux/i386", "linux/386"),
        ("MacOS/ARM64", "darwin/arm64"),
        ("Linux/AMD64/V3", "linux/amd64/v3"),
    ],
)
def test_containerd_aliases(alias: str, canonical: str) -> None:
    assert str(P(alias)) == canonical and P(alias) == P(canonical)


@pytest.mark.parametrize("bad", ["linux", "linux/", "/amd64", "linux/amd64/v2/x", "lin ux/amd64", "windows(1/amd64"])
def test_bad_specifiers_are_refused(bad: str) -> None:
    with pytest.raises(PlatformError, match="bad platform"):
        P(bad)


def test_windows_version_and_features_parse() -> None:
    p = P("windows(10.0.17763+win32k+a+win32k)/amd64")
    assert (p.os, p.os_version, p.os_features, str(p)) == ("windows", "10.0.17763", ("a", "win32k"), "windows/amd64")


def order(wanted: str) -> list[str]:
    return [str(p) for p in accepted(P(wanted))]


def test_containerd_vectors() -> None:
    assert order("linux/arm/v7") == ["linux/arm/v7", "linux/arm/v6", "linux/arm/v5"]
    assert order("linux/arm/v5") == ["linux/arm/v5"]
    assert order("linux/amd64") == ["linux/amd64", "linux/386"]
    assert order("linux/amd64/v3") == ["linux/amd64/v3", "linux/amd64/v2", "linux/amd64", "linux/386"]
    assert order("linux/arm64") == ["linux/arm64", "linux/arm/v8", "linux/arm/v7", "linux/arm/v6", "linux/arm/v5"]
    assert order("linux/arm64/v8.2")[:3] == ["linux/arm64/v8.2", "linux/arm64/v8.1", "linux/arm64"]
    assert order("linux/arm64/v9.2")[:9] == [
        "linux/arm64/v9.2", "linux/arm64/v9.1", "linux/arm64/v9", "linux/arm64/v8.7", "linux/arm64/v8.6",
        "linux/arm64/v8.5", "linux/arm64/v8.4", "linux/arm64/v8.3", "linux/arm64/v8.2",
    ]  # fmt: skip
    assert order("linux/arm64/v9.2")[-5:] == [
        "linux/arm64",
        "linux/arm/v8",
        "linux/arm/v7",
        "linux/arm/v6",
        "linux/arm/v5",
    ]


@given(plat_st)
def test_an_exact_entry_is_always_first(p: Platform) -> None:
    assert preference(p, p) == 0


@given(plat_st, plat_st)
def test_another_os_is_never_accepted(a: Platform, b: Platform) -> None:
    if a.os != b.os:
        assert preference(a, b) is None


@given(st.integers(5, 8), st.integers(5, 8))
def test_arm_runs_lower_variants_best_first(asked: int, present: int) -> None:
    rank = preference(P(f"linux/arm/v{present}"), P(f"linux/arm/v{asked}"))
    assert (rank is not None) == (present <= asked)
    if rank is not None:
        assert rank == asked - present


@given(st.integers(1, 4), st.integers(1, 4))
def test_amd64_levels(asked: int, present: int) -> None:
    wanted, entry = P(f"linux/amd64/v{asked}"), P(f"linux/amd64/v{present}")
    rank = preference(entry, wanted)
    assert (rank is not None) == (present <= asked or asked == 1)
    if present <= asked:
        assert rank == asked - present
        assert rank < (preference(P("linux/386"), wanted) or 0)  # 386 after every amd64 level
    elif asked == 1:  # past containerd: an unlevelled request takes the lowest level above v1
        assert rank is not None and rank > (preference(P("linux/386"), wanted) or 0)


def test_windows_entries() -> None:
    entry = Platform.from_dict({"os": "windows", "architecture": "amd64", "os.version": "10.0.17763.5329"})
    assert preference(entry, P("linux/amd64")) is None
    assert preference(entry, P("windows/amd64")) == 0
    assert preference(entry, P("windows(10.0.17763)/amd64")) == 0
    assert preference(entry, P("windows(10.0.20348)/amd64")) is None
    featured = Platform.from_dict({"os": "windows", "architecture": "amd64", "os.features": ["win32k"]})
    assert preference(featured, P("windows/amd64")) is None  # the entry needs a feature not asked for
    assert preference(featured, P("windows(+win32k)/amd64")) == 0


def desc(i: int) -> Descriptor:
    return Descriptor("application/vnd.oci.image.manifest.v1+json", "sha256:" + f"{i:064x}", 1)


PRESENT = ["windows/amd64", "linux/arm/v6", "linux/arm64/v8", "linux/amd64/v2", "linux/amd64/v3", "linux/386",
           "linux/arm/v5", "linux/s390x"]  # fmt: skip


ASKED = [*PRESENT, "linux/arm/v7", "linux/arm64", "linux/amd64", "linux/amd64/v4", "linux/arm64/v9"]


@given(st.lists(st.sampled_from(PRESENT), min_size=1, max_size=6, unique=True), st.sampled_from(ASKED), st.randoms())
def test_choice_is_the_best_ranked_whatever_the_index_order(
    present: list[str], wanted: str, rnd: random.Random
) -> None:
    entries = [(P(p), desc(i)) for i, p in enumerate(present)]
    ranks = {str(p): preference(p, P(wanted)) for p, _ in entries}
    shuffled = entries[:]
    rnd.shuffle(shuffled)
    if all(r is None for r in ranks.values()):
        with pytest.raises(PlatformError, match=f"no manifest for platform {P(wanted)} "):
            choose(shuffled, P(wanted), "index")
        return
    (chosen, _), notes = choose(shuffled, P(wanted), "index")
    best = min(r for r in ranks.values() if r is not None)
    assert ranks[str(chosen)] == best
    assert bool(notes) == (str(chosen) != str(P(wanted)))


def test_ties_go_to_the_first_listed() -> None:
    entries = [(P("linux/arm64"), desc(1)), (P("linux/arm64/v8"), desc(2))]
    assert choose(entries, P("linux/arm64"), "index")[0][1] == desc(1)


def test_unplatformed_entries_come_after_every_match() -> None:
    entries: list[tuple[Platform | None, Descriptor]] = [(None, desc(1)), (P("linux/arm/v6"), desc(2))]
    assert choose(entries, P("linux/arm/v7"), "index")[0][1] == desc(2)
    assert choose(entries, P("linux/s390x"), "index")[0][1] == desc(1)


@given(st.text(max_size=40))
def test_any_specifier_parses_or_is_one_clear_error(text: str) -> None:
    try:
        p = P(text)
    except PlatformError as err:
        assert str(err).startswith("bad platform")
    else:
        assert p.os and p.architecture and P(str(p)).architecture == p.architecture


@given(st.dictionaries(st.sampled_from(["os", "architecture", "variant", "os.version", "os.features"]),
                       st.none() | st.integers() | st.text(max_size=8) | st.lists(st.text(max_size=4))))  # fmt: skip
def test_any_index_platform_reads_and_ranks(d: dict[str, object]) -> None:
    p = Platform.from_dict(d)
    assert preference(p, P("linux/amd64")) is None or p.os == "linux"
