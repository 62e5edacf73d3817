from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.core.gates.security import (
    GATE,
    Alert,
    SarifError,
    SecurityFacts,
    SecuritySettings,
    is_blocking,
    parse_sarif,
    security_level,
    settings_from_config,
)
from bot.errors import ConfigError

NOW = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
SARIF = (Path(__file__).parent / "data" / "codeql.sarif").read_text()


def alert(rule: str, severity: str | None = None, sec: str | None = None, **kw: Any) -> Alert:
    return Alert(
        rule_id=rule,
        message=f"{rule} found",
        severity=severity,
        security_severity=sec,
        **kw,
    )


def test_no_alerts_passes_with_a_table() -> None:
    result = GATE.evaluate(SecurityFacts(ref="release/shop-2026-11-02"), SecuritySettings(), NOW)
    assert result.conclusion == "success"
    assert "| source |" in result.summary and "release/shop-2026-11-02" in result.summary


def test_alerts_below_threshold_pass() -> None:
    facts = SecurityFacts(alerts=(alert("a", "warning"), alert("b", "error", "medium")))
    result = GATE.evaluate(facts, SecuritySettings(), NOW)
    assert result.conclusion == "success"
    assert "| no |" in result.summary and "| **yes** |" not in result.summary


def test_alert_at_threshold_fails_with_annotation_at_file_and_line() -> None:
    facts = SecurityFacts(
        alerts=(
            alert(
                "js/xss",
                "error",
                "high",
                path="web/app.js",
                start_line=10,
                end_line=12,
                url="https://github.com/acme/shop/security/code-scanning/3",
                tool="CodeQL",
            ),
            alert("js/unused", "note", path="web/x.js", start_line=1),
        )
    )
    result = GATE.evaluate(facts, SecuritySettings(), NOW)
    assert result.conclusion == "failure"
    assert len(result.annotations) == 1
    (ann,) = result.annotations
    assert (ann.path, ann.start_line, ann.end_line, ann.annotation_level) == (
        "web/app.js",
        10,
        12,
        "failure",
    )
    assert "code-scanning/3" in result.summary
    assert result.details["blocking"] == ["js/xss"]


@pytest.mark.parametrize(
    ("severity", "sec", "min_sev", "min_sec", "blocks"),
    [
        ("error", None, "error", "high", True),
        ("warning", None, "error", "high", False),
        ("warning", None, "warning", "high", True),
        ("note", None, "note", "critical", True),
        ("error", "medium", "error", "high", False),  # security alerts use the security scale
        ("warning", "critical", "error", "high", True),
        ("error", "low", "note", "low", True),
        (None, None, "warning", "high", True),  # unknown severity counts as warning
    ],
)
def test_thresholds(
    severity: str | None, sec: str | None, min_sev: str, min_sec: str, blocks: bool
) -> None:
    settings = SecuritySettings(min_severity=min_sev, min_security_severity=min_sec)
    assert is_blocking(alert("r", severity, sec), settings) is blocks


@pytest.mark.parametrize(("when", "expected"), [("neutral", "neutral"), ("failure", "failure")])
def test_code_scanning_unavailable_is_never_success(when: str, expected: str) -> None:
    facts = SecurityFacts(
        unavailable='code scanning is not enabled (GitHub answered 404 "no analysis found")'
    )
    result = GATE.evaluate(facts, SecuritySettings(when_unavailable=when), NOW)
    assert result.conclusion == expected
    assert "no analysis found" in result.summary and "did not check anything" in result.summary


def test_sarif_results_parse_with_rule_levels_and_security_severity() -> None:
    alerts = parse_sarif(SARIF)
    assert [a.rule_id for a in alerts] == [
        "py/sql-injection",
        "py/weak-sensitive-data-hashing",
        "py/unused-import",
        "py/empty-except",
    ]  # the suppressed result is left out
    sql = alerts[0]
    assert (sql.severity, sql.security_severity, sql.path, sql.start_line, sql.end_line) == (
        "error",
        "high",
        "app/db.py",
        42,
        43,
    )
    assert alerts[1].path == "app/auth.py" and alerts[1].security_severity == "medium"
    assert alerts[2].severity == "note"


def test_sarif_source_fails_on_blocking_results() -> None:
    settings = SecuritySettings(source="sarif", sarif_path="results/codeql.sarif")
    result = GATE.evaluate(SecurityFacts(sarif_text=SARIF), settings, NOW)
    assert result.conclusion == "failure"
    assert {(a.path, a.start_line) for a in result.annotations} == {
        ("app/db.py", 42),
        ("app/worker.py", 88),
    }
    assert "results/codeql.sarif" in result.summary


def test_sarif_missing_or_broken_is_plain_about_it() -> None:
    settings = SecuritySettings(source="sarif", sarif_path="results/codeql.sarif")
    missing = GATE.evaluate(SecurityFacts(sarif_text=None), settings, NOW)
    assert missing.conclusion == "neutral" and "does not exist" in missing.summary
    broken = GATE.evaluate(SecurityFacts(sarif_text="{not json"), settings, NOW)
    assert broken.conclusion == "failure" and "not JSON" in broken.summary


@pytest.mark.parametrize(
    "text",
    [
        '{"version": "2.0.0", "runs": []}',
        "[]",
        '{"version": "2.1.0"}',
        '{"version": "2.1.0", "runs": [1]}',
    ],
)
def test_sarif_errors(text: str) -> None:
    with pytest.raises(SarifError):
        parse_sarif(text)


@pytest.mark.parametrize(
    ("score", "level"),
    [
        ("9.8", "critical"),
        ("9.0", "critical"),
        ("7.0", "high"),
        ("6.9", "medium"),
        ("4.0", "medium"),
        ("0.1", "low"),
        ("0", None),
        ("n/a", None),
    ],
)
def test_security_level(score: str, level: str | None) -> None:
    assert security_level(score) == level


def test_settings_from_config() -> None:
    assert settings_from_config({"min_severity": "warning"}).min_severity == "warning"
    with pytest.raises(ConfigError, match="sarif_path"):
        settings_from_config({"source": "sarif"})
    with pytest.raises(ConfigError, match="min_security_severity"):
        settings_from_config({"min_security_severity": "severe"})
