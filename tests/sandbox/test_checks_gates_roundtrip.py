"""The gates' own payloads and parsers against the sandbox: what the bot publishes is
accepted with GitHub's limits, and what the sandbox answers parses into the gates' facts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from githubkit import GitHub
from githubkit.exception import RequestFailed

from bot.core.gates.base import Annotation, GateResult
from bot.core.gates.checkrun import plan_check_run
from bot.core.gates.from_github import (
    check_runs_from_api,
    code_scanning_unavailable,
    commit_statuses_from_api,
    open_alerts_from_api,
)
from bot.sandbox.api.code_scanning import seed_alerts
from bot.sandbox.runner import Sandbox

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)


@pytest.fixture
def bot(sandbox: Sandbox) -> Iterator[GitHub[Any]]:
    sandbox.scenario.demo()
    with GitHub(sandbox.bot_token(), base_url=sandbox.base_url, auto_retry=False) as gh:
        yield gh


def _head(sandbox: Sandbox) -> str:
    sha = sandbox.git.resolve("acme/shop", "main")
    assert sha is not None
    return sha


def test_a_gate_result_with_120_annotations_publishes_completely(
    sandbox: Sandbox, bot: GitHub[Any]
) -> None:
    notes = tuple(
        Annotation("deploy/prod.yaml", i, i, "failure", f"finding {i}", title=f"t{i}")
        for i in range(1, 121)
    )
    result = GateResult("security", "failure", "3 findings", "summary", notes)
    plan = plan_check_run(result, _head(sandbox), NOW, text="details")
    assert len(plan.rest) == 2
    run = bot.request("POST", "/repos/acme/shop/check-runs", json=plan.first).json()
    for body in plan.rest:
        bot.request("PATCH", f"/repos/acme/shop/check-runs/{run['id']}", json=body)
    got = bot.rest.checks.get("acme", "shop", run["id"]).json()
    assert got["output"]["annotations_count"] == 120
    assert (got["status"], got["conclusion"]) == ("completed", "failure")
    listed = bot.rest.checks.list_for_ref("acme", "shop", "main").json()
    [parsed] = check_runs_from_api(listed)
    assert (parsed.name, parsed.conclusion, parsed.id) == ("release-train/security", "failure",
                                                           run["id"])  # fmt: skip


def test_statuses_and_alerts_parse_into_gate_facts(sandbox: Sandbox, bot: GitHub[Any]) -> None:
    sha = _head(sandbox)
    bot.rest.repos.create_commit_status("acme", "shop", sha, state="failure", context="ci/e2e",
                                        description="2 failed")  # fmt: skip
    combined = bot.rest.repos.get_combined_status_for_ref("acme", "shop", "main").json()
    [status] = commit_statuses_from_api(combined)
    assert (status.context, status.state, status.description) == ("ci/e2e", "failure", "2 failed")
    assert status.updated_at is not None
    with pytest.raises(RequestFailed) as failed:
        bot.rest.code_scanning.list_alerts_for_repo("acme", "shop")
    response = failed.value.response
    reason = code_scanning_unavailable(response.status_code, response.json()["message"])
    assert reason is not None and "no analysis found" in reason
    seed_alerts(sandbox.scenario, "acme/shop", [
        {"rule_id": "py/sqli", "security_severity": "critical", "path": "src/db.py", "line": 7},
        {"rule_id": "py/old", "state": "fixed"},
    ])  # fmt: skip
    alerts = bot.rest.code_scanning.list_alerts_for_repo("acme", "shop", state="open").json()
    [alert] = open_alerts_from_api(alerts)
    assert (alert.rule_id, alert.security_severity, alert.path, alert.start_line) == (
        "py/sqli", "critical", "src/db.py", 7)  # fmt: skip
