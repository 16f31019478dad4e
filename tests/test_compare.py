"""`compare A B` and `layerscope.compare`: alignment, packages, categories, the saving."""

from __future__ import annotations

import json

import layerscope
from tests.support.dists import dist
from tests.support.factory import ImageSpec, d, f, layer_tar, wh
from tests.support.samples import sample

BASE0 = layer_tar([d("etc"), f("etc/os-release", b"base" * 100)])
BASE1 = layer_tar([d("usr"), f("usr/tool", b"t" * 2000)])


def _archive(tmp_path, name, layers, history=None):
    return ImageSpec(layers, history=history).docker_archive(str(tmp_path / f"{name}.tar"))


def _pairs(c):
    return [(r.a_index, r.b_index, r.diff_id is not None) for r in c.layers]


def test_identical_images(tmp_path):
    a = _archive(tmp_path, "a", [BASE0, BASE1])
    c = layerscope.compare(a, a)
    assert _pairs(c) == [(0, 0, True), (1, 1, True)]
    assert (c.shared_count, c.shared_bytes) == (2, 2400)
    assert (c.saving.bytes, c.saving.final_bytes, c.saving.compressed_bytes, c.saving.percent) == (0, 0, 0, 0.0)


def test_same_base_then_a_diverging_tail(tmp_path):
    a = _archive(tmp_path, "a", [BASE0, BASE1, layer_tar([f("app/big", b"x" * 5000)])])
    b = _archive(tmp_path, "b", [BASE0, BASE1, layer_tar([f("app/small", b"y" * 300)]), layer_tar([f("app/c", b"z")])])
    c = layerscope.compare(a, b)
    assert _pairs(c) == [(0, 0, True), (1, 1, True), (2, None, False), (None, 2, False), (None, 3, False)]
    rows = c.layers
    assert (rows[2].a_size, rows[2].b_size) == (5000, None)
    assert (rows[3].a_size, rows[3].b_size) == (None, 300)
    assert rows[0].diff_id == c.a.image.layers[0].diff_id
    assert (c.shared_count, c.shared_bytes) == (2, 2400)
    assert c.saving.bytes == 5000 - 301
    assert c.saving.percent == round(100 * 4699 / 7400, 2)


def test_disjoint_images(tmp_path):
    a = _archive(tmp_path, "a", [layer_tar([f("a", b"1" * 10)])])
    b = _archive(tmp_path, "b", [layer_tar([f("b", b"2" * 30)])])
    c = layerscope.compare(a, b)
    assert _pairs(c) == [(0, None, False), (None, 0, False)]
    assert (c.shared_count, c.shared_bytes) == (0, 0)
    assert c.saving.bytes == -20 and c.saving.percent == -200.0


def test_a_layer_shared_after_the_tails_diverge_is_matched(tmp_path):
    common = layer_tar([f("srv/config", b"c" * 40)])
    a = _archive(tmp_path, "a", [BASE0, layer_tar([f("x", b"1")]), common])
    b = _archive(tmp_path, "b", [BASE0, layer_tar([f("y", b"22")]), common])
    c = layerscope.compare(a, b)
    assert _pairs(c) == [(0, 0, True), (1, None, False), (None, 1, False), (2, 2, True)]
    assert c.shared_count == 1  # the common base only


def test_compare_json_has_exactly_the_contract_fields(tmp_path, run_cli):
    a = _archive(
        tmp_path, "a", [BASE0, layer_tar([f("app/x", b"1" * 500), f("app/y", b"2")]), layer_tar([wh("app/x")])]
    )
    b = _archive(tmp_path, "b", [BASE0, layer_tar([f("app/y", b"2")])])
    r = run_cli("compare", "--json", a, b)
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert set(doc) == {"schema", "a", "b", "shared_layers", "layers", "packages", "categories", "saving"}
    assert doc["schema"] == "layerscope.compare/1"
    assert set(doc["a"]) == {"reference", "totals"} and doc["a"]["reference"] == a and doc["b"]["reference"] == b
    inspect = json.loads(run_cli("inspect", "--json", a).out)
    assert doc["a"]["totals"] == inspect["totals"]
    assert doc["shared_layers"] == {"count": 1, "bytes": 400}
    assert [set(x) for x in doc["layers"]] == [{"a_index", "b_index", "diff_id", "a_size", "b_size"}] * 4
    assert [(x["a_index"], x["b_index"]) for x in doc["layers"]] == [(0, 0), (1, None), (2, None), (None, 1)]
    assert doc["saving"] == {
        "bytes": 500,
        "compressed_bytes": inspect["totals"]["compressed_size"]
        - json.loads(run_cli("inspect", "--json", b).out)["totals"]["compressed_size"],
        "final_bytes": 0,
        "percent": round(100 * 500 / 901, 2),
    }
    assert [x["name"] for x in doc["categories"]][:3] == ["python-packages", "os-packages", "app"]
    assert all(set(x) == {"name", "a_bytes", "b_bytes", "delta"} for x in doc["categories"])
    assert doc["packages"] == []  # no package in either image


