from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.gates.ci import (
    GATE,
    CheckRun,
    CIFacts,
    CISettings,
    CommitStatus,
    settings_from_config,
)
from bot.errors import ConfigError

DEPARTED = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
NOW = DEPARTED + timedelta(minutes=10)


def run(name: str, conclusion: str | None = "success", **kw: object) -> CheckRun:
    status = "completed" if conclusion else "in_progress"
    return CheckRun(name=name, status=status, conclusion=conclusion, **kw)  # type: ignore[arg-type]


def facts(*runs: CheckRun, statuses: tuple[CommitStatus, ...] = ()) -> CIFacts:
    return CIFacts(
        head_sha="abc123def4567890", departed_at=DEPARTED, check_runs=runs, statuses=statuses
    )


def test_all_required_green_passes() -> None:
    settings = CISettings(required=("build", "test (*)", "ci/lint"))
    result = GATE.evaluate(
        facts(
            run("build"),
            run("test (3.11)"),
            run("test (3.12)"),
            statuses=(CommitStatus("ci/lint", "success"),),
        ),
        settings,
        NOW,
    )
    assert result.conclusion == "success", result.summary
    assert "test (3.12)" in result.summary and "ci/lint" in result.summary
    assert result.recheck_after is None


def test_one_failing_check_fails_naming_it_with_url() -> None:
    url = "https://github.com/acme/shop/runs/42"
    result = GATE.evaluate(
        facts(run("build"), run("test (3.12)", "failure", url=url)),
        CISettings(required=("build", "test (*)")),
        NOW,
    )
    assert result.conclusion == "failure"
    assert "test (3.12)" in result.title
    assert url in result.summary
    assert result.details["failed"] == ["test (3.12)"]


def test_pending_is_in_progress_with_recheck() -> None:
    result = GATE.evaluate(facts(run("build", None)), CISettings(required=("build",)), NOW)
    assert result.conclusion == "in_progress"
    assert result.recheck_after == timedelta(minutes=2)
    assert result.details["pending"] == ["build"]


def test_missing_before_timeout_waits_then_fails_listing_what_never_reported() -> None:
    settings = CISettings(required=("build", "e2e-*", "deploy-preview"), timeout=timedelta(hours=1))
    early = GATE.evaluate(facts(run("build")), settings, NOW)
    assert early.conclusion == "in_progress"
    late = GATE.evaluate(facts(run("build")), settings, DEPARTED + timedelta(hours=1))
    assert late.conclusion == "failure"
    assert late.details["missing"] == ["e2e-*", "deploy-preview"]
    assert "`e2e-*`" in late.summary and "`deploy-preview`" in late.summary


def test_recheck_never_later_than_the_timeout() -> None:
    settings = CISettings(
        required=("slow",), timeout=timedelta(minutes=11), recheck=timedelta(minutes=5)
    )
    result = GATE.evaluate(facts(), settings, NOW)
    assert result.recheck_after == timedelta(minutes=1)


@pytest.mark.parametrize(
    ("conclusion", "allow", "expected"),
    [
        ("neutral", True, "success"),
        ("skipped", True, "success"),
        ("neutral", False, "failure"),
        ("skipped", False, "failure"),
        ("cancelled", True, "failure"),
        ("timed_out", True, "failure"),
        ("action_required", True, "failure"),
    ],
)
def test_neutral_and_skipped_are_configurable(conclusion: str, allow: bool, expected: str) -> None:
    result = GATE.evaluate(
        facts(run("build", conclusion)), CISettings(required=("build",), allow_neutral=allow), NOW
    )
    assert result.conclusion == expected


def test_rerun_newest_check_run_wins() -> None:
    old = run("build", "failure", started_at=DEPARTED, id=1)
    new = run("build", "success", started_at=DEPARTED + timedelta(minutes=5), id=2)
    assert GATE.evaluate(facts(new, old), CISettings(required=("build",)), NOW).conclusion == (
        "success"
    )


def test_latest_commit_status_per_context_wins() -> None:
    statuses = (
        CommitStatus("ci/lint", "success", updated_at=DEPARTED + timedelta(minutes=3)),
        CommitStatus("ci/lint", "pending", updated_at=DEPARTED + timedelta(minutes=1)),
    )
    result = GATE.evaluate(facts(statuses=statuses), CISettings(required=("ci/*",)), NOW)
    assert result.conclusion == "success"


def test_commit_status_error_fails() -> None:
    statuses = (CommitStatus("jenkins", "error", url="https://ci.example/1"),)
    result = GATE.evaluate(facts(statuses=statuses), CISettings(required=("jenkins",)), NOW)
    assert result.conclusion == "failure" and "https://ci.example/1" in result.summary


def test_own_check_runs_never_satisfy_a_pattern() -> None:
    result = GATE.evaluate(
        facts(run("release-train/ci"), run("release-train/policy")),
        CISettings(required=("*",), timeout=timedelta(minutes=5)),
        NOW,
    )
    assert result.conclusion == "failure"
    assert result.details["missing"] == ["*"]


def test_no_required_checks_is_success_saying_so() -> None:
    result = GATE.evaluate(facts(), CISettings(), NOW)
    assert result.conclusion == "success" and "no `required`" in result.summary


def test_settings_from_config() -> None:
    settings = settings_from_config(
        {"required": ["build"], "timeout": "30m", "allow_neutral": False}
    )
    assert settings == CISettings(
        required=("build",), allow_neutral=False, timeout=timedelta(minutes=30)
    )
    with pytest.raises(ConfigError, match="duration"):
        settings_from_config({"timeout": "soon"})
    with pytest.raises(ConfigError, match="unknown setting"):
        settings_from_config({"requried": ["x"]})
