"""Argo CD health after a stage's bump: wait, healthy (the soak may start), or failed.

Pure: the Applications' states (read by `bot.adapters.argocd`), the bump commit, a
predicate telling whether a synced revision contains it, `now`, when the wait started and
the stage's `health_timeout` go in; a `HealthVerdict` comes out. Nothing here reads a
clock, the network or Git.

The rules (issue #20):

- **healthy** when every Application is `Synced` at a revision containing the bump, its
  health is `Healthy` and no sync operation is still running;
- **failed** when an Application at the bump is `Degraded`, or `Missing` (its resources
  do not exist although the bump synced), or when `health_timeout` passes without the
  above; the evidence is the Applications' conditions and unhealthy resources;
- otherwise **waiting**, with the reason (OutOfSync, at an older revision, Progressing,
  an Application Argo CD does not know, Argo CD unreachable or refusing the token).
  `Progressing` counts toward the timeout like any other wait.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

SYNCED = "Synced"
HEALTHY = "Healthy"
FAILING_HEALTH = ("Degraded", "Missing")  # at the bump: the rollout itself is broken
RUNNING_PHASES = ("Running", "Terminating")  # a sync operation still under way

# contains(revision, bump): whether the synced `revision` (a commit) includes `bump`
Contains = Callable[[str, str], bool]


@dataclass(frozen=True)
class Condition:
    """An Application condition (e.g. ComparisonError, SyncError), as Argo CD reports it."""

    type: str
    message: str = ""


@dataclass(frozen=True)
class ResourceHealth:
    """One managed resource's sync and health status (`status.resources[]`)."""

    kind: str
    name: str
    namespace: str = ""
    sync: str = ""
    health: str = ""  # "" when Argo CD reports no health for this kind
    message: str = ""

    @property
    def ref(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


@dataclass(frozen=True)
class AppState:
    """One Application as read from Argo CD. `found` is False when Argo CD does not know
    it (HTTP 404, or a selector that matched nothing): then only `name` and `reason` say
    anything."""

    name: str
    sync: str = "Unknown"  # Synced | OutOfSync | Unknown
    revisions: tuple[str, ...] = ()  # status.sync.revision, or .revisions (multi-source)
    health: str = "Unknown"  # Healthy | Progressing | Degraded | Suspended | Missing | Unknown
    health_message: str = ""
    conditions: tuple[Condition, ...] = ()
    resources: tuple[ResourceHealth, ...] = ()
    operation_phase: str = ""  # status.operationState.phase: Running, Succeeded, Failed, ...
    found: bool = True
    reason: str = ""

    @classmethod
    def absent(cls, name: str, reason: str) -> AppState:
        return cls(name, found=False, reason=reason)

    def at_bump(self, bump: str, contains: Contains) -> bool:
        return any(contains(revision, bump) for revision in self.revisions if revision)

    def unhealthy_resources(self) -> tuple[ResourceHealth, ...]:
        return tuple(r for r in self.resources if r.health and r.health != HEALTHY)


@dataclass(frozen=True)
class Unobservable:
    """Argo CD could not be read this round: unreachable, 5xx, or the token refused."""

    reason: str


class Health(Enum):
    WAITING = "waiting"
    HEALTHY = "healthy"
    FAILED = "failed"


@dataclass(frozen=True)
class AppRow:
    """One Application's line for the promotion check run and the stage table."""

    name: str
    sync: str
    revision: str  # short; "" when none
    health: str
    at_bump: bool


@dataclass(frozen=True)
class HealthVerdict:
    """What the stage does next. `evidence` (for a failure, and shown while waiting) lists
    conditions and unhealthy resources; `deadline` is when waiting turns into failure."""

    status: Health
    reason: str
    deadline: datetime
    rows: tuple[AppRow, ...] = ()
    evidence: tuple[str, ...] = ()

    @property
    def soak_may_start(self) -> bool:
        return self.status is Health.HEALTHY


def judge_health(
    observed: Sequence[AppState] | Unobservable,
    *,
    bump: str,
    contains: Contains,
    now: datetime,
    started: datetime,
    timeout: timedelta,
) -> HealthVerdict:
    """The verdict on the Applications of one stage, `now`, for the bump made at `started`."""
    deadline = started + timeout
    if isinstance(observed, Unobservable):
        return _wait_or_timeout(observed.reason, (), (observed.reason,), now, deadline)
    apps = tuple(observed)
    rows = tuple(_row(app, bump, contains) for app in apps)
    evidence = tuple(line for app in apps for line in _evidence(app))
    if not apps:
        reason = "no Application to check (the selector matched none)"
        return _wait_or_timeout(reason, rows, evidence, now, deadline)
    broken = [a for a in apps if a.found and a.health in FAILING_HEALTH
              and a.at_bump(bump, contains)]  # fmt: skip
    if broken:
        reason = "; ".join(f"{a.name} is {a.health} at the bump{_said(a.health_message)}"
                           for a in broken)  # fmt: skip
        return HealthVerdict(Health.FAILED, reason, deadline, rows, evidence)
    waiting = [why for app in apps if (why := _waiting_reason(app, bump, contains))]
    if not waiting:
        names = ", ".join(a.name for a in apps)
        return HealthVerdict(Health.HEALTHY, f"Synced and Healthy at the bump: {names}",
                             deadline, rows)  # fmt: skip
    return _wait_or_timeout("; ".join(waiting), rows, evidence, now, deadline)


def _wait_or_timeout(
    reason: str,
    rows: tuple[AppRow, ...],
    evidence: tuple[str, ...],
    now: datetime,
    deadline: datetime,
) -> HealthVerdict:
    if now >= deadline:
        timed_out = f"not Synced and Healthy by the health timeout ({_clock(deadline)}): {reason}"
        return HealthVerdict(Health.FAILED, timed_out, deadline, rows, evidence)
    return HealthVerdict(Health.WAITING, reason, deadline, rows, evidence)


def _waiting_reason(app: AppState, bump: str, contains: Contains) -> str:
    """Why `app` does not count as deployed yet ("" when it does)."""
    if not app.found:
        return f"{app.name}: {app.reason or 'Argo CD does not know this Application'}"
    revision = short(app.revisions[0]) if app.revisions else "no revision"
    if not app.at_bump(bump, contains):
        return f"{app.name}: {app.sync} at {revision}, without the bump {short(bump)}"
    if app.sync != SYNCED:
        return f"{app.name}: {app.sync} at {revision}"
    if app.operation_phase in RUNNING_PHASES:
        return f"{app.name}: sync operation {app.operation_phase}"
    if app.health != HEALTHY:
        return f"{app.name}: {app.health}{_said(app.health_message)}"
    return ""


def _row(app: AppState, bump: str, contains: Contains) -> AppRow:
    if not app.found:
        return AppRow(app.name, "-", "", "Missing", False)
    revision = short(app.revisions[0]) if app.revisions else ""
    return AppRow(app.name, app.sync, revision, app.health, app.at_bump(bump, contains))


def _evidence(app: AppState) -> list[str]:
    lines = [f"{app.name}: condition {c.type}{_said(c.message)}" for c in app.conditions]
    lines += [
        f"{app.name}: {r.ref} is {r.health}{_said(r.message)}" for r in app.unhealthy_resources()
    ]
    return lines


def _said(message: str) -> str:
    return f" ({message})" if message else ""


def short(sha: str) -> str:
    return sha[:7] if re.fullmatch(r"[0-9a-f]{40}", sha) else sha


def _clock(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


# -- rendering ---------------------------------------------------------------------------


def health_markdown(verdict: HealthVerdict, *, max_evidence: int = 20) -> str:
    """The verdict for the promotion check run and the stage table: one line of outcome,
    a table of the Applications' sync and health, and the evidence. Names and messages
    come from Argo CD and the configuration: neutralised (`bot.core.untrusted`)."""
    from bot.core.untrusted import cell, inline

    title = {Health.WAITING: "Waiting for Argo CD", Health.HEALTHY: "Argo CD: Synced and Healthy",
             Health.FAILED: "Argo CD: failed"}[verdict.status]  # fmt: skip
    lines = [f"**{title}**: {inline(verdict.reason, 1000)}"]
    if verdict.rows:
        lines += [
            "",
            "| Application | Sync | Revision | Health | Bump deployed |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {cell(r.name)} | {cell(r.sync)} | {cell(r.revision or '-')} | {cell(r.health)} | "
            f"{'yes' if r.at_bump else 'no'} |"
            for r in verdict.rows
        ]
    shown = verdict.evidence[:max_evidence]
    if shown:
        lines += ["", *(f"- {inline(e, 500)}" for e in shown)]
        if len(verdict.evidence) > len(shown):
            lines.append(f"- … and {len(verdict.evidence) - len(shown)} more")
    return "\n".join(lines)
