"""When a stage is not passing, as actions (pure): an unsure verdict holds the stage (and,
past `inconclusive_after`, `on_inconclusive: abort` ends the train); a breach or
`/train rollback` reverts every bump the train made, holds its services and opens the
incident (`bot.core.promotion_steps` has the common shape)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.config.model import Config
from bot.core import actions as act
from bot.core import holds as holds_mod
from bot.core import promotion as pm
from bot.core import promotion_actions as pa
from bot.core import release
from bot.core.ledger import TrainRecord
from bot.core.promotion_steps import Seen, Steps, branch_of, head_of, recorded, stage_of
from bot.core.revert import EvidenceRow, abort_notice, incident_title, revert_steps
from bot.core.train import ROLLED_BACK

SLO_INCONCLUSIVE = "slo-inconclusive"


def unsure(
    config: Config,
    record: TrainRecord,
    promotion: pm.Promotion,
    step: pm.StepPlan,
    results: Sequence[Any],
    action: str,
    failures: tuple[Any, ...],
    seen: Seen,
    now: datetime,
) -> Steps:
    """Inconclusive or error, or failing under `failure_limit`: hold the stage (never
    promote) and record the streaks of failing checks; `abort` ends the train."""
    from bot.core.slo.streak import failing_text

    state = promotion.current()
    assert state is not None
    doubt = [r for r in results if r.verdict.value in ("inconclusive", "error") and not r.observe]
    worst = "error" if any(r.verdict.value == "error" for r in results) else "inconclusive"
    reasons = "; ".join(f"{r.slo}/{r.service}: {r.reason}" for r in results if r.verdict != "pass")
    if action == "abort":
        return abort_train(config, record, promotion, step, worst, reasons, seen, now)
    slos = {n: config.slo(n) for n in step.slos}
    streaks = failing_text(failures, slos)
    reasons = "; ".join(x for x in (reasons, streaks) if x)
    since = (state.unsure_since or now) if doubt else None
    verdict = worst if doubt else "failing"
    held = replace(state, unsure_since=since, verdict=verdict, failures=failures)
    wakes = [since + s.inconclusive_after for s in slos.values() if since and s.inconclusive_after]
    wakes += [now + slos[f.slo].interval for f in failures if f.slo in slos]
    wake = min((w for w in wakes if w > now), default=None)
    if held == state:
        return Steps((), record, promotion, wake)
    promotion = promotion.with_step(held)
    record = pm.store(record, promotion)
    record = record.with_event("stage-verdict", now, detail=f"{step.name} {verdict}")
    trailers = [("Stage", step.name), ("Verdict", verdict), ("Evidence", reasons)]
    return Steps(
        tuple(recorded(record, ["stage-verdict"], trailers, seen)), record, promotion, wake
    )


def abort_train(
    config: Config,
    record: TrainRecord,
    promotion: pm.Promotion,
    step: pm.StepPlan,
    worst: str,
    reasons: str,
    seen: Seen,
    now: datetime,
) -> Steps:
    """`on_inconclusive: abort` past `inconclusive_after`: the train ends `aborted` (reason
    `slo-inconclusive`, the same terminal transition as the lifecycle's deadline), no
    further stage is bumped and bumped stages stay as they are; the step's deployment turns
    `failure`, the promotion check run fails, the train PR says what to do, and the ledger
    records it in one commit."""
    from bot.core.decide import abort

    state = promotion.current()
    assert state is not None
    stopped = replace(
        state, verdict=f"{worst} (aborted)", finished=now, unsure_since=state.unsure_since or now
    )
    why = f"{step.name}: SLO verdict {worst} past inconclusive_after, train aborted"
    promotion = replace(promotion.with_step(stopped), error=why)
    bumped = [(s.name, s.status, s.commit) for s in promotion.steps if s.commit]
    rest = [s.name for s in promotion.steps if not s.commit]
    left = ", ".join(name for name, _, _ in bumped) or "none"
    detail = f"{step.name} {worst}: {reasons}; stages left bumped: {left}"
    record = abort(pm.store(record, promotion), SLO_INCONCLUSIVE, now, detail=detail)
    effects: list[act.Action] = []
    if state.deployment:
        text = f"{record.id} aborted: SLO verdict {worst}; left deployed"
        repository = stage_of(config, step).repository
        effects.append(
            act.SetDeploymentStatus(
                record.id, step.name, state.deployment, "failure", text, repository
            )
        )
    if record.train_pr:
        body = abort_notice(record.id, step.name, worst, reasons, bumped, rest)
        key = f"{SLO_INCONCLUSIVE}:{record.id}"
        effects.append(act.PostComment(record.id, record.train_pr, body, key))
    trailers = [("Stage", step.name), ("Verdict", worst)]  # Reason: the record's end_reason
    trailers += [("Evidence", reasons)] if reasons else []
    actions = recorded(record, ["abort"], trailers, seen, effects=effects)
    return Steps(tuple(actions), record, promotion)


# -- revert --------------------------------------------------------------------------------


def revert(
    config: Config,
    record: TrainRecord,
    plan: Sequence[pm.StepPlan],
    promotion: pm.Promotion,
    results: Sequence[Any],
    reason: str,
    seen: Seen,
    now: datetime,
) -> Steps:
    """Commit the reverse of every bump the train made (newest step first, one chain and
    one ref update per branch), turn its deployments, open the incident, say so on the
    train PR, hold its services and mark the train rolled back: ONE ledger commit (the fail
    verdict, the commits, the holds). A rerun after a crash finds the files already
    reverted, the incident and the comment by their markers, and converges."""
    actor = record.rollback_requested
    failing = [r for r in results if r.verdict.value == "fail"]
    evidence = [r.evidence for r in failing if r.evidence]
    current = promotion.current()
    verdict: list[tuple[str, str]] = []
    if failing and current is not None:
        failed = replace(current, verdict="fail", evidence=tuple(evidence), finished=now)
        promotion = promotion.with_step(failed)
        record = record.with_event("stage-verdict", now, detail=f"{current.name} fail")
        verdict = [("Stage", current.name), ("Verdict", "fail")]
    by_name = {s.name: s for s in plan}
    effects: list[act.Action] = list(_chains(config, record, by_name, promotion, evidence))
    effects += _deployments(config, record, promotion, current, by_name)
    why = reason if not actor else f"rollback requested by @{actor}"
    services = sorted(promotion.tags)
    holds = holds_mod.hold(seen.holds, services, record.id, why, now)
    where = current.name if current is not None else "promotion"
    rows = tuple(
        EvidenceRow(r.slo, r.stage, r.service, r.verdict.value, r.evidence, _query(config, r))
        for r in failing
    )
    effects.append(
        pa.OpenIncident(
            record.id,
            incident_title(record.id, where),
            where,
            why,
            rows,
            tuple(services),
            config.prometheus.url or seen.prometheus_url,
            tuple(config.incident.labels),
            tuple(config.incident.assignees),
            f"incident:{record.id}",
        )
    )
    if record.train_pr:
        effects.append(pa.AnnounceRollback(record.id, record.train_pr, why, tuple(evidence)))
    effects += release.rolled_back(record)  # says what was reverted and the incident
    promotion = replace(promotion, rolled_back=True)
    record = replace(
        pm.store(record, promotion),
        state=ROLLED_BACK,
        state_since=now,
        end_reason=why,
        rollback_requested="",
    ).with_event("rolled-back", now, actor, why)
    trailers = verdict + [("Evidence", e) for e in evidence]
    trailers += [("Event", "held")] + [("Service", s) for s in services]
    files = {holds_mod.HOLDS_PATH: holds_mod.encode(holds)}
    events = ["rolled-back", *(["stage-verdict"] if verdict else [])]
    actions = recorded(record, events, trailers, seen, effects=effects, actor=actor, files=files)
    return Steps(tuple(actions), record, promotion)


def _chains(
    config: Config,
    record: TrainRecord,
    steps: dict[str, pm.StepPlan],
    promotion: pm.Promotion,
    evidence: Sequence[str],
) -> list[pa.RevertChain]:
    """One chain per branch (newest step first), or one per step whose stage takes pull
    requests."""
    actor = record.rollback_requested
    chains: dict[tuple[str, str, str], list[pa.RevertLink]] = {}
    for rs in revert_steps(promotion):
        step = steps[rs.step]
        message = pm.revert_message(record.id, rs.step, rs.reverts, evidence, actor)
        head = head_of(config, record, step, "revert")
        where = (stage_of(config, step).repository, branch_of(config, record, step), head)
        chains.setdefault(where, []).append(pa.RevertLink(rs.step, rs.files, rs.tags, message))
    return [
        pa.RevertChain(record.id, branch, tuple(links), repository, head)
        for (repository, branch, head), links in chains.items()
    ]


def _deployments(
    config: Config,
    record: TrainRecord,
    promotion: pm.Promotion,
    current: pm.StepState | None,
    steps: dict[str, pm.StepPlan],
) -> list[act.Action]:
    out: list[act.Action] = []
    for state in promotion.steps:
        if not state.deployment or state.name not in steps:
            continue
        failed = current is not None and state.name == current.name
        what = "failure" if failed else "inactive"
        repository = stage_of(config, steps[state.name]).repository
        out.append(
            act.SetDeploymentStatus(
                record.id,
                state.name,
                state.deployment,
                what,
                f"{record.id} rolled back",
                repository,
            )
        )
    return out


def _query(config: Config, result: Any) -> str:
    from bot.core.slo import render_query

    slo = next((s for s in config.slos if s.name == result.slo), None)
    if slo is None:  # Argo CD's evidence (bot.core.promotion_health): no query to graph
        return ""
    template = slo.error_ratio or slo.latency or slo.good
    return render_query(template, result.stage, result.service, "5m") if template else ""
