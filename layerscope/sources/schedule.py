"""In what order parallel workers should take the layers of an image.

Workers read layers side by side, but the reader's caller stacks them strictly bottom up
(analysis/feed.py): a layer that arrives early waits for every layer below it. Largest
first keeps the workers busy to the end; bottom first lets stacking keep pace. Which wins
depends on the sizes, so both orders are played out on a simple model (time to read a
layer ∝ its bytes, time to stack it a fraction of that) and the sooner finish is taken.
"""

from __future__ import annotations

import heapq

STACK_SHARE = 0.35  # stacking a layer's entries costs about this share of reading them


def finish_time(order: list[int], sizes: dict[int, int], workers: int) -> float:
    """When the last layer is stacked, if workers take `order` in turn and stacking goes bottom up."""
    free = [0.0] * workers  # when each worker is next free
    arrival: dict[int, float] = {}
    for i in order:
        start = heapq.heappop(free)
        arrival[i] = start + sizes[i]
        heapq.heappush(free, arrival[i])
    done = 0.0
    for i in sorted(order):
        done = max(done, arrival[i]) + STACK_SHARE * sizes[i]
    return done


def layer_order(sizes: dict[int, int], workers: int) -> list[int]:
    """Layer indices in the order to hand them to `workers` workers."""
    bottom_first = sorted(sizes)
    largest_first = sorted(sizes, key=lambda i: (-sizes[i], i))
    if finish_time(largest_first, sizes, workers) < finish_time(bottom_first, sizes, workers):
        return largest_first
    return bottom_first
