from __future__ import annotations

from datetime import timedelta

from bot.config.model import SLO
from bot.core.slo import SLOResult, Verdict
from bot.core.slo.hold import stage_action, unsure_action

from .helpers import AT, H, M

STRICT = SLO(name="a", inconclusive_after=H, on_inconclusive="revert")
PATIENT = SLO(name="b")
ABORTING = SLO(name="c", inconclusive_after=30 * M, on_inconclusive="abort")


def result(slo: SLO, verdict: Verdict) -> SLOResult:
    return SLOResult(slo.name, "canary", "", verdict, "")


def test_unsure_holds_until_the_deadline_then_does_what_the_config_says() -> None:
    assert unsure_action(STRICT, AT, AT + 59 * M) == "hold"
    assert unsure_action(STRICT, AT, AT + H) == "revert"
    assert unsure_action(PATIENT, AT, AT + timedelta(days=30)) == "hold"


def test_any_fail_reverts() -> None:
    results = [result(PATIENT, Verdict.PASS), result(STRICT, Verdict.FAIL)]
    assert stage_action(results, [PATIENT, STRICT], None, AT) == "revert"


def test_all_pass_is_ok() -> None:
    assert stage_action([result(STRICT, Verdict.PASS)], [STRICT], None, AT) == "ok"


def test_unsure_slos_hold_then_the_strongest_action_wins() -> None:
    results = [result(ABORTING, Verdict.ERROR), result(STRICT, Verdict.INCONCLUSIVE)]
    slos = [ABORTING, STRICT]
    assert stage_action(results, slos, AT, AT + 10 * M) == "hold"
    assert stage_action(results, slos, AT, AT + 40 * M) == "abort"
    assert stage_action(results, slos, AT, AT + 2 * H) == "revert"
    assert stage_action(results, slos, None, AT + 2 * H) == "hold"  # first unsure tick
