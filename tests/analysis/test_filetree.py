"""Stacking layers as the OCI spec applies them, and who pays for every hidden byte.

Each layer is a real tar (tarfile's writer) read by read_layer, so the whiteout markers
go through the same classification as in an image.
"""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layerscope.analysis.filetree import FileTree, stack
from layerscope.layers.reader import read_layer
from layerscope.model import DIR, FILE, HARDLINK, SYMLINK, LayerRecord, WasteEntry
from tests.support.factory import Entry, d, f, hard, layer_tar, opq, sym, wh
from tests.support.tarcraft import end, entry, header


def record(entries: list[Entry] | bytes) -> LayerRecord:
    raw = entries if isinstance(entries, bytes) else layer_tar(entries)
    return read_layer(io.BytesIO(raw))


def build(*layers: list[Entry] | bytes) -> tuple[FileTree, list[LayerRecord]]:
    records = [record(layer) for layer in layers]
    tree = stack(records)
    size = sum(r.size for r in records)
    # The accounting identity every case must keep: each byte is either final or a waste row.
    assert size - tree.final_size == sum(w.bytes for w in tree.dead), (size, tree.final_size, tree.dead)
    # The running totals agree with a count over the finished tree.
    assert tree.final_size == sum(tree.inode_size[k] for k, _names in tree.live_inodes())
    assert tree.final_files == sum(1 for n in tree.nodes.values() if n.record.type in (FILE, HARDLINK))
    return tree, records


def visible(tree: FileTree) -> dict[str, tuple[str, int, int]]:
    """path -> (type, size, layer) of what the final filesystem shows."""
    return {p: (n.record.type, n.record.size, n.layer) for p, n in tree.nodes.items()}


def waste(tree: FileTree) -> list[tuple[str, int, int, int, str]]:
    return sorted((w.path, w.bytes, w.layer, w.hidden_by, w.reason) for w in tree.dead)


B = b"x"


# -- whiteouts -----------------------------------------------------------------------------


def test_whiteout_of_a_file():
    tree, _ = build([f("a", B * 100), f("b", B * 10)], [wh("a")])
    assert visible(tree) == {"b": (FILE, 10, 0)}
    assert tree.final_size == 10
    assert tree.dead == [WasteEntry("a", 100, 0, 1, "deleted")]


def test_whiteout_of_a_directory_hides_its_whole_subtree():
    tree, _ = build([d("dir"), f("dir/x", B * 5), d("dir/sub"), f("dir/sub/y", B * 7), f("keep", B)], [wh("dir")])
    assert visible(tree) == {"keep": (FILE, 1, 0)}
    assert waste(tree) == [("dir/sub/y", 7, 0, 1, "deleted"), ("dir/x", 5, 0, 1, "deleted")]


def test_whiteout_then_the_same_name_again_in_the_same_layer():
    tree, _ = build([d("dir"), f("dir/x", B * 3)], [wh("dir"), d("dir"), f("dir/y", B)])
    assert visible(tree) == {"dir": (DIR, 0, 1), "dir/y": (FILE, 1, 1)}
    assert waste(tree) == [("dir/x", 3, 0, 1, "deleted")]


@pytest.mark.parametrize("marker_first", [True, False])
def test_opaque_dir_then_re_add_in_the_same_layer(marker_first):
    lower = [d("dir"), f("dir/a", B * 1), f("dir/b", B * 2), d("dir/sub"), f("dir/sub/c", B * 4), f("other", B * 8)]
    upper = [d("dir"), f("dir/a", B * 16), d("dir/new"), f("dir/new/n", B * 32)]
    upper = [opq("dir"), *upper] if marker_first else [*upper, opq("dir")]
    tree, _ = build(lower, upper)
    assert visible(tree) == {
        "dir": (DIR, 0, 1),
        "dir/a": (FILE, 16, 1),
        "dir/new": (DIR, 0, 1),
        "dir/new/n": (FILE, 32, 1),
        "other": (FILE, 8, 0),
    }
    assert waste(tree) == [
        ("dir/a", 1, 0, 1, "deleted"),
        ("dir/b", 2, 0, 1, "deleted"),
        ("dir/sub/c", 4, 0, 1, "deleted"),
    ]
    assert tree.final_size == 56


def test_opaque_dir_keeps_the_same_layers_earlier_children():
    # Whiteouts apply to lower layers only: the opaque marker after `dir/mine` keeps it.
    tree, _ = build([f("dir/old", B * 2)], [f("dir/mine", B * 3), opq("dir")])
    assert visible(tree)["dir/mine"] == (FILE, 3, 1) and "dir/old" not in tree.nodes


