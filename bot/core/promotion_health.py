"""A stage's wait for Argo CD between its bump and its soak, in promotion (pure).

A step whose stage has `argocd:` is *syncing* once its bump commit lands: it is `soaking`
with `bumped` set and no `started` yet. Each round the shell (`bot.shell.health_io`) reads
the stage's Applications and `bot.core.argocd_health.judge_health` decides; this module
turns that verdict into promotion's move and its actions:

- **healthy**: the soak clock (and the SLO warm-up) starts now: `started` is set, the
  ledger records `stage-deployed` with the Applications' sync and health;
- **failed** (Degraded, Missing, or `health_timeout` passed): the usual revert move,
  with the Applications' conditions and unhealthy resources as its evidence (the revert
  commits' `Evidence:` trailers, the incident, the ledger);
- **waiting**: look again soon (`POLL`), or at the deadline; the reason and the per-
  Application sync/health are recorded when they change, so the stage table and the
  promotion check run show what the stage waits for.

The latest verdict of each step is kept in the train's record under ``extra["argocd"]``
(`StageHealth`), so `plan`, the stage table, the check run and the demo read the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from bot.config.model import ArgoCD, Config
from bot.core import promotion as pm
from bot.core.argocd_health import AppRow, Health, HealthVerdict
from bot.core.ledger import TrainRecord
from bot.core.promotion_steps import POLL, Seen, Steps, recorded, table_if_changed

KEY = "argocd"  # record.extra: step name -> its latest `StageHealth`
SLO_NAME = "argocd"  # the `slo` column of a health failure's evidence rows


def argocd_of(config: Config, step: pm.StepPlan) -> ArgoCD | None:
    """The stage's Argo CD settings (None: its soak starts at the bump, as before)."""
    stage = next((s for s in config.stages if s.name == step.stage), None)
    return stage.argocd if stage is not None else None


def syncing(state: pm.StepState | None) -> bool:
    """A step whose bump landed and whose Applications are not yet Synced and Healthy."""
    return (
        state is not None
        and state.status == pm.SOAKING
        and state.started is None
        and state.bumped is not None
    )


def health_move(step: pm.StepPlan, verdict: HealthVerdict, now: datetime) -> pm.Move:
    """The syncing step's move (`bot.core.promotion.next_move` takes it as `health`)."""
    if verdict.status is Health.FAILED:
        return pm.Move(pm.MoveKind.REVERT, step.name, reason=f"Argo CD: {verdict.reason}")
    if verdict.status is Health.HEALTHY:
        reason = f"Argo CD: {verdict.reason}; the soak starts"
        return pm.Move(pm.MoveKind.WAIT, step.name, until=now + step.soak, reason=reason)
    until = min(verdict.deadline, now + POLL)
    return pm.Move(
        pm.MoveKind.WAIT, step.name, until=until, reason=f"waiting for Argo CD: {verdict.reason}"
    )


def failure_results(step: pm.StepPlan, verdict: HealthVerdict) -> tuple[Any, ...]:
    """A failed wait as failing results (`bot.core.slo.SLOResult`, slo ``argocd``), one per
    line of evidence (or the reason when there is none): the revert move takes them like
    an SLO breach's, into its commits' `Evidence:` trailers, the incident and the ledger."""
    from bot.core.slo import SLOResult, Verdict
    from bot.core.untrusted import inline

    if verdict.status is not Health.FAILED:
        return ()
    lines = verdict.evidence or (verdict.reason,)
    out = []
    for line in lines:
        app, _, _ = line.partition(": ")
        service = app if any(r.name == app for r in verdict.rows) else "-"
        text = inline(line, 300)
        out.append(SLOResult(SLO_NAME, step.name, service, Verdict.FAIL, text, evidence=text))
    return tuple(out)


# -- what the record keeps ---------------------------------------------------------------


@dataclass(frozen=True)
class StageHealth:
    """A step's latest Argo CD verdict as recorded: `at` is when it was observed (for a
    healthy one: when the soak started)."""

    status: str  # waiting | healthy | failed
    reason: str
    at: datetime
    deadline: datetime
    rows: tuple[AppRow, ...] = ()
    evidence: tuple[str, ...] = ()

    @classmethod
    def of(cls, verdict: HealthVerdict, now: datetime) -> StageHealth:
        return cls(verdict.status.value, verdict.reason, now, verdict.deadline, verdict.rows,
                   verdict.evidence)  # fmt: skip

    def same(self, other: StageHealth | None) -> bool:
        """The same observation (when it was made aside): nothing to record."""
        return other is not None and replace(other, at=self.at) == self

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reason": self.reason,
            "at": self.at.isoformat(),
            "deadline": self.deadline.isoformat(),
            "applications": [asdict(r) for r in self.rows],
            "evidence": list(self.evidence),
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> StageHealth:
        rows = tuple(_row(a) for a in raw.get("applications") or () if isinstance(a, dict))
        return cls(
            str(raw.get("status") or ""),
            str(raw.get("reason") or ""),
            datetime.fromisoformat(str(raw["at"])),
            datetime.fromisoformat(str(raw["deadline"])),
            rows,
            tuple(str(e) for e in raw.get("evidence") or ()),
        )

    def verdict(self) -> HealthVerdict:
        return HealthVerdict(Health(self.status), self.reason, self.deadline, self.rows,
                             self.evidence)  # fmt: skip


def _row(raw: Mapping[str, Any]) -> AppRow:
    text = {k: str(raw.get(k) or "") for k in ("name", "sync", "revision", "health")}
    return AppRow(**text, at_bump=bool(raw.get("at_bump")))


