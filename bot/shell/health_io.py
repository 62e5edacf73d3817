"""Reading Argo CD for a syncing stage (`bot.core.promotion_health`): the stage's
Applications (`bot.adapters.argocd.observe`, under the operator's outbound policy), whether
each synced revision contains the bump (GitHub's compare, in the stage's repository), then
the pure verdict (`bot.core.argocd_health.judge_health`).

The reads are the same for `plan` and `reconcile`. With `refresh: true` each read asks Argo
CD to refresh the Application (``?refresh=normal``): that is a GET whose only effect is
that Argo CD compares with Git now rather than at its next poll. It changes nothing Argo
CD deploys or reports beyond what its poll would report a few minutes later, and nothing
on GitHub, so it is a read here, not an action: `plan` makes it too, as it reads
Prometheus.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from bot.core import promotion as pm
from bot.core.argocd_health import AppState, Health, HealthVerdict, Unobservable, judge_health
from bot.core.ledger import TrainRecord
from bot.core.promotion_health import argocd_of, syncing
from bot.shell.stage_io import StageCtx, git_for


def syncing_verdict(
    ctx: StageCtx, record: TrainRecord, plan: Sequence[pm.StepPlan], promotion: pm.Promotion
) -> HealthVerdict | None:
    """The Argo CD verdict on the train's syncing step (None: no step is syncing, or a
    `/train promote` skips the wait with the soak)."""
    current = promotion.current()
    if record.promote_requested or not syncing(current):
        return None
    assert current is not None and current.bumped is not None
    step = next((s for s in plan if s.name == current.name), None)
    if step is None:
        return None
    config = argocd_of(ctx.config, step)
    if config is None:  # the stage no longer waits for Argo CD: soak from now
        why = "the stage no longer has `argocd:`; the soak starts without it"
        return HealthVerdict(Health.HEALTHY, why, ctx.now)
    from bot.adapters.argocd import observe

    observed = observe(config, policy_of(ctx))
    contains = _contains(ctx, step, observed, current.commit)
    return judge_health(
        observed,
        bump=current.commit,
        contains=lambda revision, bump: contains.get(revision, False),
        now=ctx.now,
        started=current.bumped,
        timeout=config.health_timeout,
    )


def policy_of(ctx: StageCtx) -> Any:
    """The operator's outbound policy: the one the transport gave, else this process's
    environment (operator mode), as for Prometheus."""
    given = getattr(ctx, "outbound", None)
    if given is not None:
        return given
    from bot.config.operator import outbound_from_env

    return outbound_from_env(os.environ)


def _contains(
    ctx: StageCtx,
    step: pm.StepPlan,
    observed: Sequence[AppState] | Unobservable,
    bump: str,
) -> dict[str, bool]:
    """Revision -> whether it contains `bump` (it is the bump or a descendant), for every
    revision the Applications report; one compare per distinct revision. A revision
    GitHub does not know (another repository, force-pushed away) does not contain it."""
    if isinstance(observed, Unobservable) or not bump:
        return {}
    revisions = {r for app in observed for r in app.revisions if r}
    git = git_for(ctx, step)
    return {r: r == bump or _descends(git, bump, r) for r in revisions}


def _descends(git: Any, bump: str, revision: str) -> bool:
    """GitHub's compare `bump...revision`: ahead or identical means it contains the bump
    (any other answer, 404 included, means it does not: the stage goes on waiting)."""
    status, body, _ = git.client._get(git._url(f"/compare/{bump}...{revision}"), {"per_page": 1})
    return status == 200 and isinstance(body, dict) and body.get("status") in ("ahead", "identical")
