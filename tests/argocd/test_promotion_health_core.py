"""The syncing step in the pure core: `next_move` with Argo CD's verdict, what the record
keeps, and the evidence a failed wait hands to the revert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core import promotion as pm
from bot.core import promotion_health as ph
from bot.core.argocd_health import AppRow, Health, HealthVerdict

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
STEP = pm.StepPlan("staging", "staging", ("deploy/staging/*",), timedelta(minutes=10))
PLAN = (STEP, pm.StepPlan("canary", "canary", ("deploy/canary/*",), timedelta(minutes=30)))
SYNCING = pm.StepState("staging", pm.SOAKING, "abc", None, bumped=T0, verdict="syncing")
PROMOTION = pm.Promotion({"web": "1.1"}, (SYNCING, pm.StepState("canary")))
ROW = AppRow("web-staging", "Synced", "abc", "Degraded", True)


def verdict(status: Health, reason: str = "", evidence: tuple[str, ...] = ()) -> HealthVerdict:
    return HealthVerdict(status, reason, T0 + timedelta(minutes=10), (ROW,), evidence)


def move(health: HealthVerdict | None, now: datetime, **kw: bool) -> pm.Move:
    waited = ph.health_move(STEP, health, now) if health is not None else None
    return pm.next_move(PLAN, PROMOTION, now, health=waited, **kw)


def test_a_syncing_step_waits_polls_and_soaks_from_healthy_not_from_the_bump() -> None:
    now = T0 + timedelta(minutes=2)
    waiting = move(verdict(Health.WAITING, "web-staging: Progressing"), now)
    assert (waiting.kind, waiting.until) == (pm.MoveKind.WAIT, now + timedelta(seconds=30))
    assert waiting.reason == "waiting for Argo CD: web-staging: Progressing"
    late = T0 + timedelta(minutes=9, seconds=50)  # the deadline comes before the next poll
    assert move(verdict(Health.WAITING, "x"), late).until == T0 + timedelta(minutes=10)
    healthy = move(verdict(Health.HEALTHY, "Synced and Healthy at the bump: web-staging"), now)
    assert (healthy.kind, healthy.until) == (pm.MoveKind.WAIT, now + STEP.soak)
    assert pm.soak_left(STEP, SYNCING, now) == timedelta(0)  # no soak yet


def test_a_failed_wait_reverts_and_people_still_decide_first() -> None:
    failed = verdict(Health.FAILED, "web-staging is Degraded at the bump")
    now = T0 + timedelta(minutes=3)
    revert = move(failed, now)
    assert (revert.kind, revert.reason) == (
        pm.MoveKind.REVERT, "Argo CD: web-staging is Degraded at the bump"
    )  # fmt: skip
    assert move(failed, now, rollback_requested=True).reason == "rollback requested"
    # `/train promote` skips the wait with the soak: the shell passes no verdict then
    assert move(None, now, skip_requested=True).kind is pm.MoveKind.PASS


def test_a_failed_wait_becomes_revert_evidence_one_line_per_finding() -> None:
    lines = ("web-staging: Deployment web/web is Degraded (exceeded its progress deadline)",
             "web-staging: condition SyncError (a | pipe <b>)")  # fmt: skip
    results = ph.failure_results(STEP, verdict(Health.FAILED, "broken", lines))
    assert [(r.slo, r.stage, r.service, r.verdict.value) for r in results] == [
        ("argocd", "staging", "web-staging", "fail")
    ] * 2
    assert results[1].evidence == "web-staging: condition SyncError (a \\| pipe &lt;b&gt;)"
    timeout = ph.failure_results(STEP, HealthVerdict(Health.FAILED, "argocd: unreachable", T0))
    assert [(r.service, r.evidence) for r in timeout] == [("-", "argocd: unreachable")]
    assert ph.failure_results(STEP, verdict(Health.WAITING, "x")) == ()


def test_the_recorded_verdict_survives_the_ledger_and_changes_only_with_what_was_seen() -> None:
    view = ph.StageHealth.of(verdict(Health.WAITING, "web-staging: Progressing"), T0)
    again = ph.StageHealth.from_json(view.to_json())
    assert again == view and again.verdict().rows == (ROW,)
    later = ph.StageHealth.of(
        verdict(Health.WAITING, "web-staging: Progressing"), T0 + timedelta(1)
    )
    assert later.same(view)  # only the time differs: nothing to record
    other = ph.StageHealth.of(verdict(Health.WAITING, "web-staging: OutOfSync"), T0)
    assert not other.same(view)
    state = pm.Promotion.from_json(PROMOTION.to_json()).steps[0]
    assert (state.bumped, state.started, ph.syncing(state)) == (T0, None, True)
