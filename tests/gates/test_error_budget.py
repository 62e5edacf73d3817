from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core.gates.error_budget import (
    GATE,
    ErrorBudgetFacts,
    ErrorBudgetSettings,
    settings_from_config,
)
from bot.errors import ConfigError

NOW = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


def test_enough_budget_passes() -> None:
    facts = ErrorBudgetFacts(remaining={"availability": 0.62, "latency": 0.31})
    result = GATE.evaluate(facts, ErrorBudgetSettings(min_remaining=0.25), NOW)
    assert result.conclusion == "success"
    assert "| availability | 62.0% | 25.0% | success |" in result.summary


def test_below_minimum_fails_naming_the_slo() -> None:
    facts = ErrorBudgetFacts(remaining={"availability": 0.62, "latency": 0.10})
    result = GATE.evaluate(facts, ErrorBudgetSettings(min_remaining=0.25), NOW)
    assert result.conclusion == "failure"
    assert "latency" in result.title and "availability" not in result.title


def test_overspent_budget_fails_and_per_slo_threshold_applies() -> None:
    facts = ErrorBudgetFacts(remaining={"availability": -0.2, "latency": 0.3})
    settings = ErrorBudgetSettings(min_remaining=0.0, per_slo={"latency": 0.5})
    result = GATE.evaluate(facts, settings, NOW)
    assert result.conclusion == "failure"
    assert result.details["failing"] == ["availability", "latency"]


def test_no_adapter_is_neutral_and_says_why() -> None:
    result = GATE.evaluate(ErrorBudgetFacts(), ErrorBudgetSettings(slos=("availability",)), NOW)
    assert result.conclusion == "neutral"
    assert "no SLO adapter" in result.summary and "not `success`" in result.summary


@pytest.mark.parametrize(
    ("on_no_data", "expected"), [("neutral", "neutral"), ("failure", "failure")]
)
def test_slo_without_data(on_no_data: str, expected: str) -> None:
    facts = ErrorBudgetFacts(remaining={"availability": None, "latency": float("nan")})
    settings = ErrorBudgetSettings(on_no_data=on_no_data)
    result = GATE.evaluate(facts, settings, NOW)
    assert result.conclusion == expected and "no data" in result.summary


def test_a_named_slo_missing_from_the_facts_is_no_data() -> None:
    facts = ErrorBudgetFacts(remaining={"availability": 0.9})
    settings = ErrorBudgetSettings(slos=("availability", "latency"))
    assert GATE.evaluate(facts, settings, NOW).conclusion == "neutral"


def test_settings_from_config() -> None:
    settings = settings_from_config({"slos": ["availability"], "min_remaining": 0.25})
    assert settings.slos == ("availability",) and settings.min_remaining == 0.25
    with pytest.raises(ConfigError, match="min_remaining"):
        settings_from_config({"min_remaining": 25})


def test_details_are_strict_json_for_the_ledger() -> None:
    import json

    facts = ErrorBudgetFacts(remaining={"availability": float("nan"), "latency": 0.5})
    result = GATE.evaluate(facts, ErrorBudgetSettings(), NOW)
    assert json.loads(json.dumps(result.details, allow_nan=False))["remaining"] == {
        "availability": None,
        "latency": 0.5,
    }


def test_budget_left_from_the_error_ratio_and_objective() -> None:
    from bot.core.gates.error_budget import budget_left

    assert budget_left(0.0, 99.9) == 1.0
    assert abs(budget_left(0.0005, 99.9) - 0.5) < 1e-9  # half of 0.1% spent
    assert abs(budget_left(0.001, 99.9)) < 1e-9  # all spent
    assert budget_left(0.002, 99.9) < 0  # overspent
    assert budget_left(0.0, 100.0) == 1.0
    left = budget_left(0.01, 100.0)
    assert left != left  # no budget at all and errors happened: NaN (the gate: no data)
