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
