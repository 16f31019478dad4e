"""The sources table (sources/references.py) is what parse, open_handle, the fork decision
and the CLI's help read: a source added there is known to all of them."""

from __future__ import annotations

import pytest

from layerscope.cli.common import REF_HELP
from layerscope.errors import BadReferenceError
from layerscope.sources import parallel
from layerscope.sources.references import (
    FORK_TRANSPORTS,
    LOCAL_PREFIXES,
    SOURCES,
    TRANSPORTS,
    open_handle,
    parse,
    reference_help,
)


@pytest.mark.parametrize("source", [s for s in SOURCES if s.prefix], ids=lambda s: s.scheme)
def test_a_prefixed_reference_parses_to_its_source(source: object) -> None:
    from layerscope.sources.references import Source

    assert isinstance(source, Source) and source.prefix is not None
    ref = parse(source.prefix + "somewhere/x")
    assert ref.transport == source.scheme
    assert ref.location == "somewhere/x"
    assert ref.text == source.prefix + "somewhere/x"


def test_every_source_is_in_the_cli_help_in_table_order() -> None:
    assert reference_help() == REF_HELP
    at = [REF_HELP.index(s.help) for s in SOURCES]
    assert at == sorted(at)
    assert REF_HELP.startswith("image reference: docker-archive:PATH, oci:DIR[:TAG], ")
    assert REF_HELP.endswith(" or a bare image name (the Docker engine first, then the registry)")


def test_the_table_answers_the_fork_and_local_questions() -> None:
    assert parallel.FORK_TRANSPORTS is FORK_TRANSPORTS
    assert {"docker-archive", "oci", "oci-archive"} == FORK_TRANSPORTS
    assert not parallel.can_fork("docker", True, 1 << 40)  # a registry's handle never forks
    assert set(LOCAL_PREFIXES) == {"docker-archive:", "oci:", "oci-archive:", "analysis:"}
    assert {s.scheme for s in SOURCES if s.forkable} <= {s.scheme for s in SOURCES if s.local}
    assert set(TRANSPORTS) == {"docker-archive", "oci-archive", "oci", "docker-daemon", "docker", "analysis"}


def test_a_prefix_with_nothing_after_it_is_one_clear_error() -> None:
    with pytest.raises(BadReferenceError, match="nothing after 'oci-archive:'"):
        parse("oci-archive:")


def test_a_source_without_an_opener_is_refused_by_open_handle() -> None:
    # analysis: is a saved Analysis, read by api.load, never an ImageHandle
    with pytest.raises(BadReferenceError, match="unknown reference"):
        open_handle("analysis:saved.json")


def test_the_other_questions_are_the_tables_too() -> None:
    """The summary cache's local image files, the fleet's per-layer tasks and the saved
    analysis prefix come from the table, not from lists of their own."""
    from layerscope.fleet.handles import splittable
    from layerscope.sources.references import ANALYSIS_PREFIX, LOCAL_IMAGES, PER_LAYER_TRANSPORTS

    assert {"docker-archive", "oci-archive", "oci", "path"} == LOCAL_IMAGES
    assert {"docker", "docker-archive", "oci-archive", "oci", "path"} == PER_LAYER_TRANSPORTS
    assert ANALYSIS_PREFIX == "analysis:"
    assert splittable("docker://localhost:5000/app:1") and splittable("oci:somewhere")
    assert not splittable("docker-daemon:app:1") and not splittable("app:1")
