"""Parsing real GitHub payloads (from @octokit/webhooks-examples) into gate facts, and the
check-run request bodies against GitHub's published OpenAPI request schemas."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator

from bot.core.gates.base import Annotation, GateResult
from bot.core.gates.checkrun import plan_check_run
from bot.core.gates.ci import GATE as CI
from bot.core.gates.ci import CIFacts, CISettings
from bot.core.gates.from_github import (
    alert_from_api,
    check_runs_from_api,
    code_scanning_unavailable,
    commit_statuses_from_api,
    existing_check_run_from_api,
    open_alerts_from_api,
    parse_time,
    review_from_api,
    reviews_from_api,
)

DATA = Path(__file__).resolve().parents[1] / "data"
NOW = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


@cache
def examples(event: str) -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads((DATA / "webhooks" / f"{event}.json").read_text())
    return loaded


@cache
def openapi() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DATA / "openapi" / "github-subset.json").read_text())
    return loaded


def request_schema(path: str, method: str) -> dict[str, Any]:
    body = openapi()["paths"][path][method]["requestBody"]
    schema: dict[str, Any] = body["content"]["application/json"]["schema"]
    return schema


def test_check_runs_from_real_payloads() -> None:
    runs = check_runs_from_api(
        {"total_count": 9, "check_runs": [e["check_run"] for e in examples("check_run")]}
    )
    assert len(runs) == 9
    first = runs[0]
    assert (first.name, first.status, first.conclusion, first.id) == (
        "Octocoders-linter",
        "queued",
        None,
        128620228,
    )
    assert first.url.endswith("/runs/128620228")
    assert first.started_at == datetime(2019, 5, 15, 15, 21, 12, tzinfo=UTC)
    completed = [r for r in runs if r.status == "completed"]
    assert completed and all(r.conclusion for r in completed)


def test_parsed_check_runs_drive_the_ci_gate() -> None:
    runs = check_runs_from_api([e["check_run"] for e in examples("check_run")])
    result = CI.evaluate(
        CIFacts("ec26c3e", NOW, runs), CISettings(required=("Octocoders-linter",)), NOW
    )
    assert result.conclusion in ("success", "failure", "in_progress")
    assert "Octocoders-linter" in result.summary


def test_statuses_from_real_payloads() -> None:
    statuses = commit_statuses_from_api([e for e in examples("status")])
    assert {(s.context, s.state) for s in statuses} == {("default", "success")}
    assert statuses[0].updated_at == datetime(2019, 5, 15, 15, 20, 55, tzinfo=UTC)
    assert commit_statuses_from_api({"state": "pending", "statuses": []}) == ()


def test_alerts_from_real_payloads() -> None:
    alerts = [alert_from_api(e["alert"]) for e in examples("code_scanning_alert")]
    assert alerts[2].rule_id == "java/sql-injection" and alerts[2].severity == "error"
    assert alerts[2].tool == "CodeQL" and alerts[2].url.endswith(
        "/code-scanning/" + str(alerts[2].number)
    )
    fixed = alerts[3]
    assert (fixed.path, fixed.start_line, fixed.end_line) == (
        "src/main/java/com/github/demo/service/BookService.java",
        84,
        84,
    )
    only_open = open_alerts_from_api([e["alert"] for e in examples("code_scanning_alert")])
    assert len(only_open) == 4


def test_rest_alert_shape_with_security_severity() -> None:
    alert = alert_from_api(
        {
            "number": 7,
            "state": "open",
            "html_url": "https://github.com/a/b/security/code-scanning/7",
            "rule": {
                "id": "py/sql-injection",
                "severity": "error",
                "security_severity_level": "high",
                "description": "SQL injection",
            },
            "tool": {"name": "CodeQL"},
            "most_recent_instance": {
                "location": {"path": "app/db.py", "start_line": 3, "end_line": 4},
                "message": {"text": "tainted"},
            },
        }
    )
    assert (alert.security_severity, alert.message, alert.start_line, alert.end_line) == (
        "high",
        "tainted",
        3,
        4,
    )


def test_reviews_from_real_payloads() -> None:
    reviews = reviews_from_api([e["review"] for e in examples("pull_request_review")])
    assert [r.state for r in reviews] == ["COMMENTED", "DISMISSED", "COMMENTED", "COMMENTED"]
    assert reviews[0].user == "Codertocat" and reviews[0].commit_id
    assert review_from_api({"user": {"login": "x"}, "state": "PENDING"}) is None


def test_code_scanning_unavailable_words() -> None:
    assert "404" in (code_scanning_unavailable(404, "no analysis found") or "")
    assert "not enabled" in (code_scanning_unavailable(403) or "")
    assert code_scanning_unavailable(500) is None


def test_parse_time() -> None:
    assert parse_time("2026-11-02T14:00:00Z") == datetime(2026, 11, 2, 14, tzinfo=UTC)
    assert parse_time(None) is None and parse_time("yesterday") is None


def test_existing_check_run_from_api() -> None:
    run = copy.deepcopy(examples("check_run")[1]["check_run"])
    existing = existing_check_run_from_api(run)
    assert existing.id == run["id"] and existing.status == "completed"
    assert existing.annotations_count == run["output"]["annotations_count"]


def _result(conclusion: str, n: int) -> GateResult:
    anns = tuple(Annotation(f"f{i}.yaml", i + 1, i + 1, "failure", f"m{i}", "t") for i in range(n))
    return GateResult(
        "security",
        conclusion,  # type: ignore[arg-type]
        "A title",
        "A summary " * 10,
        annotations=anns,
    )


@pytest.mark.parametrize(
    ("conclusion", "n"),
    [("in_progress", 0), ("failure", 120), ("success", 0), ("action_required", 3)],
)
def test_plans_validate_against_githubs_request_schemas(conclusion: str, n: int) -> None:
    plan = plan_check_run(_result(conclusion, n), "a" * 40, NOW, details_url="https://x/y")
    create = request_schema("/repos/{owner}/{repo}/check-runs", "post")
    update = request_schema("/repos/{owner}/{repo}/check-runs/{check_run_id}", "patch")
    OAS30Validator(create).validate(plan.first)
    OAS30Validator(update).validate(plan.as_update())
    for body in plan.rest:
        OAS30Validator(update).validate(body)


def test_the_published_schema_rejects_51_annotations() -> None:
    """The limit we batch for is real: GitHub's schema says maxItems 50."""
    plan = plan_check_run(_result("failure", 51), "a" * 40, NOW)
    body = copy.deepcopy(plan.first)
    body["output"]["annotations"] += plan.rest[0]["output"]["annotations"]
    create = request_schema("/repos/{owner}/{repo}/check-runs", "post")
    assert not OAS30Validator(create).is_valid(body)
