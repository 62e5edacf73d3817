"""The pure helpers of `bot.shell.gate_facts` with plain values: which of our check runs
GitHub shows, which commit statuses count, what a re-run asks for."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.gates.ci import CommitStatus
from bot.core.gates.events import GateRequest
from bot.core.world import PullRequest
from bot.shell.gate_facts import _latest_statuses, forced_gates, our_check_runs

T = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)


def _run(run_id: int, name: str, sha: str = "a" * 40) -> dict[str, object]:
    return {"id": run_id, "name": name, "head_sha": sha, "status": "completed",
            "conclusion": "success", "output": {"title": "t", "summary": "s"}}  # fmt: skip


def test_only_our_newest_run_of_each_name_is_kept() -> None:
    raw = [_run(5, "release-train/ci"), _run(9, "release-train/ci"), _run(7, "ci"),
           _run(3, "release-train/policy")]  # fmt: skip
    found = our_check_runs(raw)
    assert sorted(found) == ["release-train/ci", "release-train/policy"]
    assert found["release-train/ci"].id == 9 and found["release-train/policy"].id == 3


def test_the_newest_status_of_each_context_counts() -> None:
    newest_first = (
        CommitStatus("ci/lint", "success", updated_at=T),
        CommitStatus("ci/test", "failure", updated_at=T),
        CommitStatus("ci/lint", "failure"),
    )
    assert [(s.context, s.state) for s in _latest_statuses(newest_first)] == [
        ("ci/lint", "success"),
        ("ci/test", "failure"),
    ]


def test_a_rerun_forces_its_gate_only_on_the_same_head() -> None:
    pr = PullRequest(number=40, head_sha="a" * 40)
    rerun = GateRequest("reevaluate", ("policy",), "a" * 40, "rm-dave", "check_run.rerequested")
    assert forced_gates(rerun, pr) == {"policy"}
    suite = GateRequest("reevaluate", (), "a" * 40, "rm-dave", "check_suite.rerequested")
    assert forced_gates(suite, pr) == {
        "ci", "security", "manifests", "policy", "error-budget", "flags", "migrations"
    }  # fmt: skip
    old = GateRequest("reevaluate", ("policy",), "b" * 40, "rm-dave", "check_run.rerequested")
    assert forced_gates(old, pr) == frozenset() and forced_gates(None, pr) == frozenset()
    hold = GateRequest("hold", (), "a" * 40, "rm-dave", "check_run.requested_action")
    assert forced_gates(hold, pr) == frozenset()
