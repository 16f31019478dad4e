"""The notebook API's DataFrames, on images crafted here: columns, dtypes and values."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

import layerscope
from tests.conftest import REPO
from tests.support.dists import SITE, dist
from tests.support.factory import ImageSpec, d, f, hard, layer_tar, sym, wh

HISTORY = [
    {"created_by": "COPY app/ /app/", "created": "2024-01-01T00:00:00Z"},
    {"created_by": "ENV A=1", "created": "2024-01-02T00:00:00Z", "empty_layer": True},
    {"created_by": "RUN rm /app/a && echo > /app/keep", "created": "2024-01-03T10:30:00Z"},
]


@pytest.fixture
def analysis(tmp_path):
    layer0 = layer_tar(
        [d("app"), f("app/a", b"x" * 100), f("app/keep", b"k" * 7), hard("app/link", "app/keep"), sym("app/s", "a")]
    )
    layer1 = layer_tar([wh("app/a"), f("app/b", b"yy"), f("app/keep", b"n" * 9)])
    path = ImageSpec([layer0, layer1], history=HISTORY).docker_archive(str(tmp_path / "img.tar"))
    return layerscope.analyze(path)


def test_layers_df(analysis):
    df = analysis.layers_df()
    assert list(df.columns) == [
        "index",
        "digest",
        "diff_id",
        "media_type",
        "size",
        "compressed_size",
        "files",
        "visible_bytes",
        "hidden_bytes",
        "hides_bytes",
        "created_by",
        "created",
        "history_index",
    ]
    assert str(df["index"].dtype) == "int64"
    for col in ("size", "compressed_size", "files", "visible_bytes", "hidden_bytes", "hides_bytes", "history_index"):
        assert str(df[col].dtype) == "Int64", col
    assert str(df["created"].dtype) == "datetime64[ns, UTC]" or str(df["created"].dtype).endswith(", UTC]")
    assert df["size"].tolist() == [107, 11]
    # the hardlink keeps app/keep's first version alive; app/a (100 bytes) is deleted
    assert df["visible_bytes"].tolist() == [7, 11]
    assert df["hidden_bytes"].tolist() == [100, 0]
    assert df["hides_bytes"].tolist() == [0, 100]
    assert (df["visible_bytes"] + df["hidden_bytes"]).tolist() == df["size"].tolist()
    assert df["created_by"].tolist() == ["COPY app/ /app/", "RUN rm /app/a && echo > /app/keep"]
    assert df["history_index"].tolist() == [0, 2]
    assert df["created"][1] == pd.Timestamp("2024-01-03T10:30:00Z")
    assert df["diff_id"].tolist() == [layer.diff_id for layer in analysis.image.layers]


def test_files_df(analysis):
    df = analysis.files_df()
    assert list(df.columns) == [
        "layer",
        "path",
        "type",
        "size",
        "mode",
        "uid",
        "gid",
        "mtime",
        "linkname",
        "visible",
        "hidden_by",
    ]
    assert df.dtypes["size"] == "int64" and df.dtypes["visible"] == "bool" and str(df.dtypes["hidden_by"]) == "Int64"
    rows = {(r.layer, r.path): r for r in df.itertuples()}
    assert set(rows) == {
        (0, "app"),
        (0, "app/a"),
        (0, "app/keep"),
        (0, "app/link"),
        (0, "app/s"),
        (1, "app/b"),
        (1, "app/keep"),
    }
    assert rows[(0, "app/a")].size == 100 and not rows[(0, "app/a")].visible and rows[(0, "app/a")].hidden_by == 1
    assert not rows[(0, "app/keep")].visible
    assert pd.isna(rows[(0, "app/keep")].hidden_by)  # its bytes live on through app/link
    assert rows[(0, "app/link")].type == "hardlink" and rows[(0, "app/link")].linkname == "app/keep"
    assert rows[(0, "app/s")].type == "symlink" and rows[(0, "app/s")].linkname == "a" and rows[(0, "app/s")].visible
    assert rows[(1, "app/keep")].visible and rows[(1, "app/keep")].size == 9
    assert rows[(0, "app")].mtime == pd.Timestamp(1_600_000_000, unit="s", tz="UTC")
    assert rows[(0, "app/a")].mode == 0o644


def test_history_df_keeps_empty_layers(analysis):
    df = analysis.history_df()
    assert list(df.columns) == [
        "index",
        "created",
        "created_by",
        "author",
        "comment",
        "empty_layer",
        "layer_index",
        "size",
        "compressed_size",
    ]
    assert df["empty_layer"].tolist() == [False, True, False]
    assert df["layer_index"].tolist()[0] == 0 and pd.isna(df["layer_index"][1]) and df["layer_index"][2] == 1
    assert df["size"][0] == 107 and pd.isna(df["size"][1]) and df["size"][2] == 11
    assert df["created"][1] == pd.Timestamp("2024-01-02T00:00:00Z")


def test_waste_df_lists_every_hidden_path(tmp_path):
    many = [f(f"d/f{i:03d}", b"z" * (i + 1)) for i in range(250)]
    layer0 = layer_tar([d("d"), *many])
    layer1 = layer_tar([wh("d")])
    a = layerscope.analyze(ImageSpec([layer0, layer1]).docker_archive(str(tmp_path / "w.tar")))
    df = a.waste_df()
    assert list(df.columns) == ["path", "bytes", "layer", "hidden_by", "reason"]
    assert len(df) == 250 > len(a.waste)  # Analysis.waste keeps only the largest
    assert df["bytes"].sum() == a.totals.wasted_bytes == sum(range(1, 251))
    assert df.iloc[0].to_dict() == {"path": "d/f249", "bytes": 250, "layer": 0, "hidden_by": 1, "reason": "deleted"}
    assert df["bytes"].is_monotonic_decreasing


def test_frames_of_a_manifest_only_analysis(tmp_path):
    path = ImageSpec([layer_tar([f("a", b"1")])]).oci_dir(str(tmp_path / "oci"))
    a = layerscope.analyze(path, manifest_only=True)
    df = a.layers_df()
    assert len(df) == 1 and pd.isna(df["size"][0]) and pd.isna(df["visible_bytes"][0])
    assert df["compressed_size"][0] > 0
    assert a.files_df().empty and list(a.files_df().columns)[:2] == ["layer", "path"]
    assert a.packages_df().empty and list(a.packages_df().columns)[:3] == ["ecosystem", "name", "version"]


def test_packages_df_without_attribution_has_its_columns(analysis):
    df = analysis.packages_df()
    assert list(df.columns) == [
        "ecosystem",
        "name",
        "version",
        "size",
        "files",
        "layer",
        "location",
        "dead_bytes",
        "category",
        "purl",
    ]


def test_packages_and_categories_df(tmp_path):
    layer0 = layer_tar([*dist("alpha", "1.0", {"alpha/__init__.py": b"a" * 1000}), f("app/main.py", b"m" * 50)])
    layer1 = layer_tar(dist("beta", "2.0", {"beta/__init__.py": b"b" * 300}))
    a = layerscope.analyze(ImageSpec([layer0, layer1]).docker_archive(str(tmp_path / "p.tar")))
    df = a.packages_df().set_index("name")
    assert set(df.index) == {"alpha", "beta"}
    assert df.loc["alpha", "version"] == "1.0" and df.loc["alpha", "layer"] == 0 and df.loc["beta", "layer"] == 1
    assert df.loc["alpha", "ecosystem"] == "python" and df.loc["alpha", "category"] == "python-packages"
    assert df.loc["alpha", "size"] > 1000 and df.dtypes["size"] == "int64"
    assert df.loc["alpha", "location"].endswith(SITE.split("/", 1)[1])
    assert df.loc["alpha", "purl"] == "pkg:pypi/alpha@1.0" and df.dtypes["purl"] == "string"
    long = a.packages_df(by_layer=True)
    assert list(long.columns) == ["ecosystem", "name", "version", "location", "layer", "bytes"]
    assert long.groupby("name")["bytes"].sum().to_dict() == df["size"].to_dict()
    cats = a.categories_df().set_index("category")["bytes"]
    assert cats["app"] == 50 and cats.sum() == a.totals.final_size
    by_layer = a.categories_df(by_layer=True)
    assert list(by_layer.columns) == ["layer", "category", "bytes"]
    assert by_layer.groupby("category")["bytes"].sum().to_dict() == {k: v for k, v in cats.items() if v}
    assert by_layer[by_layer.layer == 1]["category"].tolist() == ["python-packages"]


def test_import_layerscope_loads_neither_pandas_nor_matplotlib(tmp_path):
    path = ImageSpec([layer_tar([f("a", b"1")])]).docker_archive(str(tmp_path / "i.tar"))
    code = (
        "import sys, layerscope\n"
        f"a = layerscope.analyze({str(path)!r})\n"
        "html = a._repr_html_()\n"
        "assert 'layerscope' in html and '<table>' in html\n"
        "bad = [m for m in ('pandas', 'matplotlib', 'numpy') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(REPO))
    assert p.returncode == 0, p.stderr
