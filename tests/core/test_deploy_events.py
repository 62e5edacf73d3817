"""Deployment events from a train's ledger history (pure): which moments, which stage, the
latest of each kind, and the bound on trains and pairs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core import promotion as pm
from bot.core.deploy_events import (
    MAX_PER_TRAIN,
    RECENT_TRAINS,
    DeployEvent,
    keep_recent,
    recent_events,
    train_events,
)
from bot.core.ledger import TrainRecord

T0 = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
M = timedelta(minutes=1)


def story(train_id: str = "web-2026-03-04", start: datetime = T0) -> TrainRecord:
    record = TrainRecord(train_id, "web", created_at=start)
    steps = [
        ("create", ""),
        ("gate", "ci=success"),
        ("merged", ""),
        ("stage-started", "staging"),
        ("hold", "flaky dashboards"),
        ("resume", ""),
        ("stage-verdict", "staging pass"),
        ("stage-completed", "staging"),
        ("stage-started", "canary"),
        ("rolled-back", "availability 2.1% > 0.1%"),
    ]
    for i, (event, detail) in enumerate(steps):
        record = record.with_event(event, start + i * M, "rm-dave", detail)
    return record


def test_a_bumped_held_and_reverted_train() -> None:
    got = [(e.stage, e.event, e.at) for e in train_events(story())]
    assert got == [
        ("", "merge", T0 + 2 * M),
        ("staging", "bump", T0 + 3 * M),
        ("staging", "hold", T0 + 4 * M),
        ("staging", "resume", T0 + 5 * M),
        ("staging", "complete", T0 + 7 * M),
        ("canary", "bump", T0 + 8 * M),
        ("canary", "revert", T0 + 9 * M),  # the stage it was promoting when it reverted
    ]


def test_the_latest_of_each_kind_is_kept() -> None:
    record = TrainRecord("web-2026-03-04", "web", created_at=T0)
    record = record.with_event("hold", T0, "a").with_event("resume", T0 + M, "a")
    record = record.with_event("hold", T0 + 2 * M, "b")
    got = [(e.event, e.at) for e in train_events(record)]
    assert got == [("resume", T0 + M), ("hold", T0 + 2 * M)]


def test_a_train_exports_at_most_max_per_train_pairs() -> None:
    record = TrainRecord("web-2026-03-04", "web", created_at=T0)
    for i in range(MAX_PER_TRAIN + 10):
        record = record.with_event("stage-started", T0 + i * M, detail=f"wave-{i}")
    events = train_events(record)
    assert len(events) == MAX_PER_TRAIN
    assert events[-1].stage == f"wave-{MAX_PER_TRAIN + 9}"  # the newest are kept


def test_only_the_recent_trains_are_kept() -> None:
    records = [story(f"web-2026-03-{d:02d}", T0 + timedelta(days=d)) for d in range(1, 8)]
    events = recent_events(records)
    trains = sorted({e.train for e in events})
    assert len(trains) == RECENT_TRAINS == 5
    assert trains == [f"web-2026-03-{d:02d}" for d in range(3, 8)]
    assert [e.at for e in events] == sorted(e.at for e in events)


def test_keep_recent_ranks_by_the_newest_event_not_the_name() -> None:
    old_name = DeployEvent("a-2026-01-01", "", "hold", T0 + 10 * M)
    new_name = DeployEvent("z-2026-12-31", "", "hold", T0)
    kept = keep_recent({"a-2026-01-01": [old_name], "z-2026-12-31": [new_name]}, 1)
    assert kept == {"a-2026-01-01": (old_name,)}
    assert keep_recent({"x": [old_name]}, 0) == {}


def test_a_failed_bump_is_the_failing_steps_as_the_promotion_state_names_it() -> None:
    steps = (pm.StepState("staging", pm.PASSED), pm.StepState("canary", pm.FAILED))
    record = pm.store(TrainRecord("web-2026-03-04", "web", created_at=T0), pm.Promotion({}, steps))
    record = record.with_event("stage-started", T0, detail="staging")
    record = record.with_event("stage-completed", T0 + M, detail="staging")
    record = record.with_event("stage-failed", T0 + 2 * M, detail="deploy/canary/*: no file")
    assert [(e.stage, e.event) for e in train_events(record)][-1] == ("canary", "fail")
