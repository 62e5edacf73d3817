"""The train's `release-train/promotion` check run on its merge commit, and the effects of a
train stopped at its deadline while merged or promoting (pure: payloads and actions only).

One body builder serves both the promotion pass (`bot.shell.stage_io`) and the deadline
(`bot.core.decide`): the run is in progress while promoting, then success (completed),
failure (rolled back, aborted, a stage failed) or timed_out (stopped at its deadline).
"""

from __future__ import annotations

from typing import Any

from bot.config.model import Config
from bot.core import actions as act
from bot.core import promotion as pm
from bot.core.ledger import TrainRecord
from bot.core.train import ABORTED, COMPLETED, ROLLED_BACK

CHECK_RUN = "release-train/promotion"
CHECK_RUN_ID = "check_run"  # record.extra: the id of the train's promotion check run
DEADLINE_SUMMARY = (
    "The train passed its deadline: promotion stopped, no further stage is bumped "
    "and stages already bumped stay as they are. The train PR says what to do."
)


def stopped_at_deadline(record: TrainRecord) -> bool:
    """A train that ended at its deadline after its merge (its promotion had begun)."""
    return record.state == ABORTED and record.end_reason == "deadline" and bool(record.merge_sha)


def check_run_body(record: TrainRecord, table: str) -> dict[str, Any]:
    """The `release-train/promotion` check run body for the record as it stands."""
    promotion = pm.load(record)
    body: dict[str, Any] = {
        "name": CHECK_RUN,
        "head_sha": record.merge_sha,
        "external_id": record.id,
        "output": {"title": f"{record.id}: {record.state}", "summary": table},
    }
    if stopped_at_deadline(record):
        body.update(status="completed", conclusion="timed_out")
        body["output"] = {"title": f"{record.id}: aborted (deadline)", "summary": DEADLINE_SUMMARY}
    elif record.state == COMPLETED:
        body.update(status="completed", conclusion="success")
    elif record.state in (ROLLED_BACK, ABORTED) or promotion.error:
        body.update(status="completed", conclusion="failure")
    else:
        body["status"] = "in_progress"
    return body


def deadline_effects(config: Config, record: TrainRecord) -> list[act.Action]:
    """After the record of a train stopped at its deadline: a newer promotion check run,
    completed `timed_out` (GitHub shows the newest), and the soaking step's deployment turned
    `failure` (as an `slo-inconclusive` abort's is), not left `in_progress` for ever. Its tags
    stay deployed; the train PR says what to do."""
    if not stopped_at_deadline(record):
        return []
    body = check_run_body(record, "")
    effects: list[act.Action] = [
        act.PublishCheckRun(record.id, CHECK_RUN, str(body["conclusion"]), "end", body)
    ]
    state = pm.load(record).current()
    if state is None or state.status != pm.SOAKING or not state.deployment:
        return effects
    step = next((s for s in pm.plan_steps(config) if s.name == state.name), None)
    stage = next((s for s in config.stages if step is not None and s.name == step.stage), None)
    text = f"{record.id} stopped at its deadline; the stage stays as it is"
    repository = stage.repository if stage is not None else ""
    effects.append(
        act.SetDeploymentStatus(
            record.id, state.name, int(state.deployment), "failure", text, repository, "deadline"
        )
    )
    return effects