def test_whiteout_placed_after_same_layer_additions_in_tar_order():
    lower = [f("p", B * 9), f("q", B * 4)]
    upper = [f("p", B * 5), f("new", B * 6), wh("p"), wh("new"), wh("q")]
    tree, _ = build(lower, upper)
    assert visible(tree) == {"p": (FILE, 5, 1), "new": (FILE, 6, 1)}
    assert waste(tree) == [("p", 9, 0, 1, "deleted"), ("q", 4, 0, 1, "deleted")]


def test_opaque_root():
    tree, _ = build([f("a", B * 2), d("d"), f("d/b", B * 3)], [f(".wh..wh..opq"), f("c", B)])
    assert visible(tree) == {"c": (FILE, 1, 1)}
    assert [w.reason for w in tree.dead] == ["deleted", "deleted"]


def test_dangling_whiteouts_change_nothing():
    tree, _ = build([f("a", B * 3)], [wh("missing"), wh("a/below-a-file"), opq("nodir"), wh("x/y/z")])
    assert visible(tree) == {"a": (FILE, 3, 0)} and tree.dead == []


def test_whiteout_in_the_same_layer_as_the_file_is_not_applied_to_it():
    tree, _ = build([f("solo", B * 3), wh("solo")])
    assert visible(tree) == {"solo": (FILE, 3, 0)} and tree.dead == []


def test_whiteout_of_a_symlink_does_not_follow_it():
    tree, _ = build([d("real"), f("real/f", B * 4), sym("link", "real")], [wh("link")])
    assert visible(tree) == {"real": (DIR, 0, 0), "real/f": (FILE, 4, 0)} and tree.dead == []


# -- replacing paths -----------------------------------------------------------------------


def test_file_overwritten_in_a_later_layer():
    tree, _ = build([f("a", B * 10)], [f("a", B * 20)], [f("a", B * 30)])
    assert visible(tree) == {"a": (FILE, 30, 2)}
    assert waste(tree) == [("a", 10, 0, 1, "overwritten"), ("a", 20, 1, 2, "overwritten")]


def test_file_replacing_a_directory_hides_everything_below():
    tree, _ = build([d("d"), f("d/x", B * 3), d("d/s"), f("d/s/y", B * 4)], [f("d", B)])
    assert visible(tree) == {"d": (FILE, 1, 1)}
    assert waste(tree) == [("d/s/y", 4, 0, 1, "overwritten"), ("d/x", 3, 0, 1, "overwritten")]


def test_directory_replacing_a_file():
    tree, _ = build([f("d", B * 6)], [d("d"), f("d/z", B * 2)])
    assert visible(tree) == {"d": (DIR, 0, 1), "d/z": (FILE, 2, 1)}
    assert waste(tree) == [("d", 6, 0, 1, "overwritten")]


def test_a_file_where_a_parent_directory_is_needed():
    tree, _ = build([f("a", B * 5)], [f("a/b", B)])
    assert visible(tree) == {"a": (DIR, 0, 1), "a/b": (FILE, 1, 1)}
    assert tree.nodes["a"].implicit
    assert waste(tree) == [("a", 5, 0, 1, "overwritten")]


def test_symlink_replacing_a_directory_and_a_file():
    tree, _ = build([d("lib"), f("lib/a.so", B * 5), f("bin", B * 7)], [sym("lib", "usr/lib"), sym("bin", "usr/bin")])
    assert visible(tree) == {"lib": (SYMLINK, 0, 1), "bin": (SYMLINK, 0, 1)}
    assert waste(tree) == [("bin", 7, 0, 1, "overwritten"), ("lib/a.so", 5, 0, 1, "overwritten")]


def test_file_replacing_a_symlink():
    tree, _ = build([sym("s", "target"), f("target", B * 2)], [f("s", B * 3)])
    assert visible(tree) == {"s": (FILE, 3, 1), "target": (FILE, 2, 0)} and tree.dead == []


def test_directory_over_directory_merges():
    tree, _ = build([d("dir"), f("dir/a", B * 2)], [d("dir", mode=0o700), f("dir/b", B)])
    assert visible(tree) == {"dir": (DIR, 0, 1), "dir/a": (FILE, 2, 0), "dir/b": (FILE, 1, 1)}
    assert tree.nodes["dir"].record.mode == 0o700 and tree.dead == []


def test_missing_parents_are_created_implicitly():
    tree, _ = build([f("a/b/c", B * 5)])
    assert visible(tree) == {"a": (DIR, 0, 0), "a/b": (DIR, 0, 0), "a/b/c": (FILE, 5, 0)}
    assert tree.nodes["a"].implicit and tree.nodes["a/b"].implicit
    tree, _ = build([f("a/b/c", B * 5)], [d("a")])
    assert not tree.nodes["a"].implicit and tree.nodes["a"].layer == 1


# -- duplicates inside one layer -----------------------------------------------------------


