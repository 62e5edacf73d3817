"""The bridge from the lifecycle's view of the world to the gates.

`decide.merge_verdict` (the lifecycle helper's one merge rule) can call `gate_verdict` with
what it already holds: the config, the train record, the train PR and the `World` read at
this reconcile. CI and policy facts come from the World; the calendar gives freeze and
cutover; facts no adapter gathers yet (code scanning, manifests, error budgets) come in
`extra`, and without them those gates say plainly that they did not check (`neutral`), so
`gates.allow_neutral` decides whether that blocks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot.config.model import Config, Cutover
from bot.core import actions as act
from bot.core.calendar import active_freeze, cutover_open, next_cutover
from bot.core.gates import ci, policy
from bot.core.gates.base import GateResult
from bot.core.gates.checkrun import (
    ExistingCheckRun,
    button_nonce,
    plan_check_run,
    publish_action,
)
from bot.core.gates.error_budget import ErrorBudgetFacts
from bot.core.gates.registry import evaluate_all, load_settings
from bot.core.gates.security import SecurityFacts
from bot.core.gates.verdict import Verdict, train_verdict
from bot.core.ledger import TrainRecord
from bot.core.world import PullRequest, World


@dataclass(frozen=True)
class GateVerdict:
    verdict: Verdict
    results: tuple[GateResult, ...]
    approved_by: tuple[str, ...]


def departed_at(record: TrainRecord, now: datetime) -> datetime:
    """When the train departed (its `departed` event), else when it entered its state."""
    event = next((e for e in reversed(record.history) if e.event == "departed"), None)
    if event is not None:
        return event.at
    return record.state_since or record.created_at or now


def ci_facts(pr: PullRequest, world: World, record: TrainRecord, now: datetime) -> ci.CIFacts:
    runs = tuple(
        ci.CheckRun(name=r.name, status=r.status or "queued", conclusion=r.conclusion or None)
        for r in world.checks.get(pr.head_sha, ())
    )
    return ci.CIFacts(head_sha=pr.head_sha, departed_at=departed_at(record, now), check_runs=runs)


def policy_facts(
    config: Config,
    record: TrainRecord,
    pr: PullRequest,
    world: World,
    now: datetime,
    *,
    branch_changed_at: datetime | None = None,
    codeowners_text: str | None = None,
    changed_paths: tuple[str, ...] = (),
    team_members: Mapping[str, frozenset[str]] | None = None,
) -> policy.PolicyFacts:
    reviews = tuple(
        policy.Review(r.author, r.state, r.submitted_at, r.commit_id)
        for r in world.reviews.get(pr.number, ())
        if r.submitted_at is not None
    )
    read = {r.author: r.permission for rs in world.reviews.values() for r in rs if r.permission}
    permissions = {**read, **world.permissions}
    freeze = active_freeze(config.freezes, now, config.cutover.timezone)
    freeze_ends = next_cutover(Cutover(timezone=config.cutover.timezone), config.freezes, now)
    window = next_cutover(config.cutover, (), now)
    return policy.PolicyFacts(
        reviews=reviews,
        team_members=dict(team_members or {}),
        codeowners_text=codeowners_text,
        changed_paths=changed_paths,
        boarded_authors=tuple(b.author for b in record.boarded if b.author),
        branch_changed_at=branch_changed_at or departed_at(record, now),
        emergency=record.emergency,
        freeze=freeze.name if freeze else None,
        freeze_ends=freeze_ends[0] if freeze and freeze_ends else None,
        in_cutover=cutover_open(config.cutover, (), now),
        next_cutover=window[0] if window else None,
        permissions=permissions,
        head_sha=pr.head_sha,
        pr_author=pr.author,
    )


def _not_gathered(gate: str, what: str) -> GateResult:
    return GateResult(
        gate,
        "neutral",
        f"{what} not checked",
        f"The bot does not gather {what.lower()} facts yet, so this gate checked nothing and "
        "reports `neutral`, not `success`. List it in `gates.allow_neutral` to let trains "
        "merge meanwhile.",
        details={"unavailable": f"{what} facts not gathered"},
    )


def gate_verdict(
    config: Config,
    record: TrainRecord,
    pr: PullRequest,
    world: World,
    now: datetime,
    *,
    extra: Mapping[str, Any] | None = None,
) -> GateVerdict:
    """Every gate's result and the merge verdict. `extra` may hold facts by gate name
    (`security`, `manifests`, `error-budget`, or `policy`/`ci` to override the World's)."""
    facts: dict[str, Any] = {
        "ci": ci_facts(pr, world, record, now),
        "policy": policy_facts(config, record, pr, world, now),
        "security": SecurityFacts(unavailable="the bot does not read code scanning yet"),
        "error-budget": ErrorBudgetFacts(),
    }
    facts.update(extra or {})
    settings, failed = load_settings(config.gates)
    if "policy" in settings:
        settings["policy"] = _with_bot(settings["policy"], world.bot_login)
    results = evaluate_all(facts, settings, now, failed)
    if "manifests" not in facts:
        results = [_not_gathered("manifests", "Manifest") if r.gate == "manifests" else r
                   for r in results]  # fmt: skip
    verdict = train_verdict(results, config.gates.allow_neutral)
    policy_result = next((r for r in results if r.gate == "policy"), None)
    approved = tuple(policy_result.details.get("approved_by", ())) if policy_result else ()
    return GateVerdict(verdict, tuple(results), approved)


def _with_bot(settings: policy.PolicySettings, bot_login: str) -> policy.PolicySettings:
    if settings.bot_login != policy.BOT_LOGIN:
        return settings  # configured explicitly
    return replace(settings, bot_login=bot_login)


def check_run_actions(
    config: Config,
    record: TrainRecord,
    pr: PullRequest,
    world: World,
    now: datetime,
    facts: Mapping[str, Any],
    existing: Mapping[str, ExistingCheckRun],
    force: frozenset[str] = frozenset(),
) -> list[act.Action]:
    """Each gate's result as `release-train/<gate>` on the train PR head, as actions: only
    what GitHub does not already show (`existing`: our newest run of each name,
    `bot.core.gates.checkrun.ExistingCheckRun`); gates in `force` get a new run (a re-run)."""
    judged = gate_verdict(config, record, pr, world, now, extra=facts)
    out: list[act.Action] = []
    for result in judged.results:
        nonce = button_nonce(record)  # in external_id too: a new nonce republishes the run
        plan = plan_check_run(
            result, pr.head_sha, now, external_id=f"{record.id}#{nonce}", nonce=nonce
        )
        name = str(plan.first["name"])
        found = existing.get(name)
        how = "create" if result.gate in force else publish_action(found, plan)
        if how == "skip":
            continue
        update = how == "update" and found is not None
        body = plan.as_update() if update else plan.first
        run_id = found.id if update and found is not None else 0
        out.append(
            act.PublishCheckRun(record.id, name, result.conclusion, how, body, run_id, plan.rest)
        )
    return out
