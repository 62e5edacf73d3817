"""Culprit isolation end to end: the real bot over HTTP against the sandbox, whose CI
decides each commit's check from its tree (`bot.sandbox.ci`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lifecycle.plan_check import kinds, step

from tests.culprit.culprit_story import board, plain


def _merge_train(run: Any) -> dict[str, Any]:
    """CI on the new cut, an approval, and the train merges."""
    run.step()
    record = run.record()
    run.story.approve(record["train_pr"], "rm-dave", run.now)
    for _ in range(4):
        run.step()
        if run.record()["state"] != "departed":
            break
    return dict(run.record())


def test_one_culprit_is_found_left_out_told_and_the_rest_ships(sandbox: Any) -> None:
    changes = [plain(i) for i in range(6)]
    changes[4] = {**plain(4), "ci/breaks-change-4": "the tests fail\n"}
    run = board(changes)(sandbox)
    culprit = run.prs[4]
    state = run.until("found")
    assert state["culprits"] == [[culprit]]
    assert state["rounds"] <= 4  # ⌈log2 6⌉ + 1
    record = run.record()
    assert culprit not in [b["number"] for b in record["boarded"]]
    missed = [m for m in record["missed"] if m["number"] == culprit]
    assert missed and missed[0]["reason"] == "culprit" and "try-" in missed[0]["detail"]
    told = [c["body"] for c in run.story.comments(culprit)]
    assert any("broke CI on release train" in body and "`ci`" in body for body in told)
    train_told = "\n".join(c["body"] for c in run.story.comments(record["train_pr"]))
    assert "re-running the failing check" in train_told and "found after" in train_told
    assert not any("-try-" in b for b in run.branches())  # candidates deleted
    merged = _merge_train(run)
    assert merged["state"] == "merged"
    # the culprit boards the next train
    run.step()
    ids = run.story.sandbox.git.out(
        "acme/lifeline", "ls-tree", "--name-only", "refs/heads/release-train/ledger", "trains/"
    ).splitlines()
    assert len(ids) == 2


def test_a_flaky_failure_is_rerun_once_and_recorded(sandbox: Any) -> None:
    changes = [plain(0), {**plain(1), "ci/flaky": "sometimes\n"}, plain(2)]
    run = board(changes)(sandbox)
    state = run.until("flaky")
    assert (state["rounds"], state["tried"]) == (0, [])
    assert not any("-try-" in b for b in run.branches())
    assert _merge_train(run)["state"] == "merged"


def test_two_culprits_both_leave(sandbox: Any) -> None:
    changes = [plain(i) for i in range(5)]
    changes[1] = {**plain(1), "ci/breaks-one": "x\n"}
    changes[3] = {**plain(3), "ci/breaks-two": "x\n"}
    run = board(changes)(sandbox)
    run.until("found")
    run.step()  # CI fails on the new cut too: bisect what is left
    state = run.until("found")
    assert sorted(g[0] for g in state["culprits"]) == [run.prs[1], run.prs[3]]
    boarded = [b["number"] for b in run.record()["boarded"]]
    assert boarded == [run.prs[0], run.prs[2], run.prs[4]]
    assert _merge_train(run)["state"] == "merged"


def test_a_pair_that_fails_only_together_is_reported(sandbox: Any) -> None:
    changes = [plain(i) for i in range(5)]
    changes[1] = {**plain(1), "ci/pair-x-a": "a\n"}
    changes[3] = {**plain(3), "ci/pair-x-b": "b\n"}
    run = board(changes)(sandbox)
    state = run.until("found")
    assert state["culprits"] == [[run.prs[1], run.prs[3]]]
    record = run.record()
    assert [m["number"] for m in record["missed"] if m["reason"] == "culprit"] == [run.prs[3]]
    told = "\n".join(c["body"] for c in run.story.comments(run.prs[3]))
    assert f"only together with #{run.prs[1]}" in told
    assert _merge_train(run)["state"] == "merged"


def test_ci_that_never_reports_on_a_candidate_times_out(sandbox: Any) -> None:
    # the release branch fails (change 3); the first candidate (changes 0 and 1) hangs
    changes = [plain(0), {**plain(1), "ci/hang": "\n"}, plain(2), {**plain(3), "ci/breaks": "x\n"}]
    run = board(changes)(sandbox)
    state = run.until("timed_out")  # 5 minutes a step: past the 30 minutes of `timeout`
    assert state["detail"] == "CI did not report on try-1"
    assert state["culprits"] == []
    train_told = "\n".join(c["body"] for c in run.story.comments(run.record()["train_pr"]))
    assert "goes on without bisecting" in train_told
    assert not any("-try-" in b for b in run.branches())
    assert run.record()["state"] == "departed"


def test_the_deadline_mid_bisection_ends_the_train_and_cleans_up(sandbox: Any) -> None:
    changes = [plain(i) for i in range(4)]
    changes[2] = {**plain(2), "ci/breaks": "x\n"}
    run = board(changes, departed="1h")(sandbox)
    run.until("search")
    assert any("-try-" in b for b in run.branches())
    run.ci.tick()
    run.now = run.t0 + timedelta(hours=2)
    run.story.reconcile(run.now)
    record = run.record()
    assert (record["state"], record["end_reason"]) == ("aborted", "deadline")
    assert record["extra"]["culprit"]["phase"] == "stopped"
    assert not any("-try-" in b for b in run.branches())


def test_plan_lists_every_bisection_write_that_reconcile_performs(sandbox: Any) -> None:
    changes = [plain(i) for i in range(4)]
    changes[2] = {**plain(2), "ci/breaks": "x\n"}
    run = board(changes)(sandbox)
    seen: list[str] = []
    for _ in range(12):
        run.ci.tick()
        run.now += timedelta(minutes=5)
        seen += kinds(step(run.story, run.now, max_rounds=1))
        if run.bisection().get("phase") == "found":
            break
    for kind in ("RerunCheck", "BuildCandidate", "RecutRelease", "DeleteBranch"):
        assert kind in seen, seen
