"""Which past soaks `slo backtest --ledger` replays, from train records as plain values."""

from __future__ import annotations

from datetime import timedelta

from bot.config.model import Config, Stage
from bot.core import promotion as pm
from bot.core.ledger import TrainRecord
from bot.core.slo.backtest_ledger import replays

from .helpers import AT

M = timedelta(minutes=1)
CONFIG = Config(
    trains=(), stages=(Stage("canary", soak=60 * M, slos=("availability",)), Stage("prod"))
)


def _record(train_id: str, *steps: pm.StepState, tags: dict[str, str] | None = None) -> TrainRecord:
    record = TrainRecord(train_id, "weekly")
    return pm.store(record, pm.Promotion(tags=tags or {"web": "v2"}, steps=steps))


def test_each_judged_step_is_replayed_from_its_bump_to_its_end() -> None:
    done = pm.StepState("canary", status="passed", started=AT, finished=AT + 60 * M)
    soaking = pm.StepState("canary", status="soaking", started=AT + 120 * M)
    rolled = _record("t3", pm.StepState("canary", status="reverted", started=AT))
    rolled = rolled.with_event("rolled-back", AT + 12 * M)
    found, notes = replays(
        [_record("t1", done), _record("t2", soaking), rolled],
        pm.plan_steps(CONFIG),
        now=AT + 150 * M,
    )
    assert [(r.train, r.since, r.end, r.in_fact, r.reverted) for r in found] == [
        ("t1", AT, AT + 60 * M, "passed", False),
        ("t3", AT, AT + 12 * M, "reverted", True),  # until the rollback
        ("t2", AT + 120 * M, AT + 150 * M, "soaking", False),  # until now
    ]
    assert found[0].services == ("web",) and found[0].slos == ("availability",)
    assert notes == []


def test_steps_without_slos_or_no_longer_configured_are_left_out() -> None:
    prod = pm.StepState("prod", status="passed", started=AT, finished=AT + M)
    gone = pm.StepState("eu", status="passed", started=AT, finished=AT + M)
    pending = pm.StepState("canary")
    found, notes = replays([_record("t1", prod, gone, pending)], pm.plan_steps(CONFIG), AT)
    assert found == []
    assert notes == ["t1: step eu is not in the config any more"]
