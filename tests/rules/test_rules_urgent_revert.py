"""Pull-request mode under a rule that requires an approving review: the stage PR waits
with its configured reviewers asked (once); an SLO breach opens the revert PR at once,
labelled urgent, and the incident says the revert waits for a human; after an approval the
revert merges and the train is rolled back (against a real Prometheus)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from lifecycle.lifecycle_sandbox import REPO
from prometheus_server import PrometheusServer, prometheus_bin
from promotion.promotion_story import Merged, merged_train
from slo.synthetic import const, requests

from bot.adapters.prometheus import PrometheusClient
from bot.sandbox.rules import state

M = timedelta(minutes=1)
REVIEW = {"type": "pull_request", "parameters": {"required_approving_review_count": 1}}


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    if prometheus_bin() is None:
        pytest.skip("no prometheus binary: run `bash .ci/install-system-deps.sh`")
    with PrometheusServer.start(tmp_path_factory.mktemp("prometheus")) as server:
        yield server


def _by_pull_requests(text: str) -> str:
    for stage, glob in (("staging", "deploy/staging/*.yaml"), ("canary", "deploy/canary/*")):
        old = f'  - name: {stage}\n    manifests: ["{glob}"]\n'
        assert old in text
        text = text.replace(old, old + "    mode: pull_request\n    reviewers: [rev-carol]\n")
    return text


def _require_review(sandbox: Any) -> None:
    with sandbox.store.transaction():
        state.rulesets(sandbox.store, REPO)["901"] = {
            "name": "reviewed", "target": "branch", "enforcement": "active",
            "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}},
            "rules": [REVIEW], "bypass_actors": [],
        }  # fmt: skip


def _waiting_pull(m: Merged) -> dict[str, Any]:
    number = int(m.record()["extra"]["blocked"]["pull"])
    return m.story.pull(number)


def _review_requests(m: Merged, mark: int, number: int) -> int:
    path = f"/repos/{REPO}/pulls/{number}/requested_reviewers"
    return sum(1 for r in m.story.writes_since(mark) if r[0] == "POST" and r[1].endswith(path))


def _push(prometheus: Any, service: str, error_fraction: float) -> None:
    stop = datetime.now(UTC).timestamp()
    labels = {"service": service, "stage": "canary"}
    prometheus.push(
        requests(labels, stop - 3 * 3600, stop, rps=const(10), error_fraction=const(error_fraction))
    )


def _approve_and_go_on(m: Merged, at: datetime, client: Any) -> None:
    pull = _waiting_pull(m)
    m.kit.review(REPO, pull["number"], "rev-carol")
    assert m.story.reconcile(at, prometheus=client).problems == ()
    assert m.story.pull(pull["number"])["merged"] is True


def test_an_slo_breach_in_pull_request_mode_opens_an_urgent_revert_that_waits_for_review(
    sandbox: Any, prometheus: Any
) -> None:
    t0 = datetime.now(UTC).replace(second=0, microsecond=0) - 40 * M
    m = merged_train(sandbox, canary_slos=True, t0=t0, edit_config=_by_pull_requests)
    _require_review(sandbox)
    _push(prometheus, "web", 0.5)  # half the requests fail: a breach as soon as it is judged
    _push(prometheus, "api", 0.0005)
    with PrometheusClient(prometheus.url, retries=1, sleep=lambda s: None) as client:
        mark = m.story.log_mark()
        waiting = m.story.reconcile(m.merged_at, prometheus=client)
        assert "approve pull request #" in waiting.problems[0]
        staging_pr = _waiting_pull(m)
        assert [u["login"] for u in staging_pr["requested_reviewers"]] == ["rev-carol"]
        m.story.reconcile(m.merged_at + M, prometheus=client)
        assert _review_requests(m, mark, staging_pr["number"]) == 1  # asked once
        _approve_and_go_on(m, m.merged_at + M, client)

        canary_at = m.merged_at + 11 * M
        m.story.reconcile(canary_at, prometheus=client)  # staging passed; canary's PR waits
        _approve_and_go_on(m, canary_at, client)
        assert m.record()["extra"]["promotion"]["steps"][1]["status"] == "soaking"

        # the breach: the revert PR is opened at once, urgent; the incident says it waits
        breach = m.story.reconcile(canary_at + 6 * M, prometheus=client)
        assert "approve pull request #" in breach.problems[0]
        record = m.record()
        assert record["state"] == "promoting" and record["extra"]["blocked"]["revert"] is True
        revert_pr = _waiting_pull(m)
        assert revert_pr["state"] == "open" and "/revert/" in revert_pr["head"]["ref"]
        assert "urgent" in {label["name"] for label in revert_pr["labels"]}
        assert [u["login"] for u in revert_pr["requested_reviewers"]] == ["rev-carol"]
        incident_no = record["extra"]["promotion"]["incident"]
        incident = m.kit.call("GET", f"/repos/{REPO}/issues/{incident_no}", as_user="rm-dave")
        assert "waits for a human (a required review)" in incident["body"]
        assert "SLO breach" in incident["body"]

        again = m.story.reconcile(canary_at + 7 * M, prometheus=client)  # told, not re-recorded
        assert len(again.problems) == 1 and m.record()["history"] == record["history"]

        # approvals: canary's revert merges, then staging's (its own pull request) waits
        m.kit.review(REPO, revert_pr["number"], "rev-carol")
        m.story.reconcile(canary_at + 8 * M, prometheus=client)
        assert m.story.pull(revert_pr["number"])["merged"] is True
        staging_revert = _waiting_pull(m)
        assert "urgent" in {label["name"] for label in staging_revert["labels"]}
        m.kit.review(REPO, staging_revert["number"], "rev-carol")
        assert m.story.reconcile(canary_at + 9 * M, prometheus=client).problems == ()
        record = m.record()
        assert record["state"] == "rolled_back" and "blocked" not in record["extra"]
        assert record["extra"]["promotion"]["incident"] == incident_no  # adopted, not twice
        assert 'newTag: "1.0.0"' in m.main_file("deploy/canary/kustomization.yaml")
        assert "ghcr.io/acme/web:1.0.0" in m.main_file("deploy/staging/web.yaml")
