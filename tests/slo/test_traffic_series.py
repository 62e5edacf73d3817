"""Minimum traffic by default and explicit series, with plain values (the judge is pure)."""

from __future__ import annotations

import pytest

from bot.config.model import SLO, BurnRate
from bot.config.slo_defaults import derived_min_requests
from bot.core.slo import QueryResult, QuerySpec, Sample, Verdict
from bot.core.slo.results import Answer
from bot.core.slo.traffic import as_count, count_source, min_requests

from .helpers import H, M, run, vec

GOOD = 'sum(increase(req{code!~"5..",service="{service}"}[{window}]))'
TOTAL = 'sum(increase(req{service="{service}"}[{window}]))'
COUNTED = SLO(name="availability", objective=99.9, good=GOOD, total=TOTAL)


def per_instance(values: dict[str, float]) -> QueryResult:
    return QueryResult(
        "vector",
        tuple(Sample((("instance", i), ("job", "web")), v, 0.0) for i, v in values.items()),
    )


@pytest.mark.parametrize(
    ("objective", "rules", "least"),
    [
        (99.9, (), 70),  # 1 / (14.4 × 0.001) = 69.4
        (99.0, (), 7),
        (99.5, (BurnRate(H, 5 * M, 2.0),), 100),  # exact: 1 / (2 × 0.005) = 100
        (99.0, (BurnRate(H, 5 * M, 10.0),), 10),  # exact despite float rounding
    ],
)
def test_the_derived_minimum_is_where_one_bad_request_cannot_breach(
    objective: float, rules: tuple[BurnRate, ...], least: int
) -> None:
    slo = SLO(name="a", objective=objective, error_ratio="e", burn_rates=rules)
    assert derived_min_requests(slo) == least
    budget = 1 - objective / 100
    fastest = max(r.factor for r in rules) if rules else 14.4
    assert (1 / least) / budget <= fastest < (1 / (least - 1)) / budget


def test_latency_and_configured_minimums_are_not_derived() -> None:
    assert derived_min_requests(SLO(name="l", latency="q", threshold=1)) == 0
    assert min_requests(SLO(name="a", error_ratio="e", min_requests=0)) == 0
    assert min_requests(SLO(name="a", error_ratio="e", min_requests=5)) == 5


def test_three_requests_with_one_error_are_inconclusive_by_default() -> None:
    def answer(spec: QuerySpec) -> Answer:
        return vec(3.0) if spec.role == "total" else vec(2.0)

    result = run(COUNTED, answer)
    assert result.verdict == Verdict.INCONCLUSIVE, result.reason
    assert result.reason == (
        "3 requests over 6h < the minimum for this objective 70 (one bad request could breach)"
    )
    assert result.numbers["min_requests"] == 70


def test_enough_requests_with_errors_still_fail_by_default() -> None:
    def answer(spec: QuerySpec) -> Answer:
        return vec(1000.0) if spec.role == "total" else vec(900.0)

    assert run(COUNTED, answer).verdict == Verdict.FAIL


def test_a_rate_total_counts_requests_over_the_window() -> None:
    rated = SLO(name="a", good="sum(rate(g[{window}]))", total="sum(rate(t[{window}]))")
    assert count_source(rated) == "total"
    assert as_count(rated, "total", 0.5, 6 * H) == 0.5 * 6 * 3600
    assert as_count(COUNTED, "total", 0.5, 6 * H) == 0.5
    # A total the judge cannot read as a count only counts when min_requests is configured.
    assert count_source(SLO(name="a", good="g", total="job:t:sum")) == ""
    assert count_source(SLO(name="a", good="g", total="job:t:sum", min_requests=5)) == "total"


def test_more_series_than_declared_is_an_error_naming_them() -> None:
    slo = SLO(name="availability", error_ratio="e[{window}]", min_requests=0)
    result = run(slo, lambda spec: per_instance({"a": 0.0001, "b": 0.5}))
    assert result.verdict == Verdict.ERROR
    assert "returned 2 series, more than declared (one series)" in result.reason
    assert '{instance="a",job="web"}, {instance="b",job="web"}' in result.reason


def test_declared_series_are_judged_one_by_one_and_the_worst_named() -> None:
    slo = SLO(name="availability", error_ratio="e[{window}]", min_requests=0, by=("instance",))
    result = run(slo, lambda spec: per_instance({"a": 0.0001, "b": 0.5, "c": 0.0002}))
    assert result.verdict == Verdict.FAIL
    assert result.reason == 'burn rate above 14.4x over 1h/5m on {instance="b"}'
    assert result.evidence == 'availability on {instance="b"} 0.5 > 0.0144 (1h/5m)'
    assert result.numbers["series"] == 3 and result.numbers["worst_series"] == '{instance="b"}'
    healthy = run(slo, lambda spec: per_instance({"a": 0.0001, "b": 0.0003}))
    assert healthy.verdict == Verdict.PASS
    assert healthy.reason.endswith('on {instance="b"}')


def test_a_declared_label_set_seen_twice_is_an_error() -> None:
    slo = SLO(name="a", error_ratio="e[{window}]", min_requests=0, by=("job",))
    result = run(slo, lambda spec: per_instance({"a": 0.0, "b": 0.0}))
    assert result.verdict == Verdict.ERROR
    assert "more than declared (by: [job])" in result.reason


def test_a_quiet_series_cannot_fail_the_stage_but_a_busy_one_can() -> None:
    slo = SLO(name="availability", good=GOOD, total=TOTAL, by=("instance",))

    def answer(spec: QuerySpec) -> Answer:
        if spec.role == "total":
            return per_instance({"busy": 5000.0, "quiet": 3.0})
        return per_instance({"busy": 4999.0, "quiet": 2.0})  # quiet: 1 error in 3

    assert run(slo, answer).verdict == Verdict.PASS

    def busy_breach(spec: QuerySpec) -> Answer:
        if spec.role == "total":
            return per_instance({"busy": 5000.0, "quiet": 3.0})
        return per_instance({"busy": 4000.0, "quiet": 3.0})

    result = run(slo, busy_breach)
    assert result.verdict == Verdict.FAIL
    assert 'on {instance="busy"}' in result.reason


def test_good_missing_for_a_series_counts_all_its_requests_as_bad() -> None:
    slo = SLO(name="availability", good=GOOD, total=TOTAL, by=("instance",))

    def answer(spec: QuerySpec) -> Answer:
        if spec.role == "total":
            return per_instance({"a": 1000.0, "b": 1000.0})
        return per_instance({"a": 1000.0})  # b served no good request

    result = run(slo, answer)
    assert result.verdict == Verdict.FAIL
    assert result.numbers["worst_series"] == '{instance="b"}'
