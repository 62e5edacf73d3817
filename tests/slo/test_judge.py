"""The judge with plain values: SLOs built directly, answers made up per query."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta

from bot.config.model import SLO, BurnRate, Comparison
from bot.core.slo import (
    ErrorValue,
    QueryResult,
    QuerySpec,
    SLOResult,
    Verdict,
    judge,
    plan_queries,
    stage_verdict,
)
from bot.core.slo.results import Answer

from .helpers import AT, H, M, by_window, matrix, run, vec

ERR = 'sum(rate(req{code=~"5..",service="{service}",stage="{stage}"}[{window}]))'
AVAILABILITY = SLO(name="availability", objective=99.9, error_ratio=ERR)
GOOD_TOTAL = SLO(
    name="availability",
    objective=99.0,
    good='sum(rate(req{code!~"5..",service="{service}"}[{window}]))',
    total='sum(rate(req{service="{service}"}[{window}]))',
)
LATENCY = SLO(
    name="latency-p99",
    latency="histogram_quantile(0.99, sum by (le) (rate(lat_bucket[{window}])))",
    threshold=0.5,
)
HEALTHY = {5 * M: 0.0002, 30 * M: 0.0003, H: 0.0002, 6 * H: 0.0001}


def windows(slo: SLO, since_ago: timedelta | None) -> list[str]:
    since = None if since_ago is None else AT - since_ago
    return [f"{s.role}@{s.window}" for s in plan_queries(slo, "canary", "checkout", AT, since)]


# --- planning -------------------------------------------------------------------------


def test_plan_asks_every_default_window_at_the_given_instant() -> None:
    specs = plan_queries(AVAILABILITY, "canary", "checkout", AT, None)
    assert [s.window for s in specs] == [5 * M, 30 * M, H, 6 * H]
    assert all(s.at == AT and not s.is_range for s in specs)
    assert specs[0].promql == 'sum(rate(req{code=~"5..",service="checkout",stage="canary"}[5m]))'


def test_windows_longer_than_the_soak_are_clipped_to_it() -> None:
    specs = plan_queries(AVAILABILITY, "canary", "checkout", AT, AT - 40 * M)
    assert [s.window for s in specs] == [5 * M, 30 * M, 40 * M]
    assert specs[-1].promql.endswith("[40m]))")


def test_when_even_the_short_window_is_too_long_both_shrink() -> None:
    specs = plan_queries(AVAILABILITY, "canary", "checkout", AT, AT - 3 * M)
    assert [s.window for s in specs] == [3 * M]


def test_a_stage_bumped_just_now_is_inconclusive_without_queries() -> None:
    assert plan_queries(AVAILABILITY, "canary", "checkout", AT, AT) == []
    result = judge(AVAILABILITY, {}, "canary", "checkout", AT, AT)
    assert result.verdict == Verdict.INCONCLUSIVE


# --- error-ratio burn rates -------------------------------------------------------------


def test_healthy_passes_with_numbers() -> None:
    result = run(AVAILABILITY, by_window(HEALTHY))
    assert result.verdict == Verdict.PASS, result.reason
    assert result.numbers["error_ratio[5m]"] == 0.0002
    assert math.isclose(float(result.numbers["burn_rate[1h]"]), 0.2)
    assert result.evidence == ""


def test_both_windows_burning_fails_with_one_line_evidence() -> None:
    result = run(AVAILABILITY, by_window({**HEALTHY, H: 0.021, 5 * M: 0.03}))
    assert result.verdict == Verdict.FAIL
    assert result.evidence == "availability 0.021 > 0.0144 (1h/5m)"
    assert (result.slo, result.stage, result.service) == ("availability", "canary", "checkout")


def test_a_blip_that_ended_burns_only_the_long_window_and_passes() -> None:
    result = run(AVAILABILITY, by_window({**HEALTHY, H: 0.02, 5 * M: 0.0}))
    assert result.verdict == Verdict.PASS


def test_a_fresh_blip_burns_only_the_short_window_and_passes() -> None:
    result = run(AVAILABILITY, by_window({**HEALTHY, 5 * M: 0.5}))
    assert result.verdict == Verdict.PASS


def test_the_slow_burn_rule_fires_on_its_own() -> None:
    result = run(AVAILABILITY, by_window({**HEALTHY, 6 * H: 0.007, 30 * M: 0.008}))
    assert result.verdict == Verdict.FAIL
    assert result.evidence == "availability 0.007 > 0.006 (6h/30m)"


def test_own_burn_rates_replace_the_defaults() -> None:
    slo = SLO(
        name="availability",
        objective=99.0,
        error_ratio=ERR,
        burn_rates=(BurnRate(long=2 * H, short=10 * M, factor=2.0),),
    )
    assert windows(slo, None) == ["error_ratio@0:10:00", "error_ratio@2:00:00"]
    result = run(slo, by_window({2 * H: 0.03, 10 * M: 0.025}))
    assert result.evidence == "availability 0.025 > 0.02 (2h/10m)"


def test_a_cut_long_window_must_have_used_the_whole_windows_budget() -> None:
    # 20 minutes into the soak, 2 % errors burn 20x: above 14.4x, but the 1h window's
    # budget share (14.4x over 60 minutes) is not used up yet, so this is no breach.
    young = run(AVAILABILITY, by_window({5 * M: 0.05, 20 * M: 0.02}), since=AT - 20 * M)
    assert young.verdict == Verdict.PASS, young.reason
    result = run(AVAILABILITY, by_window({5 * M: 0.05, 20 * M: 0.05}), since=AT - 20 * M)
    assert result.verdict == Verdict.FAIL
    assert result.reason == "burn rate above 14.4x (43.2x over the 20m soak) over 20m/5m"
    assert result.evidence == (
        "availability 0.05 > 0.0432 over the 20m soak (of 1h) and 0.05 > 0.0144 (20m/5m)"
    )


def test_an_objective_of_100_percent_fails_on_any_error() -> None:
    slo = SLO(name="perfect", objective=100.0, error_ratio=ERR)
    assert run(slo, by_window({5 * M: 0.001, 30 * M: 0.001, H: 0.001, 6 * H: 0.001})).verdict == (
        Verdict.FAIL
    )
    assert run(slo, by_window(dict.fromkeys(HEALTHY, 0.0))).verdict == Verdict.PASS


def test_good_over_total() -> None:
    def answer(spec: QuerySpec) -> Answer:
        if spec.role == "total":
            return vec(100.0)
        bad = 0.2 if spec.window in (5 * M, H) else 0.0
        return vec(100.0 * (1 - bad))

    result = run(GOOD_TOTAL, answer)
    assert result.verdict == Verdict.FAIL
    assert result.evidence == "availability 0.2 > 0.144 (1h/5m)"
    assert math.isclose(float(result.numbers["error_ratio[1h]"]), 0.2)


def test_good_over_total_with_no_traffic_is_inconclusive() -> None:
    result = run(GOOD_TOTAL, lambda spec: vec(0.0))
    assert result.verdict == Verdict.INCONCLUSIVE
    assert "no traffic" in result.reason


# --- inconclusive -------------------------------------------------------------------------


def test_no_data_is_inconclusive() -> None:
    result = run(AVAILABILITY, lambda spec: vec())
    assert result.verdict == Verdict.INCONCLUSIVE
    assert result.reason == "no data for error_ratio over 5m"


def test_nan_is_inconclusive() -> None:
    result = run(AVAILABILITY, lambda spec: vec(math.nan))
    assert result.verdict == Verdict.INCONCLUSIVE
    assert "NaN" in result.reason


def test_an_infinite_error_ratio_is_inconclusive() -> None:
    result = run(AVAILABILITY, lambda spec: vec(math.inf))
    assert result.verdict == Verdict.INCONCLUSIVE


def test_too_few_requests_is_inconclusive_even_when_burning() -> None:
    slo = SLO(
        name="availability",
        error_ratio=ERR,
        requests='sum(increase(req{service="{service}"}[{window}]))',
        min_requests=500,
    )

    def answer(spec: QuerySpec) -> Answer:
        return vec(120.0) if spec.role == "requests" else vec(0.5)

    result = run(slo, answer)
    assert result.verdict == Verdict.INCONCLUSIVE
    assert result.reason == "120 requests over 6h < min_requests 500"
    assert result.numbers["requests"] == 120.0
    request_specs = [s for s in plan_queries(slo, "c", "s", AT, None) if s.role == "requests"]
    assert [s.window for s in request_specs] == [6 * H]


def test_enough_requests_lets_the_burn_rate_decide() -> None:
    slo = SLO(name="availability", error_ratio=ERR, requests="r[{window}]", min_requests=500)

    def answer(spec: QuerySpec) -> Answer:
        return vec(9000.0) if spec.role == "requests" else vec(0.5)

    assert run(slo, answer).verdict == Verdict.FAIL


def test_min_requests_counts_total_when_there_is_no_requests_query() -> None:
    slo = SLO(name="a", good="g[{window}]", total="t[{window}]", min_requests=10)
    result = run(slo, lambda spec: vec(3.0))
    assert result.verdict == Verdict.INCONCLUSIVE
    assert "3 requests" in result.reason


# --- error --------------------------------------------------------------------------------


def test_unreachable_is_error() -> None:
    down = ErrorValue("unreachable at http://p:9090: connection refused", retryable=True)
    result = run(AVAILABILITY, lambda spec: down)
    assert result.verdict == Verdict.ERROR
    assert result.reason == "prometheus: unreachable at http://p:9090: connection refused"


def test_unreachable_explains_the_queries_never_sent() -> None:
    down = ErrorValue("unreachable at http://p:9090", retryable=True)
    result = run(LATENCY, lambda spec: down if spec.window == 5 * M else None)
    assert result.reason == "prometheus: unreachable at http://p:9090"


def test_rejected_query_is_error() -> None:
    result = run(AVAILABILITY, lambda spec: ErrorValue("parse error", status=400))
    assert result.verdict == Verdict.ERROR
    assert result.reason.startswith("query rejected")


def test_a_missing_answer_is_error() -> None:
    result = run(AVAILABILITY, by_window({5 * M: 0.0}))
    assert result.verdict == Verdict.ERROR
    assert "no answer" in result.reason


def test_an_slo_with_nothing_to_judge_is_error() -> None:
    assert run(SLO(name="empty"), lambda spec: vec(1.0)).verdict == Verdict.ERROR


# --- latency ------------------------------------------------------------------------------


def test_latency_asks_the_first_rules_windows() -> None:
    assert windows(LATENCY, None) == ["latency@0:05:00", "latency@1:00:00"]


def test_latency_above_threshold_on_both_windows_fails() -> None:
    result = run(LATENCY, by_window({H: 0.8, 5 * M: 1.2}, role="latency"))
    assert result.verdict == Verdict.FAIL
    assert result.evidence == "latency-p99 0.8 > 0.5 (1h/5m)"


def test_latency_in_the_infinite_bucket_fails() -> None:
    result = run(LATENCY, by_window({H: math.inf, 5 * M: math.inf}, role="latency"))
    assert result.verdict == Verdict.FAIL
    assert result.to_json()["numbers"]["latency[1h]"] == "+Inf"  # type: ignore[index]


def test_latency_spike_only_in_the_short_window_passes() -> None:
    result = run(LATENCY, by_window({H: 0.3, 5 * M: 0.9}, role="latency"))
    assert result.verdict == Verdict.PASS


# --- comparison ---------------------------------------------------------------------------

COMPARE = Comparison(canary="c[{window}]", baseline="b[{window}]", min_samples=20)


def answers_for(
    canary: list[float], baseline: list[float], ratio: float
) -> Callable[[QuerySpec], Answer]:
    def answer(spec: QuerySpec) -> Answer:
        if spec.role == "canary":
            return matrix(*canary)
        if spec.role == "baseline":
            return matrix(*baseline)
        return vec(ratio)

    return answer


SPREAD = [0.010 + 0.001 * (i % 7) for i in range(30)]


def test_comparison_range_covers_the_soak_with_the_step() -> None:
    slo = SLO(name="cmp", compare=COMPARE)
    specs = plan_queries(slo, "canary", "checkout", AT, AT - 40 * M)
    assert [(s.role, s.start, s.step, s.promql) for s in specs] == [
        ("canary", AT - 40 * M, M, "c[1m]"),
        ("baseline", AT - 40 * M, M, "b[1m]"),
    ]


def test_comparison_range_stays_within_prometheus_point_limit() -> None:
    slo = SLO(name="cmp", compare=COMPARE)
    specs = plan_queries(slo, "canary", "checkout", AT, AT - timedelta(days=30))
    assert specs[0].start == AT - 10_999 * M


def test_canary_clearly_worse_than_baseline_fails() -> None:
    slo = SLO(name="cmp", compare=COMPARE)
    result = run(slo, answers_for([v * 3 for v in SPREAD], SPREAD, 0.0))
    assert result.verdict == Verdict.FAIL
    assert result.evidence.startswith("cmp 0.039 > 0.0143 (canary vs baseline, p=")
    assert float(result.numbers["p_value"]) < 0.001


def test_canary_within_tolerance_passes() -> None:
    slo = SLO(name="cmp", compare=COMPARE)
    assert run(slo, answers_for([v * 1.05 for v in SPREAD], SPREAD, 0.0)).verdict == Verdict.PASS


def test_too_few_samples_is_inconclusive() -> None:
    slo = SLO(name="cmp", compare=COMPARE)
    result = run(slo, answers_for(SPREAD[:5], SPREAD, 0.0))
    assert result.verdict == Verdict.INCONCLUSIVE
    assert result.reason == "5 comparison samples < min_samples 20"


def test_a_breach_the_baseline_shares_passes() -> None:
    slo = SLO(name="availability", error_ratio=ERR, compare=COMPARE)
    bad = [0.05 + v for v in SPREAD]
    result = run(slo, answers_for(bad, list(reversed(bad)), 0.05))
    assert result.verdict == Verdict.PASS
    assert "baseline is as bad" in result.reason


def test_a_breach_worse_than_baseline_fails_with_the_burn_rate_evidence() -> None:
    slo = SLO(name="availability", error_ratio=ERR, compare=COMPARE)
    result = run(slo, answers_for([0.05 + v for v in SPREAD], SPREAD, 0.05))
    assert result.verdict == Verdict.FAIL
    assert result.evidence == "availability 0.05 > 0.0144 (1h/5m)"


def test_to_json_is_plain() -> None:
    result = run(AVAILABILITY, lambda spec: vec(math.nan))
    doc = result.to_json()
    assert doc["verdict"] == "inconclusive"
    assert doc["slo"] == "availability"


def test_prometheus_warnings_are_kept_with_the_numbers() -> None:
    def answer(spec: QuerySpec) -> Answer:
        warned = QueryResult("vector", vec(0.0001).samples, ("partial response: store down",))
        return warned if spec.window == H else vec(0.0001)

    result = run(AVAILABILITY, answer)
    assert result.verdict == Verdict.PASS
    assert result.numbers["warnings"] == "partial response: store down"


def test_stage_verdict_takes_the_most_severe() -> None:
    def result(verdict: Verdict) -> SLOResult:
        return SLOResult("s", "canary", "", verdict, "")

    assert stage_verdict([]) == Verdict.PASS
    assert stage_verdict([result(Verdict.PASS), result(Verdict.INCONCLUSIVE)]) == (
        Verdict.INCONCLUSIVE
    )
    assert stage_verdict([result(Verdict.INCONCLUSIVE), result(Verdict.ERROR)]) == Verdict.ERROR
    assert stage_verdict([result(Verdict.ERROR), result(Verdict.FAIL)]) == Verdict.FAIL
