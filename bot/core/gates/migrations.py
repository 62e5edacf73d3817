"""The `migrations` gate: a train carrying database migrations needs the migration approvers'
approval and waits for a migration window before it may merge.

Facts are the paths the train changes and the train PR's reviews (a `PolicyFacts`, with the
approvers team's members). Paths matching `paths` (defaults for Alembic, Django, Flyway,
Rails, Liquibase and golang-migrate) are migrations. With migrations: `approvers` (a team,
`org/slug`) must have given `required` approvals that count (on the head, by a writer, not
the author: `bot.core.approvals`), else `action_required`; and when `windows` are set, `now`
must be inside one (cron start + duration in a time zone), else `in_progress` with a
recheck at the next opening. Without migrations the gate passes. Run only when configured.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from bot.core.approvals import Approver, permission_of, why_not_counted
from bot.core.gates.base import (
    Conclusion,
    GateResult,
    as_duration,
    as_number,
    as_str_tuple,
    config_error,
    markdown_table,
    settings_keys,
    worst,
)
from bot.core.gates.policy import BOT_LOGIN, PolicyFacts

NAME = "migrations"
DEFAULT_PATHS = (
    "*alembic/versions/*.py",  # Alembic
    "*migrations/versions/*.py",  # Alembic (Flask-Migrate)
    "*migrations/[0-9][0-9][0-9][0-9]_*.py",  # Django
    "V[0-9]*__*.sql",  # Flyway, at the root
    "*/V[0-9]*__*.sql",  # Flyway
    "*db/migrate/*.rb",  # Rails
    "*db.changelog*",  # Liquibase
    "*changelog/*.xml",  # Liquibase
    "*.up.sql",  # golang-migrate
    "*.down.sql",  # golang-migrate
)


@dataclass(frozen=True)
class Window:
    cron: str
    duration: timedelta
    timezone: str = "UTC"


@dataclass(frozen=True)
class MigrationSettings:
    paths: tuple[str, ...] = DEFAULT_PATHS
    approvers: str = ""  # org/slug; empty: no approval needed beyond the policy gate's
    required: int = 1
    windows: tuple[Window, ...] = ()
    bot_login: str = BOT_LOGIN


@dataclass(frozen=True)
class MigrationFacts:
    changed_paths: tuple[str, ...] = ()
    policy: PolicyFacts = field(default_factory=PolicyFacts)


def settings_from_config(mapping: Mapping[str, object]) -> MigrationSettings:
    settings_keys(mapping, ("paths", "approvers", "required", "windows"), NAME)
    approvers = mapping.get("approvers", "")
    if not isinstance(approvers, str) or (approvers and "/" not in approvers):
        raise config_error("gates.migrations.approvers: expected a team as org/slug")
    windows = mapping.get("windows", ())
    if not isinstance(windows, list | tuple):
        raise config_error("gates.migrations.windows: expected a list of windows")
    return MigrationSettings(
        paths=as_str_tuple(mapping.get("paths", DEFAULT_PATHS), "gates.migrations.paths"),
        approvers=approvers,
        required=int(as_number(mapping.get("required", 1), "required", low=1, high=10)),
        windows=tuple(_window(w, i) for i, w in enumerate(windows)),
    )


def _window(raw: object, index: int) -> Window:
    what = f"gates.migrations.windows[{index}]"
    if not isinstance(raw, Mapping):
        raise config_error(f"{what}: expected {{cron, duration, timezone}}")
    settings_keys(raw, ("cron", "duration", "timezone"), f"migrations.windows[{index}]")
    cron, tz = raw.get("cron"), raw.get("timezone", "UTC")
    if not isinstance(cron, str) or not croniter.is_valid(cron):
        raise config_error(f"{what}.cron: {cron!r} is not a cron expression")
    try:
        ZoneInfo(str(tz))
    except (ZoneInfoNotFoundError, ValueError):
        raise config_error(f"{what}.timezone: unknown time zone {tz!r}") from None
    return Window(cron, as_duration(raw.get("duration"), f"{what}.duration"), str(tz))


def migration_paths(paths: Sequence[str], globs: Sequence[str]) -> tuple[str, ...]:
    return tuple(p for p in paths if any(fnmatchcase(p, g) for g in globs))


def window_state(windows: Sequence[Window], now: datetime) -> tuple[bool, datetime | None]:
    """Whether `now` is inside a window, and when the next one opens (None: no windows)."""
    starts = []
    for window in windows:
        local = now.astimezone(ZoneInfo(window.timezone))
        began = croniter(window.cron, local + timedelta(seconds=1)).get_prev(datetime)
        if began <= local < began + window.duration:
            return True, None
        starts.append(croniter(window.cron, local).get_next(datetime))
    return False, min(starts) if starts else None


def counted_approvers(facts: PolicyFacts, settings: MigrationSettings) -> list[str]:
    """Team members whose latest review approves the head and counts."""
    members = {m.lower() for m in facts.team_members.get(settings.approvers, frozenset())}
    latest = {r.user: r for r in sorted(facts.reviews, key=lambda r: r.submitted_at)}
    authors = (*facts.boarded_authors, facts.pr_author)
    out = []
    for user, review in sorted(latest.items()):
        if review.state != "APPROVED" or user.lower() not in members:
            continue
        approver = Approver(user, review.commit_id, permission_of(user, facts.permissions))
        if not why_not_counted(approver, facts.head_sha, authors, settings.bot_login):
            out.append(user)
    return out


class MigrationsGate:
    name = NAME

    def evaluate(
        self, facts: MigrationFacts, settings: MigrationSettings, now: datetime
    ) -> GateResult:
        found = migration_paths(facts.changed_paths, settings.paths)
        details: dict[str, object] = {"migrations": list(found[:200])}
        if not found:
            return GateResult(NAME, "success", "No migrations in this train",
                              "The train changes no migration paths.", details=details)  # fmt: skip
        parts = [_approval_part(facts.policy, settings), _window_part(settings, now)]
        conclusion = worst([p[1] for p in parts])
        recheck = parts[1][3]
        table = markdown_table(["check", "result", "detail"], [[p[0], p[1], p[2]] for p in parts])
        listing = "\n".join(f"- `{p}`" for p in found[:50])
        title = {"success": f"{len(found)} migration(s): approved, window open"}.get(
            conclusion, "; ".join(f"{p[0]}: {p[2]}" for p in parts if p[1] != "success")
        )
        summary = f"{table}\n\nMigrations in this train:\n{listing}"
        return GateResult(NAME, conclusion, title, summary, recheck_after=recheck, details=details)


def _approval_part(
    facts: PolicyFacts, settings: MigrationSettings
) -> tuple[str, Conclusion, str, timedelta | None]:
    if not settings.approvers:
        return ("approval", "success", "no migration approvers configured", None)
    counted = counted_approvers(facts, settings)
    have = f"{len(counted)} of {settings.required} from {settings.approvers}"
    if len(counted) < settings.required:
        return ("approval", "action_required", f"{have}; waiting for migration approvers", None)
    return ("approval", "success", have + ": " + ", ".join(f"@{u}" for u in counted), None)


def _window_part(
    settings: MigrationSettings, now: datetime
) -> tuple[str, Conclusion, str, timedelta | None]:
    if not settings.windows:
        return ("migration window", "success", "no windows configured", None)
    inside, opens = window_state(settings.windows, now)
    if inside:
        return ("migration window", "success", "open", None)
    if opens is None:
        return ("migration window", "in_progress", "closed; no upcoming window", None)
    return ("migration window", "in_progress", f"closed; opens {opens.isoformat()}", opens - now)


GATE = MigrationsGate()
