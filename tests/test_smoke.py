import json

from tests.support.factory import ImageSpec, d, f, layer_tar, wh


def test_inspect_json_on_a_small_image(tmp_path, run_cli):
    img = ImageSpec([layer_tar([d("app"), f("app/a", b"x" * 100)]), layer_tar([wh("app/a"), f("app/b", b"yy")])])
    path = img.docker_archive(str(tmp_path / "img.tar"))
    r = run_cli("inspect", "--json", path)
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["schema"] == "layerscope.inspect/1"
    assert [layer["size"] for layer in doc["layers"]] == [100, 2]
    assert doc["totals"]["final_size"] == 2
    assert doc["totals"]["wasted_bytes"] == 100
    assert doc["waste"][0] == {"path": "app/a", "bytes": 100, "layer": 0, "hidden_by": 1, "reason": "deleted"}


def test_saved_analysis_stands_in_for_the_image(tmp_path, run_cli):
    img = ImageSpec([layer_tar([d("a"), f("a/x", b"1" * 10)]), layer_tar([f("a/x", b"22"), f("a/y", b"3")])])
    path = img.oci_archive(str(tmp_path / "img.oci.tar"))
    saved = tmp_path / "saved.json"
    direct = run_cli("inspect", "--json", "--save", str(saved), path)
    assert direct.code == 0, direct.err
    assert json.loads(saved.read_text())["schema"] == "layerscope.analysis/1"
    again = run_cli("inspect", "--json", f"analysis:{saved}")
    assert again.code == 0, again.err
    assert json.loads(again.out) == json.loads(direct.out)
    text = run_cli("inspect", f"analysis:{saved}")
    assert text.code == 0 and "overwritten" in text.out


def test_a_damaged_saved_analysis_is_one_line(tmp_path, run_cli):
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "layerscope.analysis/1", "layers": 3}')
    r = run_cli("inspect", f"analysis:{bad}")
    assert r.code == 2 and r.err.count("\n") == 1 and "damaged saved analysis" in r.err
