"""Mann–Whitney U test, one-sided, with the normal approximation and tie correction.

Implemented here (no scipy): average ranks for ties, a continuity correction of 0.5,
and the tie-corrected variance ``n1*n2/12 * ((n+1) - Σ(t³-t)/(n(n-1)))``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class RankTest:
    """Outcome of testing whether sample `x` tends to be greater than sample `y`."""

    u: float  # U statistic of x: pairs (x > y) + half the tied pairs
    z: float
    p_value: float  # one-sided: P(U >= observed) under "x and y come from one distribution"
    n_x: int
    n_y: int


def average_ranks(values: Sequence[float]) -> tuple[list[float], list[int]]:
    """1-based ranks of `values` (ties get the average rank) and the sizes of tie groups."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    ties: list[int] = []
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        rank = (i + j) / 2 + 1
        for k in range(i, j + 1):
            ranks[order[k]] = rank
        if j > i:
            ties.append(j - i + 1)
        i = j + 1
    return ranks, ties


def mann_whitney_greater(x: Sequence[float], y: Sequence[float]) -> RankTest:
    """One-sided Mann–Whitney U: is `x` stochastically greater than `y`?"""
    n_x, n_y = len(x), len(y)
    if n_x == 0 or n_y == 0:
        raise ValueError("both samples need at least one value")
    ranks, ties = average_ranks([*x, *y])
    u = sum(ranks[:n_x]) - n_x * (n_x + 1) / 2
    n = n_x + n_y
    mean = n_x * n_y / 2
    tie_term = sum(t**3 - t for t in ties) / (n * (n - 1)) if n > 1 else 0.0
    variance = n_x * n_y / 12 * ((n + 1) - tie_term)
    if variance <= 0:
        return RankTest(u=u, z=0.0, p_value=1.0, n_x=n_x, n_y=n_y)
    z = (u - mean - 0.5) / math.sqrt(variance)
    p_value = 0.5 * math.erfc(z / math.sqrt(2))
    return RankTest(u=u, z=z, p_value=p_value, n_x=n_x, n_y=n_y)