def test_compare_text_and_errors(tmp_path, run_cli):
    a = _archive(tmp_path, "a", [BASE0, layer_tar([f("big", b"x" * 3000)])])
    b = _archive(tmp_path, "b", [BASE0])
    r = run_cli("compare", a, b)
    assert r.code == 0, r.err
    assert "B saves 3.0 kB" in r.out and "Shared     1 base layers" in r.out and "A only" in r.out
    bad = run_cli("compare", a, str(tmp_path / "missing.tar"))
    assert bad.code == 2 and bad.err.count("\n") == 1 and "Traceback" not in bad.err


def test_packages_and_categories_differences(tmp_path):
    site = {"alpha/__init__.py": b"a" * 1000}
    a = _archive(
        tmp_path,
        "a",
        [BASE0, layer_tar(dist("alpha", "1.0", site) + dist("beta", "0.1", {"beta.py": b"b" * 400}))],
    )
    b = _archive(tmp_path, "b", [BASE0, layer_tar(dist("alpha", "2.0", {"alpha/__init__.py": b"a" * 1500}))])
    c = layerscope.compare(a, b)
    rows = {p.name: p for p in c.packages}
    assert (rows["alpha"].a_version, rows["alpha"].b_version) == ("1.0", "2.0")
    assert rows["alpha"].delta == rows["alpha"].b_size - rows["alpha"].a_size > 0
    assert (rows["beta"].b_version, rows["beta"].b_size) == (None, 0) and rows["beta"].delta < 0
    cats = {x.name: x for x in c.categories}
    assert [x.name for x in c.categories][:3] == ["python-packages", "os-packages", "app"]
    assert sum(x.delta for x in c.categories) == -c.saving.final_bytes
    assert cats["python-packages"].delta == sum(p.delta for p in c.packages)
    df = c.packages_df()
    assert list(df.columns) == ["ecosystem", "name", "a_version", "b_version", "a_size", "b_size", "delta"]
    assert c.categories_df()["delta"].sum() == -c.saving.final_bytes


def test_comparison_frames(tmp_path):
    a = _archive(tmp_path, "a", [BASE0, layer_tar([f("x", b"1")])])
    b = _archive(tmp_path, "b", [BASE0])
    c = layerscope.compare(a, b)
    html = c._repr_html_()
    assert "B saves <strong>1 B</strong>" in html and "Shared base: 1 layer," in html
    assert repr(c).startswith("Comparison(a=") and "saving_bytes=1" in repr(c)
    df = c.layers_df()
    assert list(df.columns) == ["a_index", "b_index", "diff_id", "shared", "a_size", "b_size"]
    assert df["shared"].tolist() == [True, False] and str(df["b_index"].dtype) == "Int64"


def test_fat_against_slim_sample_images(run_cli):
    fat, slim = sample("fat"), sample("slim")
    r = run_cli("compare", "--json", str(fat), str(slim))
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    ta, tb = doc["a"]["totals"], doc["b"]["totals"]
    # both are built on the same one-layer busybox base; what follows differs
    assert doc["shared_layers"]["count"] >= 1
    assert doc["layers"][0]["diff_id"] is not None and doc["layers"][0]["a_size"] == doc["layers"][0]["b_size"]
    assert doc["shared_layers"]["bytes"] == sum(x["a_size"] for x in doc["layers"][: doc["shared_layers"]["count"]])
    assert doc["saving"]["bytes"] == ta["size"] - tb["size"] > 0
    assert doc["saving"]["final_bytes"] == ta["final_size"] - tb["final_size"] > 0
    assert doc["saving"]["percent"] == round(100 * doc["saving"]["bytes"] / ta["size"], 2)
    assert tb["wasted_bytes"] < ta["wasted_bytes"]  # no chown -R rewrite of /app in slim
    wheel = next(p for p in doc["packages"] if p["name"] == "wheel")
    assert wheel["b_version"] is None and wheel["delta"] == -wheel["a_size"] < 0
    same = [p for p in doc["packages"] if p["name"] in ("requests", "urllib3", "idna", "certifi")]
    assert len(same) == 4 and all(p["delta"] == 0 and p["a_version"] == p["b_version"] for p in same)
    cats = {x["name"]: x for x in doc["categories"]}
    assert cats["build-toolchains"]["b_bytes"] == 0 and cats["build-toolchains"]["delta"] == wheel["delta"]
    assert cats["python-packages"]["delta"] == 0
    assert sum(x["delta"] for x in doc["categories"]) == -doc["saving"]["final_bytes"]
