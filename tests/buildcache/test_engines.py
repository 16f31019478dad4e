"""The real-build harness retries a scenario only on a known transient infrastructure error."""

from __future__ import annotations

import pytest

from tests.buildcache.engines import RETRIES, BuildFailed, TransientFailure, _run, retry_transient

MEMFD = "error running container: Close_Fd sealing memfd copy: Device or resource busy"


def _failing(message: str) -> list[str]:
    return ["sh", "-c", f"echo '{message}' >&2; exit 1"]


def test_a_known_infrastructure_error_is_transient() -> None:
    with pytest.raises(TransientFailure) as err:
        _run(_failing(f"STEP 3/4: RUN true\n{MEMFD}"))
    assert "sealing memfd copy" in err.value.log


@pytest.mark.parametrize(
    "message",
    [
        "RUN false: returned a non-zero code: 1",
        "Device or resource busy",  # the same errno from the command itself is a real failure
        "process did not complete successfully: exit code: 1",
    ],
)
def test_a_real_build_failure_is_not_transient(message: str) -> None:
    with pytest.raises(BuildFailed) as err:
        _run(_failing(message))
    assert not isinstance(err.value, TransientFailure)


def test_the_whole_scenario_runs_again_at_most_twice() -> None:
    tries: list[int] = []
    retried: list[int] = []

    def scenario() -> str:
        tries.append(1)
        _run(_failing(MEMFD))
        return "built"

    with pytest.raises(TransientFailure):
        retry_transient(scenario, lambda: retried.append(1))
    assert len(tries) == 1 + RETRIES == 3
    assert len(retried) == RETRIES


def test_a_scenario_that_succeeds_on_a_retry_returns_its_result() -> None:
    tries: list[int] = []

    def scenario() -> str:
        tries.append(1)
        if len(tries) == 1:
            _run(_failing(MEMFD))
        return _run(["sh", "-c", "echo built"]).strip()

    assert retry_transient(scenario) == "built"
    assert len(tries) == 2


def test_a_real_failure_is_never_retried() -> None:
    tries: list[int] = []

    def scenario() -> str:
        tries.append(1)
        return _run(_failing("RUN false: returned a non-zero code: 1"))

    with pytest.raises(BuildFailed):
        retry_transient(scenario)
    assert tries == [1]
