"""`release-train demo` end to end: the real bot, the sandbox, the metrics source."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.cli import main
from bot.demo.story import TRAIN_1, TRAIN_2, capabilities


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


def test_train_1_carries_the_flags_and_migrations_check_runs(summary: dict[str, Any]) -> None:
    """#1 adds a feature flag and #2 a database migration: train 1's PR shows both gates,
    green at the merge (the flag has an owner and expiry; the reviewers approved inside the
    migration window), and the narration says so; train 2 touches neither."""
    trains = {t["id"]: t for t in summary["trains"]}
    gates = trains[TRAIN_1]["gates"]
    assert gates["release-train/flags"] == {
        "conclusion": "success",
        "title": "1 flag(s) touched, 0 removed",
    }
    assert gates["release-train/migrations"]["conclusion"] == "success"
    assert "1 migration(s)" in gates["release-train/migrations"]["title"]
    assert trains[TRAIN_2]["gates"]["release-train/flags"]["title"] == "No feature flags touched"
    said = [e["text"] for e in summary["events"] if e["who"] == "demo"]
    assert (
        "#4 release-train/migrations action_required: approval: 0 of 1 from acme/reviewers" in said
    )
    assert "#4 release-train/migrations success: 1 migration(s): approved, window open" in said
    bot = [e["text"] for e in summary["events"] if e["who"] == "bot"]
    assert "create check run release-train/flags (success)" in bot


def test_states_match_the_phases_this_build_has(summary: dict[str, Any]) -> None:
    caps = capabilities()
    trains = {t["id"]: t for t in summary["trains"]}
    one, two = trains[TRAIN_1], trains[TRAIN_2]
    notes = [e["text"] for e in summary["events"] if e["kind"] == "note"]
    if not caps.promotion:
        assert summary["phases"]["promotion"] == "not implemented in this build"
        assert [one["state"], two["state"]] == ["merged", "merged"]
        assert notes.count("promotion is not implemented in this build; train stays merged") == 2
        return
    assert one["state"] == "completed"
    assert [s["stage"] for s in one["stages"]] == ["staging", "canary", "eu-west", "us-east"]
    assert all(s["completed"] and s["verdicts"][-1] == "pass" for s in one["stages"])
    assert {"checkout", "frontend"} <= set(one["tags"]) and not one["held_services"]
    assert summary["metrics_requests"] > 0
    if not caps.revert:
        return
    assert two["state"] == "rolled_back"
    staging, canary = two["stages"]
    assert staging["verdicts"][-1] == "pass" and canary["verdicts"][-1] == "fail"
    assert canary["completed"] is None
    assert isinstance(two["incident"], int) and "checkout" in two["held_services"]


def test_each_stage_soaks_only_after_argo_cd_says_synced_and_healthy(
    summary: dict[str, Any],
) -> None:
    """The demo's stages wait for the sandbox's Argo CD: per stage, its Applications were
    Synced at the bump and Healthy after the bump, and the soak started then."""
    trains = {t["id"]: t for t in summary["trains"]}
    one, two = trains[TRAIN_1]["argocd"], trains[TRAIN_2]["argocd"]
    assert [s["stage"] for s in one] == ["staging", "canary", "eu-west", "us-east"]
    assert [s["stage"] for s in two] == ["staging", "canary"]
    for stage in one + two:
        assert stage["status"] == "healthy", stage
        assert stage["bumped"] < stage["healthy_at"] == stage["soak_started"], stage
        assert stage["applications"] and all(
            (a["sync"], a["health"]) == ("Synced", "Healthy") for a in stage["applications"]
        )
    said = [e for e in summary["events"] if e["who"] == "argocd"]
    assert [e["text"].split(":")[0] for e in said] == [
        "staging", "canary", "eu-west", "us-east", "staging", "canary"
    ]  # fmt: skip
    assert all("Synced at" in e["text"] and "the soak starts" in e["text"] for e in said)
    waited = [e for e in summary["events"] if "wait staging (waiting for Argo CD" in e["text"]]
    assert waited and waited[0]["at"] < said[0]["at"]


def test_the_narration_tells_who_did_what_and_when(summary: dict[str, Any]) -> None:
    events = summary["events"]
    who = {e["who"] for e in events}
    assert {"dev-alice", "dev-bob", "rev-carol", "ci", "bot"} <= who
    missed = [e for e in events if e["who"] == "bot" and "missed train" in e["text"]]
    assert missed and missed[0]["at"] == "2026-03-02T09:00:00+00:00"
    times = [e["at"] for e in events]
    assert times == sorted(times)


def test_each_train_lists_the_digests_it_shipped_and_the_narration_shows_the_wait(
    summary: dict[str, Any],
) -> None:
    import re

    for train in summary["trains"]:
        found = {s: a for s, a in train["artifacts"].items() if a["state"] == "found"}
        assert found, train["id"]
        for service, artifact in found.items():
            assert re.fullmatch(r"sha256:[0-9a-f]{64}", artifact["digest"]), artifact
            assert artifact["revision"] == train["merge_sha"]
            assert train["tags"][service].endswith("@" + artifact["digest"])  # what was bumped
    texts = [(e["who"], e["text"]) for e in summary["events"]]
    waited = texts.index(("bot", "create check run release-train/artifacts (in_progress)"))
    pushed = next(i for i, (who, text) in enumerate(texts) if who == "ci" and "pushes" in text)
    ready = texts.index(("bot", "update check run release-train/artifacts (success)"))
    assert waited < pushed < ready


def test_an_unreachable_prometheus_is_named_before_the_story_starts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--use-prometheus judges against that server; unreachable, the demo says so and exits
    4 (an external system failed) before playing, rather than reporting every verdict as
    `error` and calling that the bot misbehaving."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    code = main(["demo", "--json", "--use-prometheus", url])
    captured = capsys.readouterr()
    assert code == 4 and captured.out == ""
    assert f"--use-prometheus {url} did not answer" in captured.err
    assert "misbehaved" not in captured.err and "Traceback" not in captured.err


def test_each_train_names_its_release_and_the_narration_shows_it(summary: dict[str, Any]) -> None:
    trains = {t["id"]: t for t in summary["trains"]}
    one, two = trains[TRAIN_1]["release"], trains[TRAIN_2]["release"]
    assert one["tag"] == f"train/{TRAIN_1}" and one["url"].endswith(f"/tag/train/{TRAIN_1}")
    if trains[TRAIN_1]["state"] == "completed":
        assert (one["state"], one["draft"], one["latest"]) == ("published", False, True)
    if trains[TRAIN_2]["state"] == "rolled_back":
        assert (two["state"], two["prerelease"], two["latest"]) == ("rolled-back", True, False)
    said = [e["text"] for e in summary["events"] if e["who"] == "demo"]
    assert any(t.startswith(f"Release train/{TRAIN_1}: ") for t in said)
    drafted = [e for e in summary["events"] if e["text"].startswith("draft the Release")]
    assert len(drafted) == 2  # one per train, at departure
