"""What a fleet run tells as it goes (the progress bar listens). Free of Dask imports."""

from __future__ import annotations

from layerscope.fleet.records import ImageSummary, LayerStats


class Listener:
    """What the progress bar is told."""

    def planned(self, images: int, layers: int) -> None: ...

    def layer(self, stats: LayerStats) -> None: ...

    def image(self, summary: ImageSummary) -> None: ...
