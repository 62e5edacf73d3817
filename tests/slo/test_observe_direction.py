"""Observe-only SLOs (shown, never acted on) and comparisons where lower is worse."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from bot.config.model import SLO, Comparison
from bot.core.slo import QuerySpec, Verdict, stage_action, stage_verdict
from bot.core.slo.results import Answer

from .helpers import AT, H, M, matrix, run, vec

ERR = "sum(rate(e[{window}])) / sum(rate(t[{window}]))"
BREACH = {5 * M: 0.05, 30 * M: 0.05, H: 0.05, 6 * H: 0.05}


def by_window(spec: QuerySpec) -> Answer:
    assert spec.window is not None
    return vec(BREACH[spec.window])


def test_an_observed_breach_is_shown_but_never_reverts_or_counts() -> None:
    enforced = SLO(name="availability", error_ratio=ERR)
    observed = replace(enforced, name="new-availability", mode="observe")
    seen, acted = run(observed, by_window), run(enforced, by_window)
    assert seen.verdict == Verdict.FAIL and seen.observe
    assert seen.reason.startswith("observe only: burn rate above 14.4x")
    assert seen.to_json()["observe"] is True
    assert stage_action([seen], [observed], None, AT) == "ok"
    assert stage_verdict([seen]) == Verdict.PASS
    # beside an enforced SLO that breaches too, the enforced one decides
    assert stage_action([seen, acted], [observed, enforced], None, AT) == "revert"
    assert stage_verdict([seen, acted]) == Verdict.FAIL


def test_an_observed_slo_without_data_never_holds() -> None:
    observed = SLO(name="new", error_ratio=ERR, mode="observe", inconclusive_after=M)
    result = run(observed, lambda spec: None)
    assert result.verdict == Verdict.ERROR and result.observe
    assert stage_action([result], [observed], AT - H, AT) == "ok"


SUCCESS = [0.99 - 0.001 * (i % 7) for i in range(30)]  # a success rate: lower is worse


def comparing(worse: str) -> SLO:
    compare = Comparison(canary="c[{window}]", baseline="b[{window}]", worse=worse)
    return SLO(name="success", compare=compare)


def answers(canary: list[float]) -> Callable[[QuerySpec], Answer]:
    def answer(spec: QuerySpec) -> Answer:
        return matrix(*(canary if spec.role == "canary" else SUCCESS))

    return answer


def test_a_canary_with_a_lower_success_rate_fails_when_lower_is_worse() -> None:
    dropped = [v - 0.2 for v in SUCCESS]
    result = run(comparing("lower"), answers(dropped))
    assert result.verdict == Verdict.FAIL, result.reason
    assert result.reason.startswith("canary worse than baseline, lower is worse")
    assert result.evidence.startswith("success 0.787 < 0.8883 (canary vs baseline, lower is")
    # read the other way round the same drop looks like an improvement
    same = run(comparing("higher"), answers(dropped))
    assert same.verdict == Verdict.PASS


def test_a_higher_success_rate_is_never_worse_when_lower_is_worse() -> None:
    better = [min(1.0, v + 0.005) for v in SUCCESS]
    result = run(comparing("lower"), answers(better))
    assert result.verdict == Verdict.PASS
    within = [v * 0.95 for v in SUCCESS]  # 5 % lower: inside the 10 % tolerance
    assert run(comparing("lower"), answers(within)).verdict == Verdict.PASS
