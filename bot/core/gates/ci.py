"""The `ci` gate: required check runs and commit statuses on the train PR head succeed.

Required entries are exact names or fnmatch patterns. Each must match at least one check
run or commit status; every match must succeed. Pending keeps the gate in progress; a
required entry that never reported within `timeout` of departure fails the gate, naming it.
The bot's own check runs (``release-train/...``) never count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from fnmatch import fnmatchcase

from bot.core.gates.base import (
    GateResult,
    as_bool,
    as_duration,
    as_str_tuple,
    earliest,
    link,
    markdown_table,
    settings_keys,
)

NAME = "ci"
OWN_PREFIX = "release-train/"
_PENDING_STATUSES = frozenset({"queued", "in_progress", "waiting", "requested", "pending"})
_LENIENT = frozenset({"neutral", "skipped"})


@dataclass(frozen=True)
class CheckRun:
    """A check run on the head commit, as the adapter parsed it."""

    name: str
    status: str  # queued | in_progress | completed | waiting | requested | pending
    conclusion: str | None = None  # success | failure | neutral | cancelled | skipped | ...
    url: str = ""
    started_at: datetime | None = None
    id: int = 0


@dataclass(frozen=True)
class CommitStatus:
    """A commit status (the older API), latest per context wins."""

    context: str
    state: str  # success | failure | error | pending
    url: str = ""
    description: str = ""
    updated_at: datetime | None = None


@dataclass(frozen=True)
class CIFacts:
    head_sha: str
    departed_at: datetime
    check_runs: tuple[CheckRun, ...] = ()
    statuses: tuple[CommitStatus, ...] = ()


@dataclass(frozen=True)
class CISettings:
    required: tuple[str, ...] = ()
    allow_neutral: bool = True  # a check that concluded neutral or skipped counts as passing
    timeout: timedelta = timedelta(hours=1)  # since departure, for checks that never report
    recheck: timedelta = timedelta(minutes=2)  # how soon to look again while pending


def settings_from_config(mapping: Mapping[str, object]) -> CISettings:
    settings_keys(mapping, ("required", "allow_neutral", "timeout", "recheck"), NAME)
    base = CISettings()
    return CISettings(
        required=as_str_tuple(mapping.get("required", ()), "gates.ci.required"),
        allow_neutral=as_bool(mapping.get("allow_neutral", base.allow_neutral), "allow_neutral"),
        timeout=as_duration(mapping.get("timeout", base.timeout), "gates.ci.timeout"),
        recheck=as_duration(mapping.get("recheck", base.recheck), "gates.ci.recheck"),
    )


@dataclass(frozen=True)
class _Seen:
    """One reported check, reduced to a verdict: ok, pending or failed."""

    kind: str  # "check run" | "status"
    name: str
    state: str  # ok | pending | failed
    raw: str  # what GitHub said
    url: str


def _latest_runs(runs: tuple[CheckRun, ...]) -> list[CheckRun]:
    """A re-run makes a new check run with the same name: keep the newest of each."""
    newest: dict[str, CheckRun] = {}
    for run in runs:
        if run.name.startswith(OWN_PREFIX):
            continue
        held = newest.get(run.name)
        if held is None or _run_key(run) >= _run_key(held):
            newest[run.name] = run
    return list(newest.values())


def _run_key(run: CheckRun) -> tuple[float, int]:
    return (run.started_at.timestamp() if run.started_at else 0.0, run.id)


def _latest_statuses(statuses: tuple[CommitStatus, ...]) -> list[CommitStatus]:
    newest: dict[str, CommitStatus] = {}
    for status in statuses:
        held = newest.get(status.context)
        stamp = status.updated_at.timestamp() if status.updated_at else 0.0
        held_stamp = held.updated_at.timestamp() if held and held.updated_at else 0.0
        if held is None or stamp >= held_stamp:
            newest[status.context] = status
    return list(newest.values())


def _judge_run(run: CheckRun, allow_neutral: bool) -> _Seen:
    if run.status != "completed" or run.conclusion is None:
        state, raw = "pending", run.status
    else:
        raw = run.conclusion
        ok = raw == "success" or (allow_neutral and raw in _LENIENT)
        state = "ok" if ok else "failed"
    return _Seen("check run", run.name, state, raw, run.url)


def _judge_status(status: CommitStatus) -> _Seen:
    state = {"success": "ok", "pending": "pending"}.get(status.state, "failed")
    return _Seen("status", status.context, state, status.state, status.url)


def _matches(pattern: str, name: str) -> bool:
    return pattern == name or fnmatchcase(name, pattern)


def _match(required: tuple[str, ...], seen: list[_Seen]) -> tuple[list[_Seen], list[str]]:
    """The reported checks that required entries match, and the entries matching none."""
    matched: list[_Seen] = []
    missing: list[str] = []
    for pattern in required:
        hits = [s for s in seen if _matches(pattern, s.name)]
        if not hits:
            missing.append(pattern)
        matched += [h for h in hits if h not in matched]
    return matched, missing


class CIGate:
    name = NAME

    def evaluate(self, facts: CIFacts, settings: CISettings, now: datetime) -> GateResult:
        seen = [_judge_run(r, settings.allow_neutral) for r in _latest_runs(facts.check_runs)]
        seen += [_judge_status(s) for s in _latest_statuses(facts.statuses)]
        matched, missing = _match(settings.required, seen)
        failed = [s for s in matched if s.state == "failed"]
        pending = [s for s in matched if s.state == "pending"]
        deadline = facts.departed_at + settings.timeout
        never = missing if now >= deadline else []
        rows = [[s.name, s.kind, _badge(s), link(s.raw, s.url)] for s in matched]
        rows += [[m, "—", "missing", "never reported"] for m in missing]
        table = markdown_table(["required", "kind", "state", "GitHub says"], rows)
        details = {
            "head_sha": facts.head_sha,
            "failed": [s.name for s in failed],
            "pending": [s.name for s in pending],
            "missing": missing,
        }
        if not settings.required:
            summary = "The `ci` gate has no `required` checks, so there is nothing to wait for."
            return GateResult(NAME, "success", "No required checks configured", summary,
                              details=details)  # fmt: skip
        if failed or never:
            summary = _failure_summary(failed, never, settings, table)
            return GateResult(NAME, "failure", _failure_title(failed, never), summary,
                              details=details)  # fmt: skip
        if pending or missing:
            waiting = [s.name for s in pending] + missing
            summary = (
                f"Waiting for: {', '.join(f'`{w}`' for w in waiting)}. Required checks that "
                f"have not reported by {deadline.isoformat()} fail the gate.\n\n{table}"
            )
            recheck = earliest(settings.recheck, deadline - now if missing else None)
            return GateResult(NAME, "in_progress", f"Waiting for {len(waiting)} check(s)",
                              summary, recheck_after=recheck, details=details)  # fmt: skip
        summary = f"Every required check on `{facts.head_sha[:12]}` succeeded.\n\n{table}"
        return GateResult(NAME, "success", f"All {len(matched)} required check(s) passed",
                          summary, details=details)  # fmt: skip


def _badge(seen: _Seen) -> str:
    return {"ok": "passed", "pending": "pending", "failed": "**failed**"}[seen.state]


def _failure_title(failed: list[_Seen], missing: list[str]) -> str:
    parts = []
    if failed:
        parts.append(f"{', '.join(s.name for s in failed)} failed")
    if missing:
        parts.append(f"{len(missing)} required check(s) never reported")
    return "; ".join(parts)


def _failure_summary(
    failed: list[_Seen], missing: list[str], settings: CISettings, table: str
) -> str:
    lines = [f"- `{s.name}` ({s.kind}) concluded **{s.raw}**: {s.url or 'no link'}" for s in failed]
    if missing:
        lines.append(
            f"- Never reported within {settings.timeout} of departure: "
            + ", ".join(f"`{m}`" for m in missing)
        )
    return "\n".join(lines) + "\n\n" + table


GATE = CIGate()
