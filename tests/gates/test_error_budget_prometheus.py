"""The error-budget gate in the real reconcile, reading a real Prometheus: a production
error ratio that spent the budget blocks the merge; a healthy one lets the train merge
with `error-budget=success` in its Gates trailer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from lifecycle.lifecycle_sandbox import REPO, config_text, new_story, start_time
from prometheus_server import PrometheusServer, prometheus_bin
from slo.synthetic import const, requests

from bot.adapters.prometheus import PrometheusClient

SLOS = """
slos:
  - name: availability
    objective: 99.9
    window: 1h
    error_ratio: >-
      sum(rate(http_requests_total{{team="{team}",service="{{service}}",
      stage="{{stage}}",code=~"5.."}}[{{window}}]))
      / sum(rate(http_requests_total{{team="{team}",service="{{service}}",
      stage="{{stage}}"}}[{{window}}]))
"""


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    if prometheus_bin() is None:
        pytest.fail(
            "no prometheus binary: run `bash .ci/install-system-deps.sh` or set PROMETHEUS_BIN"
        )
    with PrometheusServer.start(tmp_path_factory.mktemp("prometheus")) as server:
        yield server


def _train(sandbox: Any, prometheus: PrometheusServer, team: str, errors: float) -> Any:
    """Production traffic for the last two hours with `errors` failing; a departed train,
    approved and green; the result of the reconcile that may merge it."""
    end = datetime.now(UTC).timestamp()
    labels = {"team": team, "service": "web", "stage": "production"}
    prometheus.push(
        requests(labels, end - 2 * 3600, end, rps=const(10), error_fraction=const(errors))
    )
    t0 = start_time()
    story = new_story(sandbox, t0, config_text(t0) + SLOS.format(team=team))
    kit = story.kit
    number = kit.open_pr(REPO, "dev-alice", "feat-a", {"a.txt": "a\n"}, title="Add A")
    kit.review(REPO, number, "rev-carol", "APPROVE")
    story.green(story.pull(number)["head"]["sha"])
    kit.label(REPO, number, "train:next", actor="dev-alice")
    with PrometheusClient(prometheus.url, retries=1, sleep=lambda s: None) as client:
        story.reconcile(t0, prometheus=client)
        story.reconcile(t0 + timedelta(minutes=2), prometheus=client)
        train_pr = story.open_train_pr()
        story.green(train_pr["head"]["sha"])
        story.approve(train_pr["number"], "rm-dave", t0 + timedelta(minutes=3))
        story.reconcile(t0 + timedelta(minutes=3), prometheus=client)
    sha = train_pr["head"]["sha"]
    out = kit.call("GET", f"/repos/{REPO}/commits/{sha}/check-runs", as_user="rm-dave")
    gate = max(
        (r for r in out["check_runs"] if r["name"] == "release-train/error-budget"),
        key=lambda r: r["id"],
    )
    return story, story.pull(train_pr["number"]), gate


def test_a_spent_error_budget_blocks_the_merge(sandbox: Any, prometheus: Any) -> None:
    _, pull, gate = _train(sandbox, prometheus, "red", 0.05)
    assert gate["conclusion"] == "failure" and "availability" in gate["output"]["title"]
    assert pull["merged"] is False


def test_a_healthy_error_budget_lets_the_train_merge(sandbox: Any, prometheus: Any) -> None:
    _, pull, gate = _train(sandbox, prometheus, "green", 0.0001)
    assert gate["conclusion"] == "success", gate["output"]
    assert pull["merged"] is True
    message = sandbox.git.out(REPO, "log", "-1", "--format=%B", pull["merge_commit_sha"])
    assert "error-budget=success" in message