def test_duplicate_path_inside_one_layer_last_wins():
    tree, _ = build([f("p", B * 10), f("q", B), f("p", B * 20)])
    assert visible(tree) == {"p": (FILE, 20, 0), "q": (FILE, 1, 0)}
    assert tree.dead == [WasteEntry("p", 10, 0, 0, "overwritten")]


def test_duplicate_path_inside_one_layer_after_a_hardlink_to_the_first_copy():
    # `q` is a second name of the first `p`; the second `p` is a new file.
    tree, _ = build([f("p", B * 10), hard("q", "p"), f("p", B * 20)])
    assert tree.final_size == 30 and tree.dead == []


def test_duplicate_directory_then_file_in_one_layer():
    tree, _ = build([d("x"), f("x/in", B * 4), f("x", B * 2)])
    assert visible(tree) == {"x": (FILE, 2, 0)}
    assert tree.dead == [WasteEntry("x/in", 4, 0, 0, "overwritten")]


# -- hardlinks -----------------------------------------------------------------------------


def test_hardlink_whose_other_name_is_deleted_keeps_the_bytes():
    tree, _ = build([f("a", B * 50), hard("b", "a")], [wh("a")])
    assert visible(tree) == {"b": (HARDLINK, 0, 0)}
    assert tree.final_size == 50 and tree.dead == []


def test_hardlink_group_fully_deleted_is_counted_once():
    tree, _ = build([f("a", B * 50), hard("b", "a"), hard("c", "a")], [wh("a"), wh("b"), wh("c")])
    assert tree.final_size == 0
    assert tree.dead == [WasteEntry("a", 50, 0, 1, "deleted")]


def test_hardlink_group_deleted_over_two_layers_is_charged_to_the_last():
    tree, _ = build([f("a", B * 50), hard("b", "a")], [wh("a")], [f("b", B * 2)])
    assert tree.final_size == 2
    assert tree.dead == [WasteEntry("a", 50, 0, 2, "overwritten")]


def test_hardlink_group_inside_a_deleted_directory():
    tree, _ = build([d("d"), f("d/a", B * 9), hard("d/b", "d/a"), hard("top", "d/a")], [wh("d")])
    assert tree.final_size == 9 and tree.dead == []
    tree, _ = build([d("d"), f("d/a", B * 9), hard("d/b", "d/a")], [wh("d")])
    assert tree.final_size == 0 and tree.dead == [WasteEntry("d/a", 9, 0, 1, "deleted")]


def test_hardlink_to_a_lower_layer_file():
    tree, _ = build([f("a", B * 30)], [hard("b", "a")], [wh("a")])
    assert tree.final_size == 30 and tree.dead == []
    tree, _ = build([f("a", B * 30)], [hard("b", "a")], [wh("a")], [wh("b")])
    assert tree.dead == [WasteEntry("a", 30, 0, 3, "deleted")]


def test_hardlink_to_a_missing_target_holds_no_bytes():
    tree, _ = build([hard("orphan", "nowhere"), f("x", B)])
    assert tree.final_size == 1 and visible(tree)["orphan"] == (HARDLINK, 0, 0)


def test_final_files_counts_regular_files_and_hardlinks():
    tree, _ = build([f("a", B), hard("b", "a"), sym("c", "a"), d("e"), f("e/empty")])
    assert tree.final_files == 3


# -- symlinks, empty layers, empty files ---------------------------------------------------


def test_symlinks_hold_no_bytes():
    tree, recs = build([sym("s1", "/etc/passwd"), sym("s2", "x" * 300)], [wh("s1")])
    assert recs[0].size == 0 and tree.final_size == 0 and tree.dead == []


def test_empty_layers_change_nothing():
    tree, recs = build([f("a", B * 4)], [], layer_tar([]), [f("b", B)], [])
    assert [r.size for r in recs] == [4, 0, 0, 1, 0]
    assert visible(tree) == {"a": (FILE, 4, 0), "b": (FILE, 1, 3)}
    tree, _ = build([], [])
    assert tree.nodes == {} and tree.final_size == 0


def test_empty_files_overwritten_leave_no_waste_rows():
    tree, _ = build([f("e"), f("g")], [f("e"), wh("g")])
    assert tree.dead == [] and visible(tree)["e"] == (FILE, 0, 1)


# -- hand-made oddities --------------------------------------------------------------------


def test_header_only_entries_with_a_size_keep_the_identity():
    # A symlink and a directory whose headers say 1000 bytes (no data follows them).
    raw = header("s", typeflag=b"2", size=1000, linkname="t") + header("dir/", typeflag=b"5", size=700)
    raw += entry("dir/f", B * 3) + end()
    over = header("dir/", typeflag=b"5", size=50) + header("s", typeflag=b"2", size=20, linkname="u") + end()
    build(raw, over)


