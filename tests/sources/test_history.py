"""Config history <-> layers (moby's rule; align from the top when the counts disagree)."""

from __future__ import annotations

import json

from layerscope.api import open_image
from layerscope.sources.builder import align_history
from tests.support.factory import ImageSpec, f, layer_tar


def H(created_by: str, empty: bool | None = None, **kw: object) -> dict[str, object]:
    h: dict[str, object] = {"created_by": created_by, "created": "2024-01-01T00:00:00Z", **kw}
    if empty is not None:
        h["empty_layer"] = empty
    return h


def layers_of(entries):
    return [h.layer_index for h in entries]


def test_history_with_empty_layer_entries():
    hist = [H("FROM base"), H("ENV A=1", True), H("RUN make"), H("LABEL x=y", True), H("CMD sh", True)]
    entries, aligned = align_history(hist, 2)
    assert aligned
    assert layers_of(entries) == [0, None, 1, None, None]
    assert [h.empty_layer for h in entries] == [False, True, False, True, True]
    assert [h.index for h in entries] == [0, 1, 2, 3, 4]
    assert entries[2].created_by == "RUN make" and entries[2].created == "2024-01-01T00:00:00Z"


def test_history_without_empty_layer_flags():
    entries, aligned = align_history([H("ADD rootfs"), H("RUN a"), H("RUN b", False)], 3)
    assert aligned and layers_of(entries) == [0, 1, 2]


def test_more_history_than_layers_aligns_from_the_top():
    hist = [H("lost 1"), H("lost 2"), H("ENV", True), H("RUN x"), H("RUN y")]
    entries, aligned = align_history(hist, 2)
    assert not aligned
    assert layers_of(entries) == [None, None, None, 0, 1]


def test_fewer_history_entries_than_layers():
    hist = [H("RUN top-1"), H("CMD", True), H("RUN top")]
    entries, aligned = align_history(hist, 4)
    assert not aligned
    assert layers_of(entries) == [2, None, 3]


def test_no_history_at_all():
    assert align_history([], 3) == ((), False)
    assert align_history([], 0) == ((), True)


def test_docker_import_history():
    # `docker import` writes one entry, without created_by, for its one layer.
    entries, aligned = align_history([{"created": "2024-05-01T00:00:00Z", "comment": "Imported from -"}], 1)
    assert aligned
    (h,) = entries
    assert (h.layer_index, h.created_by, h.comment, h.empty_layer) == (0, None, "Imported from -", False)


def test_odd_history_entries():
    hist = ["not a dict", {"created_by": 42, "author": "me", "comment": None}, H("only empties", True)]
    entries, aligned = align_history(hist, 2)
    assert aligned and layers_of(entries) == [0, 1, None]
    assert entries[1].created_by is None and entries[1].author == "me"


def test_all_empty_history_for_an_image_with_layers():
    entries, aligned = align_history([H("ENV", True), H("CMD", True)], 1)
    assert not aligned and layers_of(entries) == [None, None]


# -- through a real image ------------------------------------------------------------------


def _image(tmp_path, history, n_layers=2):
    layers = [layer_tar([f(f"file{i}", b"x" * (i + 1))]) for i in range(n_layers)]
    spec = ImageSpec(layers, history=history)
    return spec.docker_archive(str(tmp_path / "img.tar"))


def test_layers_carry_their_history_entry(tmp_path):
    path = _image(tmp_path, [H("COPY a", comment="buildkit"), H("ENV X=1", True), H("RUN b")])
    img = open_image(path)
    assert img.history_aligned
    assert [(la.created_by, la.history_index) for la in img.layers] == [("COPY a", 0), ("RUN b", 2)]
    assert not any("history" in n for n in img.notes)


def test_unaligned_history_is_noted_and_matched_from_the_top(tmp_path):
    path = _image(tmp_path, [H("one"), H("two"), H("three")])
    img = open_image(path)
    assert not img.history_aligned
    assert [la.created_by for la in img.layers] == ["two", "three"]
    assert any("history has 3 non-empty entries for 2 layers" in n for n in img.notes)


def test_missing_history_leaves_layers_unknown(tmp_path, run_cli):
    spec = ImageSpec([layer_tar([f("a", b"1")])], history=None)
    spec.config_extra = {"history": None}
    path = spec.docker_archive(str(tmp_path / "img.tar"))
    img = open_image(path)
    assert img.history == () and not img.history_aligned
    assert img.layers[0].created_by is None and img.layers[0].history_index is None
    r = run_cli("inspect", "--json", path)
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["history"] == [] and doc["layers"][0]["history_index"] is None


def test_inspect_json_history_includes_empty_layers(tmp_path, run_cli):
    path = _image(tmp_path, [H("FROM x"), H("ENV A=1", True), H("RUN y"), H("CMD z", True)])
    r = run_cli("inspect", "--json", path)
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert [(h["created_by"], h["empty_layer"], h["layer_index"]) for h in doc["history"]] == [
        ("FROM x", False, 0),
        ("ENV A=1", True, None),
        ("RUN y", False, 1),
        ("CMD z", True, None),
    ]
    assert [la["history_index"] for la in doc["layers"]] == [0, 2]


def test_history_that_is_not_a_list_is_ignored(tmp_path):
    spec = ImageSpec([layer_tar([f("a", b"1")])])
    spec.config_extra = {"history": "RUN everything"}
    img = open_image(spec.docker_archive(str(tmp_path / "img.tar")))
    assert img.history == () and img.layers[0].created_by is None
