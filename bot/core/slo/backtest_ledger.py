"""Which past soaks `slo backtest --ledger` replays: every train's judged steps, from the ledger.

Pure: the train records (read from the ledger branch by `bot.insights`) and the config's
steps in; one `Replay` per step that soaked with SLOs out, with what happened in fact, so
the backtest can say "this config would have reverted train X at canary 12 minutes in;
the one in force did not".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.core import promotion as pm
from bot.core.ledger import TrainRecord


@dataclass(frozen=True)
class Replay:
    """One step of one past train to replay: bumped at `since`, judged until `end`, for the
    train's services; `in_fact` is the step's status in the ledger."""

    train: str
    step: str  # the environment the SLOs were judged for: a stage, or one of its waves
    since: datetime
    end: datetime
    services: tuple[str, ...]
    slos: tuple[str, ...]
    in_fact: str  # passed | reverted | failed | soaking | ...

    @property
    def reverted(self) -> bool:
        return self.in_fact == pm.REVERTED


def replays(
    records: Iterable[TrainRecord], steps: Sequence[pm.StepPlan], now: datetime
) -> tuple[list[Replay], list[str]]:
    """The steps to replay, oldest bump first, and a note for each step left out (not in
    the config any more, or never judged)."""
    by_name = {s.name: s for s in steps}
    out: list[Replay] = []
    notes: list[str] = []
    for record in records:
        promotion = pm.load(record)
        for state in promotion.steps:
            if state.started is None:
                continue
            plan = by_name.get(state.name)
            if plan is None:
                notes.append(f"{record.id}: step {state.name} is not in the config any more")
                continue
            if not plan.slos or not promotion.tags:
                continue
            end = state.finished or _ended(record, state.started) or state.started + plan.soak
            end = min(end, now)
            services = tuple(sorted(promotion.tags))
            out.append(
                Replay(record.id, state.name, state.started, end, services, plan.slos,
                       state.status)
            )  # fmt: skip
    return sorted(out, key=lambda r: (r.since, r.train, r.step)), notes


def _ended(record: TrainRecord, started: datetime) -> datetime | None:
    """When a step that never finished ended: the train's rollback after its bump."""
    return next(
        (e.at for e in record.history if e.event == "rolled-back" and e.at >= started), None
    )