def test_a_realistic_sequence():
    """Base, install, cleanup and overwrite steps like a Dockerfile's, with exact figures."""
    base = [d("usr"), d("usr/bin"), f("usr/bin/python", B * 1000), hard("usr/bin/python3", "usr/bin/python")]
    base += [d("etc"), f("etc/os-release", B * 10), sym("bin", "usr/bin")]
    install = [d("var"), d("var/cache"), d("var/cache/apt"), f("var/cache/apt/pkg.deb", B * 500)]
    install += [d("app"), f("app/main.py", B * 40), f("app/data.bin", B * 300)]
    cleanup = [opq("var/cache/apt"), wh("app/data.bin"), f("app/main.py", B * 45)]
    retag = [wh("usr/bin/python"), f("etc/os-release", B * 12)]
    tree, recs = build(base, install, cleanup, retag)
    assert [r.size for r in recs] == [1010, 840, 45, 12]
    assert tree.final_size == 1000 + 12 + 45
    assert waste(tree) == [
        ("app/data.bin", 300, 1, 2, "deleted"),
        ("app/main.py", 40, 1, 2, "overwritten"),
        ("etc/os-release", 10, 0, 3, "overwritten"),
        ("var/cache/apt/pkg.deb", 500, 1, 2, "deleted"),
    ]
    assert tree.final_files == 3  # python3 (its other name gone), os-release, main.py


# -- property: an independent, sequential model of extraction ------------------------------

_PATHS = ["a", "a/b", "a/b/c", "a/d", "e", "e/f", "g"]


@st.composite
def layer_specs(draw: st.DrawFn) -> list[list[tuple[str, str, int, str]]]:
    """Layers of (kind, path, size, link target); kinds: file dir sym hard wh opq."""
    kinds = st.sampled_from(["file", "file", "file", "dir", "dir", "sym", "hard", "hard", "wh", "opq"])
    entry_ = st.tuples(kinds, st.sampled_from(_PATHS), st.integers(0, 50), st.sampled_from(_PATHS))
    return draw(st.lists(st.lists(entry_, max_size=8), min_size=1, max_size=5))


def _drop(state: dict[str, tuple[str, int | None]], path: str) -> None:
    for p in [p for p in state if p == path or p.startswith(path + "/")]:
        del state[p]


def reference(specs):
    """Apply layers the way an extractor does, one entry at a time, after the whiteouts.

    Returns the visible paths with their types, the final bytes (each file version once)
    and the layers as Entry lists, without hardlinks an extractor could not create.
    """
    state: dict[str, tuple[str, int | None]] = {}  # path -> (type, version id)
    sizes: dict[int, int] = {}
    layers = []
    for spec in specs:
        for kind, path, _, _ in spec:
            if kind == "wh":
                _drop(state, path)
            elif kind == "opq":
                for p in [p for p in state if p.startswith(path + "/")]:
                    del state[p]
        entries = []
        for kind, path, size, target in spec:
            if kind in ("wh", "opq"):
                entries.append(wh(path) if kind == "wh" else opq(path))
                continue
            before = dict(state)
            parts = path.split("/")
            for i in range(1, len(parts)):
                anc = "/".join(parts[:i])
                if anc in state and state[anc][0] != DIR:
                    _drop(state, anc)
                state.setdefault(anc, (DIR, None))
            if kind == "dir" and state.get(path, ("",))[0] == DIR:
                entries.append(d(path))
                continue
            _drop(state, path)
            if kind == "hard":
                if target not in state or state[target][1] is None:
                    state = before  # no file to link to: an extractor would fail; not generated
                    continue
                state[path] = (HARDLINK, state[target][1])
                entries.append(hard(path, target))
            elif kind == "file":
                vid = len(sizes)
                sizes[vid] = size
                state[path] = (FILE, vid)
                entries.append(f(path, B * size))
            elif kind == "sym":
                state[path] = (SYMLINK, None)
                entries.append(sym(path, target))
            else:
                state[path] = (DIR, None)
                entries.append(d(path))
        layers.append(entries)
    final = sum(sizes[v] for v in {vid for _, vid in state.values() if vid is not None})
    return {p: t for p, (t, _) in state.items()}, final, layers


@settings(max_examples=300, deadline=None)
@given(specs=layer_specs())
def test_stacking_matches_a_sequential_extraction(specs):
    types, final, layers = reference(specs)
    tree, _ = build(*layers)  # asserts size - final_size == sum of waste rows
    assert {p: n.record.type for p, n in tree.nodes.items()} == types
    assert tree.final_size == final
    for w in tree.dead:
        assert w.layer <= w.hidden_by and w.bytes > 0 and w.reason in ("overwritten", "deleted")
