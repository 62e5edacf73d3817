"""Deadlines for every non-terminal state: defaults, and a merged or promoting train past
its deadline ends `aborted` (reason `deadline`) with promotion stopped (pure core)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from lifecycle_builders import T0, config, world

from bot.config.durations import parse_duration
from bot.config.model import DEFAULT_DEADLINES, Config, Stage, Train
from bot.config.schemas import load_schema
from bot.core import actions as act
from bot.core import promotion as pm
from bot.core.decide import deadline_of, decide, next_due
from bot.core.ledger import Boarded, Ledger, TrainRecord, transition_trailers
from bot.core.train import STATES, TERMINAL, can_transition

MERGED_AT = T0.replace(hour=15)
STAGES = (
    Stage("staging", manifests=("deploy/staging/*",)),
    Stage("canary", manifests=("deploy/canary/*",), soak=timedelta(hours=1)),
    Stage("production", manifests=("deploy/production/*",)),
)


def promoting_config() -> Config:
    return config(stages=STAGES)


def merged(**kw: object) -> TrainRecord:
    values: dict[str, object] = {
        "id": "web-2026-03-03",
        "train": "web",
        "created_at": T0,
        "state": "merged",
        "state_since": MERGED_AT,
        "boarded": (Boarded(1, T0, "Change 1", "dev", ("train:next",), head_sha="1" * 40),),
        "landed": (1,),
        "train_pr": 40,
        "merge_sha": "f" * 40,
    }
    values.update(kw)
    return TrainRecord(**values)


def promoting(**kw: object) -> TrainRecord:
    """Staging passed, canary bumped and held (SLO verdict unsure), production pending."""
    started = MERGED_AT + timedelta(minutes=5)
    promotion = pm.Promotion(
        tags={"web": "v2"},
        steps=(
            pm.StepState("staging", pm.PASSED, "a" * 40, started),
            pm.StepState("canary", pm.SOAKING, "c" * 40, started, unsure_since=started),
            pm.StepState("production"),
        ),
    )
    record = merged(state="promoting", state_since=started)
    return replace(pm.store(record, promotion), **kw)


def _writes(actions: list[act.Action]) -> list[act.WriteLedger]:
    return [a for a in actions if isinstance(a, act.WriteLedger)]


def test_every_non_terminal_state_has_a_default_deadline_matching_the_schema() -> None:
    train = Train("web")
    for state in STATES:
        assert (train.deadline(state) is None) == (state in TERMINAL), state
    props = load_schema("config.schema.json")["$defs"]["train"]["properties"]["deadlines"]
    defaults = {k: parse_duration(v["default"]) for k, v in props["properties"].items()}
    assert defaults == dict(DEFAULT_DEADLINES)
    # a configured deadline wins over the default, the others keep theirs
    custom = Train("web", deadlines=(("departed", timedelta(hours=48)),))
    assert custom.deadline("departed") == timedelta(hours=48)
    assert custom.deadline("promoting") == timedelta(weeks=2)


def test_merged_and_promoting_deadlines_count_only_where_promotion_is_configured() -> None:
    train = Train("web")
    assert deadline_of(config(), train, "merged") is None  # builder stages name no manifests
    assert deadline_of(promoting_config(), train, "merged") == timedelta(days=2)
    assert deadline_of(config(), train, "departed") == timedelta(days=7)
    assert deadline_of(config(), train, "aborted") is None
    late = MERGED_AT + timedelta(days=30)
    assert decide(config(), Ledger((merged(),)), world(), late) == []


def test_a_promoting_train_held_past_its_deadline_is_aborted_and_says_what_to_do() -> None:
    record = promoting()
    cfg = promoting_config()
    before = MERGED_AT + timedelta(days=14)
    assert decide(cfg, Ledger((record,)), world(), before) == []
    actions = decide(cfg, Ledger((record,)), world(), before + timedelta(minutes=10))
    # the notice, the record, then (at most once) the promotion check run ended timed_out
    assert [type(a).__name__ for a in actions] == ["PostComment", "WriteLedger", "PublishCheckRun"]
    comment, write, check = actions
    assert isinstance(comment, act.PostComment) and isinstance(write, act.WriteLedger)
    assert isinstance(check, act.PublishCheckRun) and check.run_id == 0
    assert (check.name, check.body["status"], check.conclusion) == (
        "release-train/promotion",
        "completed",
        "timed_out",
    )
    assert check.body["head_sha"] == record.merge_sha
    assert comment.issue == 40 and comment.key == "deadline:web-2026-03-03"
    assert "aborted" in comment.body and "`promoting`" in comment.body and "(14d)" in comment.body
    assert "`staging`: passed (commit `aaaaaaaaaaaa`)" in comment.body
    assert "`canary`: soaking (commit `cccccccccccc`)" in comment.body
    assert "Not bumped: `production`." in comment.body and "What to do" in comment.body
    ended = write.record
    assert ended.state == "aborted" and ended.end_reason == "deadline"
    assert write.events == ("abort",)
    assert ended.history[-1].detail == (
        "promoting longer than 14d; stages left bumped: staging, canary"
    )
    # the promotion state is kept as it was: nothing is reverted, nothing more bumped
    assert pm.load(ended) == pm.load(record)
    assert ("Reason", "deadline") in transition_trailers(write.events, ended)
    assert can_transition("promoting", ended.state)
    # ended: the next reconcile does nothing more (its PRs are in base: no re-boarding)
    assert decide(cfg, Ledger((ended,)), world(), before + timedelta(hours=1)) == []


def test_a_merged_train_lands_its_prs_then_stops_at_its_deadline() -> None:
    record = merged(landed=())
    late = MERGED_AT + timedelta(days=2, minutes=1)
    actions = decide(promoting_config(), Ledger((record,)), world(), late)
    kinds = [type(a).__name__ for a in actions]
    # merged, so its promotion check run (if any) ends timed_out after the record
    assert kinds == ["LandPullRequest", "PostComment", "WriteLedger", "PublishCheckRun"]
    comment = actions[1]
    assert isinstance(comment, act.PostComment)
    assert "No stage was bumped" in comment.body
    assert "Not bumped: `staging`, `canary`, `production`." in comment.body
    write = _writes(actions)[0]
    assert write.events == ("abort", "land") and write.record.landed == (1,)
    assert write.record.state == "aborted" and write.record.end_reason == "deadline"


def test_a_requested_rollback_finishes_before_the_deadline_applies() -> None:
    record = promoting(rollback_requested="lead")
    late = MERGED_AT + timedelta(days=20)
    assert decide(promoting_config(), Ledger((record,)), world(), late) == []


def test_next_due_includes_the_promoting_deadline() -> None:
    record = promoting()
    assert next_due(promoting_config(), [record], MERGED_AT + timedelta(hours=2)) == (
        record.state_since + timedelta(weeks=2)  # type: ignore[operator]
    )
    assert next_due(config(), [record], MERGED_AT + timedelta(hours=2)) is None


def test_the_soaking_deployment_of_a_train_stopped_at_its_deadline_is_marked_failed() -> None:
    soaking = pm.StepState("canary", pm.SOAKING, "c" * 40, MERGED_AT, deployment=77)
    record = promoting()
    promotion = pm.load(record).with_step(soaking)
    record = pm.store(record, promotion)
    late = MERGED_AT + timedelta(days=15)
    actions = decide(promoting_config(), Ledger((record,)), world(), late)
    write = next(i for i, a in enumerate(actions) if isinstance(a, act.WriteLedger))
    after = actions[write + 1 :]
    assert [type(a).__name__ for a in after] == ["PublishCheckRun", "SetDeploymentStatus"]
    status = after[1]
    assert isinstance(status, act.SetDeploymentStatus)
    assert (status.step, status.deployment, status.state) == ("canary", 77, "failure")
    assert "deadline" in status.description and status.repository == ""
