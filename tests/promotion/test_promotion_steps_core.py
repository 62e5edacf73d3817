"""A promotion move's steps as actions, decided by the pure core on plain values (no
sandbox): what each move writes, in which order, and what the ledger commit says before
the dispatcher folds in what the writes made."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.config.model import Config, Service, Stage, Train, Wave
from bot.core import actions as act
from bot.core import holds as hd
from bot.core import promotion as pm
from bot.core import promotion_actions as pa
from bot.core import promotion_steps as ps
from bot.core import promotion_stops as stops
from bot.core.ledger import TrainRecord
from bot.core.promotion_check import CHECK_RUN_ID
from bot.errors import Problem

T0 = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)
M = timedelta(minutes=1)
CONFIG = Config(
    trains=(Train("web"),),
    services=(Service("web", "ghcr.io/acme/web"),),
    stages=(
        Stage("staging", manifests=("staging/*",), soak=10 * M),
        Stage("production", waves=(Wave("eu", ("prod/eu/*",), 60 * M),), mode="pull_request"),
    ),
)
PLAN = pm.plan_steps(CONFIG)
BUMP = pm.BumpLine("web", "1.0", "1.1", ("staging/app.yaml",))
KNOWN = ps.Seen(pr_number=7, check_run_known=True)


def _record(promotion: pm.Promotion, **extra: object) -> TrainRecord:
    record = TrainRecord("web-1", "web", "promoting", train_pr=7, merge_sha="m" * 40, extra=extra)
    return pm.store(record, promotion)


def _kinds(steps: ps.Steps) -> list[str]:
    return [type(a).__name__ for a in steps.actions]


def _promotion(*states: pm.StepState) -> pm.Promotion:
    given = {s.name: s for s in states}
    return pm.Promotion(
        {"web": "1.1"}, tuple(given.get(p.name, pm.StepState(p.name)) for p in PLAN)
    )


def test_a_start_bumps_deploys_then_records_then_shows() -> None:
    edit = pm.StepEdit({"staging/app.yaml": "image: ghcr.io/acme/web:1.1\n"}, (BUMP,))
    record = _record(_promotion())
    seen = ps.Seen(pr_number=7, edit=edit)  # the check run is not known yet
    steps = ps.start(CONFIG, record, _promotion(), PLAN[0], seen, T0)
    assert _kinds(steps) == [
        "BumpStage", "StartDeployment", "PublishPromotionCheck", "WriteLedger", "UpdateStageTable",
    ]  # fmt: skip
    bump = steps.actions[0]
    assert isinstance(bump, pa.BumpStage)
    assert (bump.branch, bump.head, bump.bumps) == ("main", "", (BUMP,))
    assert bump.message.startswith("promote web-1 to staging")
    write = steps.actions[3]
    assert isinstance(write, act.WriteLedger) and write.promotion
    assert write.trailers == (("Stage", "staging"),)  # Commit and Bump: earned by the write
    state = pm.load(write.record).steps[0]
    assert (state.status, state.commit, state.started) == (pm.SOAKING, "", T0)
    assert steps.wake == T0 + 10 * M


def test_a_stage_taking_pull_requests_bumps_through_the_bots_branch() -> None:
    staging = pm.StepState("staging", pm.PASSED, "s" * 40, T0, bumps=(BUMP,))
    edit = pm.StepEdit({"prod/eu/a.yaml": "x"}, (BUMP,))
    promotion = _promotion(staging)
    seen = ps.Seen(check_run_known=True, edit=edit)
    steps = ps.start(CONFIG, _record(promotion), promotion, PLAN[1], seen, T0)
    bump = steps.actions[0]
    assert isinstance(bump, pa.BumpStage) and bump.head == "release-train/promote/web-1/eu"
    assert _kinds(steps)[-2:] == ["WriteLedger", "PublishPromotionCheck"]  # no PR read: no table


def test_an_edit_that_cannot_be_made_fails_the_stage_and_writes_only_the_record() -> None:
    seen = ps.Seen(pr_number=7, check_run_known=True, problems=(Problem("glob matches no file"),))
    steps = ps.start(CONFIG, _record(_promotion()), _promotion(), PLAN[0], seen, T0)
    assert _kinds(steps) == [
        "PostComment", "WriteLedger", "UpdateStageTable", "PublishPromotionCheck",
    ]  # fmt: skip
    assert "glob matches no file" in pm.load(steps.record).error


def test_a_pass_turns_the_deployment_and_records_verdict_and_completion_at_once() -> None:
    soaking = pm.StepState("staging", pm.SOAKING, "c" * 40, T0, bumps=(BUMP,), deployment=9)
    promotion = _promotion(soaking)
    steps = ps.passed(CONFIG, _record(promotion), promotion, PLAN[0], (), KNOWN, T0 + 10 * M)
    status = steps.actions[0]
    assert isinstance(status, act.SetDeploymentStatus)
    assert (status.deployment, status.state) == (9, "success")
    write = steps.actions[1]
    assert isinstance(write, act.WriteLedger)
    assert write.events == ("stage-verdict", "stage-completed")
    assert ("Verdict", "pass") in write.trailers


def test_a_revert_chains_per_branch_holds_and_opens_the_incident() -> None:
    staging = pm.StepState("staging", pm.PASSED, "s" * 40, T0, bumps=(BUMP,), deployment=1)
    eu = pm.StepState("eu", pm.SOAKING, "e" * 40, T0, bumps=(BUMP,), deployment=2)
    promotion = _promotion(staging, eu)
    record = _record(promotion, **{CHECK_RUN_ID: 5})
    seen = ps.Seen(pr_number=7, check_run_known=True, holds=hd.Holds())
    steps = stops.revert(CONFIG, record, PLAN, promotion, (), "rollback requested", seen, T0)
    assert _kinds(steps) == [
        "RevertChain", "RevertChain", "SetDeploymentStatus", "SetDeploymentStatus",
        "OpenIncident", "AnnounceRollback", "PublishRelease", "WriteLedger",
        "UpdateStageTable", "PublishPromotionCheck",
    ]  # fmt: skip
    chains = [a for a in steps.actions if isinstance(a, pa.RevertChain)]
    assert [(c.head, [link.step for link in c.links]) for c in chains] == [
        ("release-train/revert/web-1/eu", ["eu"]),  # newest first, through a pull request
        ("", ["staging"]),
    ]
    statuses = [a for a in steps.actions if isinstance(a, act.SetDeploymentStatus)]
    assert [(s.deployment, s.state) for s in statuses] == [(1, "inactive"), (2, "failure")]
    write = next(a for a in steps.actions if isinstance(a, act.WriteLedger))
    assert hd.decode(write.files[hd.HOLDS_PATH]).services() == {"web"}
    assert write.record.state == "rolled_back" and pm.load(write.record).rolled_back


def test_a_wait_with_nothing_new_writes_nothing_but_a_stale_stage_table() -> None:
    soaking = pm.StepState("staging", pm.SOAKING, "c" * 40, T0, bumps=(BUMP,))
    promotion = _promotion(soaking)
    record = _record(promotion)
    stale = ps.soaking(CONFIG, record, promotion, PLAN[0], (), KNOWN, T0 + M, T0 + 10 * M)
    assert _kinds(stale) == ["UpdateStageTable"] and stale.wake == T0 + 10 * M
    from bot.core import promotion_table

    table = promotion_table.stage_table(PLAN, promotion)
    fresh = ps.Seen(pr_number=7, pr_body=promotion_table.with_table("", table))
    assert ps.soaking(CONFIG, record, promotion, PLAN[0], (), fresh, T0 + M, None).actions == ()


def test_a_resume_releases_the_trains_holds_then_says_so() -> None:
    holds = hd.hold(hd.Holds(), ["web", "api"], "web-1", "breach", T0)
    record = _record(_promotion())
    actions, left = ps.released(record, holds, "rm-dave", 41, KNOWN, T0 + M)
    assert [type(a).__name__ for a in actions] == [
        "WriteLedger", "UpdateStageTable", "PublishPromotionCheck", "PostComment",
    ]  # fmt: skip
    assert left.held == () and isinstance(actions[0], act.WriteLedger)
    assert actions[0].actor == "rm-dave" and hd.HOLDS_PATH in actions[0].files
