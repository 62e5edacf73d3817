from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.slo import mann_whitney_greater
from bot.core.slo.ranktest import average_ranks

samples = st.lists(st.integers(min_value=0, max_value=6).map(float), min_size=1, max_size=15)


def pairwise_u(x: list[float], y: list[float]) -> float:
    return sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in x for b in y)


@given(samples, samples)
def test_u_equals_the_pairwise_count(x: list[float], y: list[float]) -> None:
    assert mann_whitney_greater(x, y).u == pytest.approx(pairwise_u(x, y))


@given(samples, samples)
def test_u_of_both_directions_adds_up(x: list[float], y: list[float]) -> None:
    forward, backward = mann_whitney_greater(x, y), mann_whitney_greater(y, x)
    assert forward.u + backward.u == pytest.approx(len(x) * len(y))
    assert 0.0 <= forward.p_value <= 1.0


def test_average_ranks_with_ties() -> None:
    ranks, ties = average_ranks([3.0, 1.0, 3.0, 2.0, 3.0])
    assert ranks == [4.0, 1.0, 4.0, 2.0, 4.0]
    assert ties == [3]


def test_all_tied_is_not_significant() -> None:
    result = mann_whitney_greater([1.0] * 10, [1.0] * 10)
    assert result.p_value == 1.0


def exact_p(x: list[float], y: list[float]) -> float:
    """P(U >= observed) over every way of splitting the pooled values (no ties)."""
    pooled, n = [*x, *y], len(x)
    observed = pairwise_u(x, y)
    splits = list(itertools.combinations(range(len(pooled)), n))
    hits = 0
    for chosen in splits:
        a = [pooled[i] for i in chosen]
        b = [pooled[i] for i in range(len(pooled)) if i not in chosen]
        hits += pairwise_u(a, b) >= observed
    return hits / len(splits)


@pytest.mark.parametrize(
    ("x", "y"),
    [
        ([12, 15, 17, 19, 21, 22, 24, 25], [10, 11, 13, 14, 16, 18, 20, 23]),
        ([5, 7, 9, 30, 31, 32, 33, 34], [1, 2, 3, 4, 6, 8, 10, 11]),
        ([1, 2, 3, 4, 5, 6, 7, 8], [9, 10, 11, 12, 13, 14, 15, 16]),
    ],
)
def test_normal_approximation_is_close_to_the_exact_test(x: list[int], y: list[int]) -> None:
    approx = mann_whitney_greater([float(v) for v in x], [float(v) for v in y]).p_value
    exact = exact_p([float(v) for v in x], [float(v) for v in y])
    assert approx == pytest.approx(exact, abs=0.02)


def test_known_value_with_ties() -> None:
    # By hand: x beats y in 3.5 + 4.5 + 4.5 + 5 + 5 + 5 = 27.5 pairs; ties: {3, 3}, {4, 4, 4}.
    x = [3.0, 4.0, 4.0, 5.0, 6.0, 7.0]
    y = [1.0, 2.0, 3.0, 4.0, 8.0, 0.0]
    result = mann_whitney_greater(x, y)
    assert result.u == pairwise_u(x, y) == 27.5
    variance = 6 * 6 / 12 * (13 - (6 + 24) / (12 * 11))
    z = (27.5 - 18.0 - 0.5) / math.sqrt(variance)
    assert result.z == pytest.approx(z)
    assert result.p_value == pytest.approx(0.5 * math.erfc(z / math.sqrt(2)))


def test_empty_sample_is_an_error() -> None:
    with pytest.raises(ValueError):
        mann_whitney_greater([], [1.0])
