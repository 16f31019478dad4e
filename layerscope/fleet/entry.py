"""`layerscope.fleet(...)`: the public Python entry of the fleet (the package module is
callable, layerscope/fleet/__init__.py), beside the api's single-image entries it builds on."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from layerscope.fleet.tables import FleetTables
    from layerscope.sources.registry.secret import Secret


def fleet(
    refs: list[str] | tuple[str, ...] = (),
    *,
    from_file: str | None = None,
    catalog: str | None = None,
    tags: str | None = None,
    latest: int | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    config: str | None = None,
    platform: str | None = None,
    verify: bool = False,
    use_cache: bool = True,
    username: str | None = None,
    password: str | Secret | None = None,
    insecure: bool = False,
) -> FleetTables:
    """Many images at once on Dask (`layerscope fleet`): one task per unique layer blob.

    The images are `refs` (any reference `analyze` takes), the lines of `from_file`, and the
    tags a registry's catalog lists (`catalog="docker://HOST[/PREFIX]"`, filtered by the
    regular expression `tags` and the `latest` N tags per repository). `scheduler`
    ("tcp://HOST:PORT", else $DASK_SCHEDULER_ADDRESS) runs on an existing cluster whose
    workers have layerscope installed; otherwise a local cluster of `workers` processes.
    Returns the tables (`images`, `layers`, `image_layers`, `packages`, `categories`,
    `savings`, `budget`: pandas DataFrames) and `totals`. An image that cannot be read is a
    row with its `error`; `config` adds the `check` budgets' verdicts.
    """
    from layerscope.fleet import runner, targets
    from layerscope.fleet.records import Settings
    from layerscope.sources.registry.options import RegistryOptions

    options = RegistryOptions.create(username, password, insecure)
    chosen = targets.collect(list(refs), from_file, catalog, options, tags, latest)
    settings = Settings(platform, verify, use_cache, options)
    return runner.run(chosen, settings, runner.Cluster(scheduler, workers), config)
