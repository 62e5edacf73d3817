from __future__ import annotations

from bot.core.gates.base import GateResult
from bot.core.gates.verdict import parse_trailer, train_verdict


def result(gate: str, conclusion: str) -> GateResult:
    return GateResult(gate, conclusion, "t", "s")  # type: ignore[arg-type]


ALL_GREEN = [result("ci", "success"), result("security", "success"), result("policy", "success")]


def test_full_green_may_merge_with_trailer() -> None:
    verdict = train_verdict(ALL_GREEN, ())
    assert verdict.may_merge and verdict.blocking == ()
    assert verdict.trailer == "ci=success, security=success, policy=success"


def test_any_non_green_blocks() -> None:
    for conclusion in ("failure", "action_required", "in_progress", "neutral"):
        verdict = train_verdict([*ALL_GREEN, result("error-budget", conclusion)], ())
        assert not verdict.may_merge
        assert verdict.blocking == ("error-budget",)


def test_neutral_allowed_by_config_name_either_spelling() -> None:
    results = [*ALL_GREEN, result("error-budget", "neutral"), result("security2", "neutral")]
    verdict = train_verdict(results, ("error_budget",))
    assert verdict.blocking == ("security2",)
    assert train_verdict(results, ("error-budget", "security2")).may_merge


def test_no_results_never_merges() -> None:
    assert not train_verdict([], ()).may_merge


def test_trailer_round_trips() -> None:
    verdict = train_verdict([*ALL_GREEN, result("error-budget", "neutral")], ("error-budget",))
    assert parse_trailer(verdict.trailer) == {
        "ci": "success",
        "security": "success",
        "policy": "success",
        "error-budget": "neutral",
    }


def test_transitions_only_for_changed_conclusions() -> None:
    from bot.core.gates.verdict import transitions

    results = [result("ci", "success"), result("security", "failure"), result("policy", "neutral")]
    changed = transitions({"ci": "success", "security": "in_progress"}, results)
    assert [(t.gate, t.previous, t.conclusion) for t in changed] == [
        ("security", "in_progress", "failure"),
        ("policy", None, "neutral"),
    ]
    assert changed[0].trailer() == "security=failure"
    assert transitions({"ci": "success", "security": "failure", "policy": "neutral"}, results) == ()
