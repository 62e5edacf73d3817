"""`plan` = what reconcile does: at every step of the lifecycle stories, the actions `plan`
lists at `now` are, as data, the actions the next `reconcile` at that `now` performs in its
first round (gate check runs and a stopped train's effects included), and a reconcile that
performs nothing writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lifecycle.lifecycle_sandbox import board_three, config_text, new_story, start_time
from lifecycle.plan_check import kinds, step
from promotion.promotion_story import merged_train
from slo.prometheus_ports import closed_port

from bot.adapters.prometheus import PrometheusClient
from bot.core import actions as act
from bot.core import promotion as pm

M = timedelta(minutes=1)


def test_board_depart_gate_merge_land(sandbox) -> None:  # type: ignore[no-untyped-def]
    t0 = start_time()
    story = new_story(sandbox, t0)
    board_three(story)
    boarded = step(story, t0)
    assert kinds(boarded)[-1] == "WriteLedger" and "PostComment" in kinds(boarded)
    assert step(story, t0 + timedelta(seconds=10)) == ()

    departed = step(story, t0 + 2 * M)
    assert kinds(departed)[0] == "CreateBranch" and "OpenPullRequest" in kinds(departed)
    assert step(story, t0 + 2 * M + timedelta(seconds=10)) == ()
    train_pr = story.open_train_pr()

    # CI turns green: the ci run is updated (planned too), and the gate recorded
    story.green(train_pr["head"]["sha"])
    green = step(story, t0 + 3 * M)
    ci = [a for a in green if isinstance(a, act.PublishCheckRun)]
    assert [(a.name, a.how, a.conclusion) for a in ci] == [
        ("release-train/ci", "update", "success")
    ]
    assert kinds(green)[-1] == "WriteLedger"

    story.approve(train_pr["number"], "rm-dave", t0 + 3 * M)
    merged = step(story, t0 + 4 * M)
    assert "MergePullRequest" in kinds(merged)
    step(story, t0 + 5 * M)
    assert step(story, t0 + 6 * M) == ()


def test_the_gates_first_look_is_planned(sandbox) -> None:  # type: ignore[no-untyped-def]
    """A train PR whose gates were never shown (opened by a reconcile that stopped short):
    `plan` lists the check runs that `reconcile` then creates."""
    t0 = start_time()
    story = new_story(sandbox, t0)
    board_three(story)
    story.reconcile(t0)
    story.reconcile(t0 + 2 * M, max_rounds=1)  # departs; the gates' round does not come
    gates = step(story, t0 + 2 * M + timedelta(seconds=5))
    runs = [a for a in gates if isinstance(a, act.PublishCheckRun)]
    assert len(runs) == 5 and {a.how for a in runs} == {"create"}
    assert {a.name for a in runs} >= {"release-train/ci", "release-train/policy"}
    assert step(story, t0 + 2 * M + timedelta(seconds=10)) == ()


def test_a_departed_train_past_its_deadline(sandbox) -> None:  # type: ignore[no-untyped-def]
    t0 = start_time()
    story = new_story(sandbox, t0, config_text(t0, departed="1h"))
    board_three(story)
    for at in (t0, t0 + 2 * M, t0 + 3 * M):
        step(story, at)
    ended = step(story, t0 + timedelta(hours=2))
    assert "ClosePullRequest" in kinds(ended)
    for at in (t0 + timedelta(hours=2, seconds=5), t0 + timedelta(hours=3)):
        step(story, at)


def test_a_promoting_train_stopped_at_its_deadline(sandbox) -> None:  # type: ignore[no-untyped-def]
    t0 = datetime.now(UTC).replace(second=0, microsecond=0) - 40 * M
    m = merged_train(sandbox, canary_slos=True, t0=t0)
    url = f"http://127.0.0.1:{closed_port()}"
    with PrometheusClient(url, retries=1, timeout=1, sleep=lambda s: None) as prometheus:
        step(m.story, m.merged_at, prometheus=prometheus)  # merge (then staging)
        moved = step(m.story, m.merged_at + 10 * M, prometheus=prometheus)
        assert [a.move.describe() for a in moved if isinstance(a, act.Promote)] == [
            "pass staging",
            "start canary",
        ]
        # Prometheus is down: the canary's SLOs are judged `error` by plan as by reconcile
        held = step(m.story, m.merged_at + 11 * M, prometheus=prometheus)
        assert [a.move.kind for a in held if isinstance(a, act.Promote)] == [pm.MoveKind.HOLD]
        assert "WriteLedger" in kinds(held)  # the stage's `error` verdict, recorded once
        again = step(m.story, m.merged_at + 12 * M, prometheus=prometheus)
        assert kinds(again) == ["Promote"] and again[0].move == held[0].move
        stopped = step(m.story, m.merged_at + timedelta(weeks=3), prometheus=prometheus)
        assert kinds(stopped) == [
            "PostComment",
            "WriteLedger",
            "PublishCheckRun",
            "SetDeploymentStatus",
        ]
        assert step(m.story, m.merged_at + timedelta(weeks=3, hours=1)) == ()
    assert m.record()["state"] == "aborted"


def test_the_hold_button_is_planned_as_the_hold_reconcile_records(sandbox) -> None:  # type: ignore[no-untyped-def]
    """A `Hold train` press on a gate's check run: `plan` lists the ledger write that
    holds the train (first, before the gates), and reconcile makes exactly that write."""
    from bot.core.gates.events import GateRequest

    t0 = start_time()
    story = new_story(sandbox, t0)
    board_three(story)
    step(story, t0)
    step(story, t0 + 2 * M)
    head = story.open_train_pr()["head"]["sha"]
    press = GateRequest("hold", (), head, "rm-dave", "check_suite.rerequested")
    held = step(story, t0 + 3 * M, gate_request=press)
    write = held[0]
    assert isinstance(write, act.WriteLedger) and write.events == ("hold",)
    assert write.actor == "rm-dave" and write.record.held
    assert story.ledger(write.train_id)["held"] is True
