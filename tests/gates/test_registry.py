from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.config.model import ApprovalRule, Gates
from bot.core.gates.ci import CIFacts
from bot.core.gates.error_budget import ErrorBudgetFacts
from bot.core.gates.manifests import ManifestFacts
from bot.core.gates.policy import PolicyFacts, Review
from bot.core.gates.registry import evaluate_all, gate_names, gate_settings
from bot.core.gates.security import SecurityFacts
from bot.core.gates.verdict import train_verdict
from bot.errors import ConfigError

NOW = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


def test_gate_names_and_settings_from_the_typed_config() -> None:
    assert gate_names() == (
        "ci",
        "security",
        "manifests",
        "policy",
        "error-budget",
        "flags",
        "migrations",
    )
    gates = Gates(
        ci={"required": ["build"]},
        approvals=ApprovalRule(required=2),
        error_budget={"min_remaining": 0.1},
    )
    settings = gate_settings(gates)
    assert settings["ci"].required == ("build",)
    assert settings["policy"].approvals.required == 2
    assert settings["error-budget"].min_remaining == 0.1


def test_bad_settings_raise_config_error() -> None:
    with pytest.raises(ConfigError, match=r"gates\.ci"):
        gate_settings(Gates(ci={"required": 5}))


def test_a_full_pass_and_the_verdict() -> None:
    facts = {
        "ci": CIFacts("abc", NOW),
        "security": SecurityFacts(),
        "manifests": ManifestFacts(),
        "policy": PolicyFacts(
            reviews=(Review("rel", "APPROVED", NOW, "abc"),),
            permissions={"rel": "write"},
            head_sha="abc",
        ),
        "error-budget": ErrorBudgetFacts(),
    }
    results = evaluate_all(facts, gate_settings(Gates()), NOW)
    assert [r.conclusion for r in results] == [
        "success",
        "success",
        "success",
        "success",
        "neutral",
    ]
    assert not train_verdict(results, ()).may_merge
    assert train_verdict(results, ("error_budget",)).may_merge


def test_missing_facts_wait_and_block() -> None:
    results = evaluate_all({"ci": CIFacts("abc", NOW)}, gate_settings(Gates()), NOW)
    assert [r.conclusion for r in results][1:] == ["in_progress"] * 4
    verdict = train_verdict(results, ("security", "manifests", "policy", "error-budget"))
    assert not verdict.may_merge
    assert verdict.blocking == ("security", "manifests", "policy", "error-budget")


def test_the_optional_flags_gate_runs_only_when_configured() -> None:
    from bot.core.gates.flags import FlagFacts

    assert "flags" not in gate_settings(Gates())
    facts = {"ci": CIFacts("abc", NOW)}
    assert "flags" not in [r.gate for r in evaluate_all(facts, gate_settings(Gates()), NOW)]
    gates = Gates(flags={"files": ["flags/*.json"]})
    waiting = evaluate_all(facts, gate_settings(gates), NOW)
    assert [r.conclusion for r in waiting if r.gate == "flags"] == ["in_progress"]
    judged = evaluate_all({**facts, "flags": FlagFacts()}, gate_settings(gates), NOW)
    assert [r.title for r in judged if r.gate == "flags"] == ["No feature flags touched"]


def test_a_gate_config_error_shows_on_its_own_check_run() -> None:
    from bot.core.gates.registry import load_settings

    settings, failed = load_settings(Gates(security={"min_severity": "severe"}))
    assert set(failed) == {"security"} and "ci" in settings
    results = evaluate_all({"ci": CIFacts("abc", NOW)}, settings, NOW, failed)
    security = next(r for r in results if r.gate == "security")
    assert security.conclusion == "failure"
    assert "gates.security" in security.summary and "severe" in security.summary
    assert results[0].conclusion == "success"  # the other gates still run


def test_every_shipped_config_gives_valid_gate_settings() -> None:
    """The examples, and the demo's config, load and every gate accepts its settings."""
    from pathlib import Path

    from bot.config.load import load_config
    from bot.core.gates.registry import load_settings

    root = Path(__file__).resolve().parents[2]
    configs = [
        *sorted((root / "examples").glob("*.yml")),
        root / "bot" / "sandbox" / "demo" / "shop" / ".github" / "release-train.yml",
    ]
    assert len(configs) >= 3
    for path in configs:
        settings, failed = load_settings(load_config(path).gates)
        assert failed == {}, (path, {k: v.summary for k, v in failed.items()})
        assert set(gate_names()) - set(settings) <= {"flags", "migrations"}  # when configured