def views(record: TrainRecord) -> dict[str, StageHealth]:
    """Step name -> its latest recorded Argo CD verdict."""
    raw = record.extra.get(KEY)
    if not isinstance(raw, dict):
        return {}
    out = {}
    for name, view in raw.items():
        try:
            out[str(name)] = StageHealth.from_json(view)
        except (KeyError, TypeError, ValueError):
            continue  # written by another build: not shown
    return out


def with_view(record: TrainRecord, step: str, view: StageHealth) -> TrainRecord:
    kept = dict(record.extra.get(KEY) or {})
    kept[step] = view.to_json()
    return replace(record, extra={**record.extra, KEY: kept})


# -- the syncing step's round ----------------------------------------------------------


def syncing_steps(
    config: Config,
    record: TrainRecord,
    promotion: pm.Promotion,
    step: pm.StepPlan,
    verdict: HealthVerdict,
    seen: Seen,
    now: datetime,
    until: datetime | None,
) -> Steps:
    """A syncing step's round that is not a revert. Healthy: the soak starts now (one
    ledger commit, `stage-deployed`). Waiting: the verdict recorded when it changed
    (`stage-syncing`), else only the stage table."""
    state = promotion.current()
    assert state is not None
    view = StageHealth.of(verdict, now)
    if verdict.status is Health.HEALTHY:
        promotion = promotion.with_step(replace(state, started=now, verdict=""))
        record = with_view(pm.store(record, promotion), step.name, view)
        detail = f"{step.name}: {verdict.reason}"
        record = record.with_event("stage-deployed", now, detail=detail)
        trailers = [("Stage", step.name), *_app_trailers(verdict)]
        actions = recorded(record, ["stage-deployed"], trailers, seen)
        return Steps(tuple(actions), record, promotion, until)
    if view.same(views(record).get(step.name)):
        return Steps(tuple(table_if_changed(config, record, promotion, seen)), record, promotion,
                     until)  # fmt: skip
    record = with_view(record, step.name, view)
    record = record.with_event("stage-syncing", now, detail=f"{step.name}: {verdict.reason}")
    trailers = [("Stage", step.name), ("Waiting", verdict.reason), *_app_trailers(verdict)]
    return Steps(tuple(recorded(record, ["stage-syncing"], trailers, seen)), record, promotion,
                 until)  # fmt: skip


def health_decides(move: pm.Move) -> bool:
    """Whether a syncing step's move is carried out here (`health_steps`)."""
    return move.kind in (pm.MoveKind.WAIT, pm.MoveKind.REVERT)


def health_steps(
    config: Config,
    record: TrainRecord,
    plan: Sequence[pm.StepPlan],
    promotion: pm.Promotion,
    step: pm.StepPlan,
    moved: tuple[pm.Move, HealthVerdict, Sequence[Any]],
    seen: Seen,
    now: datetime,
) -> Steps:
    """A syncing step's move: the revert (Degraded, Missing, the timeout; or `/train
    rollback` while it waited), with the verdict kept in the record; or the wait's round."""
    from bot.core.promotion_stops import revert

    move, verdict, results = moved
    if move.kind is pm.MoveKind.REVERT:
        if verdict.status is Health.FAILED:
            record = with_view(record, step.name, StageHealth.of(verdict, now))
        return revert(config, record, plan, promotion, results, move.reason, seen, now)
    return syncing_steps(config, record, promotion, step, verdict, seen, now, move.until)


def _app_trailers(verdict: HealthVerdict) -> list[tuple[str, str]]:
    from bot.core.untrusted import inline

    return [
        ("Application", inline(f"{r.name} {r.sync} {r.revision or '-'} {r.health}", 200))
        for r in verdict.rows
    ]


# -- rendering ---------------------------------------------------------------------------


def health_section(config: Config, record: TrainRecord) -> str:
    """Below the stage table (train PR and promotion check run): for each step with an
    Argo CD verdict, a line once it was healthy, else the verdict in full (waiting or
    failed: the reason, each Application's sync and health, the evidence)."""
    from bot.core.argocd_health import health_markdown
    from bot.core.untrusted import inline

    kept = views(record)
    blocks = []
    for step in pm.plan_steps(config):
        view = kept.get(step.name)
        if view is None:
            continue
        name = inline(step.name)
        if view.status == Health.HEALTHY.value:
            apps = ", ".join(f"{inline(r.name)} {inline(r.sync)}/{inline(r.health)}"
                             for r in view.rows)  # fmt: skip
            blocks.append(f"- **{name}**: {apps} at {_hm(view.at)}; the soak started then")
            continue
        when = f"looked at {_hm(view.at)}, fails at {_hm(view.deadline)}"
        blocks += [f"**{name}** ({when})", health_markdown(view.verdict())]
    return "\n\n".join(["#### Argo CD", *blocks]) if blocks else ""


def with_health(config: Config, record: TrainRecord, table: str) -> str:
    """The stage table with the Argo CD section after it (when there is one)."""
    section = health_section(config, record)
    return f"{table}\n\n{section}" if section else table


def _hm(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def uses_argocd(config: Config) -> bool:
    return any(stage.argocd is not None for stage in config.stages)


__all__ = [
    "KEY",
    "POLL",
    "StageHealth",
    "argocd_of",
    "failure_results",
    "health_decides",
    "health_move",
    "health_section",
    "health_steps",
    "syncing",
    "syncing_steps",
    "views",
    "with_health",
    "with_view",
]
