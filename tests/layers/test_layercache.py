"""The per-layer cache: hits, blob and file-identity entries, corruption, concurrency, pruning."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os

from layerscope.api import open_image
from layerscope.layers.layercache import LayerCache
from tests.conftest import REPO
from tests.support.dists import dist
from tests.support.factory import ImageSpec, d, f, layer_tar, wh


def _image() -> ImageSpec:
    return ImageSpec([layer_tar([d("a"), f("a/x", b"1" * 5000)]), layer_tar([wh("a/x"), f("b", b"2" * 10)])])


def test_second_read_is_served_from_cache_with_identical_records(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERSCOPE_CACHE_DIR", str(tmp_path / "cache"))
    path = _image().oci_archive(str(tmp_path / "img.oci.tar"))
    cold = open_image(path)
    cache = LayerCache()
    assert cache.stats().entries == 4  # per layer: its blob digest's entry and this file's
    warm = open_image(path)
    assert [layer.record for layer in warm.layers] == [layer.record for layer in cold.layers]
    probe = LayerCache()
    for layer in cold.layers:
        assert layer.digest is not None and layer.record is not None
        assert layer.record.stored_digest == layer.digest  # gzip blobs are always hashed
        assert probe.get_blob(layer.digest) == layer.record
    assert probe.hits == 2


def test_blob_entries_only_under_a_digest_the_read_hashed(tmp_path):
    cache = LayerCache(str(tmp_path / "cache"))
    gz = open_image(_image().oci_archive(str(tmp_path / "i.tar")), use_cache=False).layers[0]
    plain = open_image(_image().docker_archive(str(tmp_path / "d.tar")), use_cache=False).layers[0]
    assert gz.record is not None and plain.record is not None and gz.digest is not None
    assert plain.record.stored_digest is None  # the fast path hashes nothing
    cache.put_blob(plain.record)
    assert cache.stats().entries == 0
    cache.put_blob(gz.record)
    assert cache.get_blob(gz.digest) == gz.record
    assert cache.get_blob("sha256:" + "0" * 64) is None
    # --verify asks for the diff_id too: this read did not hash the uncompressed stream
    assert gz.record.diff_id is None and cache.get_blob(gz.digest, gz.diff_id) is None
    verified = open_image(str(tmp_path / "i.tar"), verify=True, use_cache=False).layers[0].record
    assert verified is not None and verified.diff_id == gz.diff_id
    cache.put_blob(verified)
    assert cache.get_blob(gz.digest, gz.diff_id) == verified


def test_file_identity_entries_serve_that_file_unchanged_only(tmp_path):
    cache = LayerCache(str(tmp_path / "cache"))
    record = open_image(_image().docker_archive(str(tmp_path / "d.tar")), use_cache=False).layers[0].record
    assert record is not None
    cache.put_local("the identity", record)
    assert cache.get_local("the identity") == record
    assert cache.get_local("another identity") is None
    assert cache.get_local("the identity", "sha256:" + "1" * 64) is None  # --verify: not hashed then


def test_corrupt_entry_is_ignored_and_rewritten(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERSCOPE_CACHE_DIR", str(tmp_path / "cache"))
    path = _image().docker_archive(str(tmp_path / "img.tar"))
    first = open_image(path)
    entries = [os.path.join(dp, n) for dp, _, ns in os.walk(tmp_path / "cache") for n in ns]
    assert len(entries) == 2
    for e in entries:
        with open(e, "wb") as fh:
            fh.write(b"not zstd at all")
    again = open_image(path)
    assert [x.record for x in again.layers] == [x.record for x in first.layers]
    assert len([n for _, _, ns in os.walk(tmp_path / "cache") for n in ns]) == 2  # rewritten


def test_no_cache_flag_reads_the_image_and_still_writes(tmp_path, run_cli):
    cache_dir = tmp_path / "cache"
    path = _image().docker_archive(str(tmp_path / "img.tar"))
    r = run_cli("inspect", "--json", "--no-cache", path, env={"LAYERSCOPE_CACHE_DIR": str(cache_dir)})
    assert r.code == 0, r.err
    assert json.loads(r.out)["totals"]["wasted_bytes"] == 5000
    r = run_cli("cache-dir", "--json", env={"LAYERSCOPE_CACHE_DIR": str(cache_dir)})
    assert json.loads(r.out)["entries"] == 3  # two layers and the image's summary


def _fill(args: tuple[str, str]) -> int:
    os.environ["LAYERSCOPE_CACHE_DIR"] = args[0]
    img = open_image(args[1])
    return len(img.layers)


def test_two_processes_fill_the_cache_at_once(tmp_path):
    cache_dir = str(tmp_path / "cache")
    path = _image().oci_archive(str(tmp_path / "img.tar"))
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        assert pool.map(_fill, [(cache_dir, path)] * 4) == [2] * 4
    names = [n for _, _, ns in os.walk(cache_dir) for n in ns]
    assert len(names) == 4 and not any(n.startswith(".tmp-") for n in names)


def test_prune_evicts_least_recently_used_first(tmp_path, run_cli):
    cache_dir = tmp_path / "cache"
    env = {"LAYERSCOPE_CACHE_DIR": str(cache_dir)}
    path = _image().docker_archive(str(tmp_path / "img.tar"))
    assert run_cli("inspect", path, env=env).code == 0
    total = json.loads(run_cli("cache-dir", "--json", env=env).out)["bytes"]
    r = run_cli("cache-dir", "--prune", "--max-size", str(total - 1), "--json", env=env)
    doc = json.loads(r.out)
    assert doc["removed"] == 1 and doc["entries"] == 2
    r = run_cli("cache-dir", "--prune", "--max-size", "0", "--json", env=env)
    assert json.loads(r.out)["entries"] == 0


def test_prune_removes_only_entries_from_a_cache_dir_that_holds_other_files(tmp_path, run_cli):
    """LAYERSCOPE_CACHE_DIR may name a directory the user keeps other things in (even $HOME by
    mistake): `--prune --max-size 0` had deleted every file under it."""
    cache_dir = tmp_path / "mine"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "kept.txt").write_text("outside")
    theirs = {
        "notes/thesis.txt": "precious",
        "layers-v5-notes.txt": "a file named like an entry directory",
        "images-v5/readme.txt": "not an entry",
        "a.zst": "an entry's name, outside the entry directories",
    }
    for name, text in theirs.items():
        (cache_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (cache_dir / name).write_text(text)
    env = {"LAYERSCOPE_CACHE_DIR": str(cache_dir)}
    assert run_cli("inspect", _image().docker_archive(str(tmp_path / "img.tar")), env=env).code == 0
    entry_dir = next(cache_dir.glob("layers-v*/"))
    (entry_dir / "link.zst").symlink_to(outside / "kept.txt")  # a link is not an entry: not followed, not counted
    (cache_dir / "images-v5" / "out").symlink_to(outside)
    assert json.loads(run_cli("cache-dir", "--json", env=env).out)["entries"] == 3  # two layers, one summary
    r = run_cli("cache-dir", "--prune", "--max-size", "0", "--json", env=env)
    assert r.code == 0, r.err
    assert json.loads(r.out)["removed"] == 3
    for name, text in theirs.items():
        assert (cache_dir / name).read_text() == text
    assert (outside / "kept.txt").read_text() == "outside"
    assert (entry_dir / "link.zst").is_symlink()


def test_warm_inspect_comes_from_the_summary_and_tracks_the_file(tmp_path, run_cli):
    env = {"LAYERSCOPE_CACHE_DIR": str(tmp_path / "cache")}
    path = tmp_path / "img.tar"
    _image().docker_archive(str(path))
    cold = run_cli("inspect", "--json", str(path), env=env)
    warm = run_cli("inspect", "--json", str(path), env=env)
    assert cold.code == warm.code == 0
    assert json.loads(cold.out) == json.loads(warm.out)
    summaries = list((tmp_path / "cache").glob("images-v*/*/*.json.zst"))
    assert len(summaries) == 1
    # the archive changes: the summary no longer applies
    ImageSpec([layer_tar([f("only", b"z" * 7)])]).docker_archive(str(path))
    changed = run_cli("inspect", "--json", str(path), env=env)
    assert json.loads(changed.out)["totals"]["size"] == 7


def test_a_summary_answers_with_the_reference_given_not_the_one_that_wrote_it(tmp_path, run_cli):
    """The same archive by two names (absolute, then relative, then docker-archive:): each run reports its own."""
    env = {"LAYERSCOPE_CACHE_DIR": str(tmp_path / "cache")}
    path = tmp_path / "img.tar"
    _image().docker_archive(str(path))
    relative = os.path.relpath(path, REPO)  # run_cli runs from the repository
    for ref in (str(path), relative, f"docker-archive:{relative}", str(path)):
        r = run_cli("inspect", "--json", ref, env=env)
        assert r.code == 0, r.err
        assert json.loads(r.out)["reference"] == ref
        text = run_cli("inspect", ref, env=env)
        assert text.out.splitlines()[0].startswith(f"Image      {ref}  (docker-archive")
        if ref == relative:  # the bare path by two names: one summary answered both
            assert len(list((tmp_path / "cache").glob("images-v*/*/*.json.zst"))) == 1


def test_blob_facts_come_from_the_blob_read_not_another_one(tmp_path, monkeypatch):
    """Same diff_ids, one image as gzip OCI, one as an uncompressed docker save."""
    monkeypatch.setenv("LAYERSCOPE_CACHE_DIR", str(tmp_path / "cache"))
    spec = _image()
    oci = open_image(spec.oci_archive(str(tmp_path / "i.oci.tar")))
    legacy = open_image(spec.docker_archive(str(tmp_path / "i.docker.tar")))
    again = open_image(str(tmp_path / "i.docker.tar"))
    for o, dl, a in zip(oci.layers, legacy.layers, again.layers, strict=True):
        assert o.record is not None and dl.record is not None and a.record is not None
        assert (o.record.compression, dl.record.compression, a.record.compression) == ("gzip", "none", "none")
        assert dl.record.files == o.record.files and a.record == dl.record


def test_packages_after_inspect_are_not_taken_from_its_summary(tmp_path, run_cli):
    """inspect leaves packages out of the image summary; packages then computes them."""
    env = {"LAYERSCOPE_CACHE_DIR": str(tmp_path / "cache")}
    path = str(tmp_path / "img.tar")
    ImageSpec([layer_tar(dist("tiny", "1.0", {"tiny/__init__.py": b"x" * 300}))]).docker_archive(path)
    assert run_cli("inspect", "--json", path, env=env).code == 0
    after = run_cli("packages", "--json", path, env=env)
    again = run_cli("packages", "--json", path, env=env)  # from the summary packages wrote
    assert after.code == again.code == 0, after.err
    assert [p["name"] for p in json.loads(after.out)["packages"]] == ["tiny"]
    assert json.loads(after.out) == json.loads(again.out)


def test_images_sharing_a_base_read_the_base_once(tmp_path, monkeypatch):
    """B after A (same two base layers, as registries serve them): only B's own layer is
    read; its base blobs are hashed (not decoded nor walked) and answered from the cache."""
    from layerscope.sources import builder
    from layerscope.sources.references import open_handle

    base = [layer_tar([d("etc"), f("etc/os-release", b"ID=test\n")]), layer_tar([f("usr/lib/libx.so", b"x" * 4000)])]
    a = ImageSpec([*base, layer_tar([f("app/a.py", b"a" * 100)])]).oci_archive(str(tmp_path / "a.tar"))
    b = ImageSpec([*base, layer_tar([f("app/b.py", b"b" * 200)])]).oci_archive(str(tmp_path / "b.tar"))
    walked: list[str | None] = []
    real = builder.read_layer

    def counting(blob, **kw):  # type: ignore[no-untyped-def]
        walked.append(kw.get("expected_diff_id"))
        return real(blob, **kw)

    monkeypatch.setattr(builder, "read_layer", counting)
    cache = LayerCache(str(tmp_path / "cache"))
    image_a = builder.build_image(open_handle(a), cache=cache)
    assert (cache.hits, len(walked)) == (0, 3)
    walked.clear()
    cache_b = LayerCache(str(tmp_path / "cache"))
    image_b = builder.build_image(open_handle(b), cache=cache_b)
    assert cache_b.hits == 2  # by blob digest, after hashing (every file-identity lookup missed)
    assert walked == [image_b.layers[2].diff_id]
    assert [x.record for x in image_b.layers[:2]] == [x.record for x in image_a.layers[:2]]


def test_no_file_identity_entry_for_a_file_that_changed_while_it_was_read(tmp_path):
    """The identity is taken before the read and again before the write: if they differ
    (the archive was rewritten meanwhile), what was read is not filed under either."""
    import itertools

    from layerscope.sources import builder
    from layerscope.sources.references import open_handle

    handle = open_handle(_image().docker_archive(str(tmp_path / "img.tar")))
    real = handle.layer_identity  # type: ignore[attr-defined]
    ticks = itertools.count()
    handle.layer_identity = lambda d, i: f"{real(d, i)}\0{next(ticks)}"  # type: ignore[attr-defined]
    cache = LayerCache(str(tmp_path / "cache"))
    builder.build_image(handle, cache=cache, workers=1)
    assert cache.stats().entries == 0
    steady = open_handle(str(tmp_path / "img.tar"))
    builder.build_image(steady, cache=cache, workers=1)
    assert cache.stats().entries == 2


def _rule_names() -> list[str]:
    """Every module-level value of capture.py that is data (the rules): anything but modules,
    functions and the __future__ import, so a rule added later is covered without this test
    being told about it."""
    import __future__

    import types

    from layerscope.layers import capture

    return [
        n
        for n, v in vars(capture).items()
        if not n.startswith("__") and not isinstance(v, types.ModuleType | __future__._Feature) and not callable(v)
    ]


def test_every_capture_rule_is_in_the_layer_cache_key(monkeypatch):
    """Changing any capture rule (a pattern, a prefix, a size cap) moves the cache directory."""
    from layerscope.layers import capture

    names = _rule_names()
    assert {"_DPKG_EXACT", "_RPM_DIRS", "_SUFFIXES", "_DIRS", "MAX_CAPTURE", "DPKG_FILES", "CAPTURES"} <= set(names)
    before = LayerCache("/nonexistent").directory
    assert os.path.basename(before).endswith("-c" + capture.rules_stamp())
    for name in names:
        old = getattr(capture, name)
        for new in _changed(name, old):
            monkeypatch.setattr(capture, name, new)
            assert LayerCache("/nonexistent").directory != before, f"capture.{name} is not in the cache key"
            monkeypatch.setattr(capture, name, old)
    assert LayerCache("/nonexistent").directory == before


def _changed(name: str, old: object) -> list[object]:
    """The value of a rule, changed in each of its parts (every field of an ecosystem's rules)."""
    from layerscope.layers.capture import CaptureRules

    if isinstance(old, CaptureRules):
        return [
            dataclasses.replace(old, names=old.names | {"x/new"}),
            dataclasses.replace(old, suffixes=(*old.suffixes, ".x")),
            dataclasses.replace(old, dirs=old.dirs | {"x/new"}),
            dataclasses.replace(old, name=old.name + "x"),
            dataclasses.replace(old, limit=lambda path, parent, name: 1 if path == "etc/new-manager/db" else None),
        ]
    assert isinstance(old, int | tuple | frozenset), f"capture.{name}: teach rules_stamp and this test its type"
    return [old + 1 if isinstance(old, int) else old | {"x/new"} if isinstance(old, frozenset) else (*old, "x/")]


def test_a_new_capture_condition_changes_the_key():
    """A rule written as code in capture_limit (a new literal) counts too."""
    from layerscope.layers import capture

    def patched(path: str) -> int | None:  # the same function with one more condition
        return capture.MAX_CAPTURE if path == "etc/new-manager/db" else capture.capture_limit(path)

    stamp = capture.rules_stamp()
    original = capture.capture_limit
    try:
        capture.capture_limit = patched  # type: ignore[assignment]
        assert capture.rules_stamp() != stamp
    finally:
        capture.capture_limit = original
    assert capture.rules_stamp() == stamp


def test_a_new_condition_in_an_ecosystems_rules_changes_the_key(monkeypatch):
    """A condition added to one ecosystem's limit (its files, written as code) counts too."""
    from layerscope.layers import capture

    def dpkg_limit(path: str, parent: str, name: str) -> int | None:
        return capture.MAX_CAPTURE if path == "var/lib/dpkg/new-db" else capture._dpkg_limit(path, parent, name)

    stamp = capture.rules_stamp()
    monkeypatch.setattr(capture, "DPKG_FILES", dataclasses.replace(capture.DPKG_FILES, limit=dpkg_limit))
    assert capture.rules_stamp() != stamp


def test_entries_cached_under_other_capture_rules_are_misses(tmp_path, monkeypatch):
    """A warm cache written before a rule change is not served after it: the layer is read again."""
    from layerscope.layers import capture

    layer = open_image(_image().oci_archive(str(tmp_path / "i.tar")), use_cache=False).layers[0]
    assert layer.record is not None
    assert layer.digest is not None
    LayerCache(str(tmp_path)).put_blob(layer.record)
    assert LayerCache(str(tmp_path)).get_blob(layer.digest) == layer.record
    monkeypatch.setattr(capture, "_DPKG_EXACT", capture._DPKG_EXACT | {"etc/new-manager/db"})
    assert LayerCache(str(tmp_path)).get_blob(layer.digest) is None
