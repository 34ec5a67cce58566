"""Which job types a fetch tries first: gocraft/work's priority sampler, plus batch quotas.

gocraft re-sorts its job types before every single-job fetch so that a type with
priority ``p`` comes first with probability ``p / sum``. A batched fetch takes several
jobs per script call, so it also draws a quota per type: ``max_jobs`` weighted draws. The
script takes up to each quota in sampled order, then fills the batch from whatever is
left, so the mix follows the priorities when every queue has work and no slot idles when
some are empty.
"""

from __future__ import annotations

import random
from collections.abc import Sequence


def sample_order(priorities: Sequence[int], rng: random.Random | None = None) -> list[int]:
    """Indices in gocraft's weighted-random order (``priority_sampler.go``)."""
    draw = (rng or random).random
    order = list(range(len(priorities)))
    remaining = sum(priorities)
    for first in range(len(order) - 1):
        point = draw() * remaining
        acc = 0.0
        chosen = len(order) - 1
        for pos in range(len(order) - 1, first - 1, -1):  # gocraft scans from the end
            acc += priorities[order[pos]]
            if point < acc:
                chosen = pos
                break
        order[first], order[chosen] = order[chosen], order[first]
        remaining -= priorities[order[first]]
    return order


def quotas(priorities: Sequence[int], max_jobs: int, rng: random.Random | None = None) -> list[int]:
    """How many of ``max_jobs`` each type gets by weighted draws (sums to ``max_jobs``)."""
    if len(priorities) == 1:
        return [max_jobs]
    picks = (rng or random).choices(range(len(priorities)), weights=priorities, k=max_jobs)
    counts = [0] * len(priorities)
    for index in picks:
        counts[index] += 1
    return counts
