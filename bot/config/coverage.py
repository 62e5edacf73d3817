"""The freeze-coverage warning: freezes that cancel every departure of a train for 90 days.

Pure: `now` is passed in. Freeze semantics are `Freeze.covers` (as for `bot.core.calendar`):
dates are read in the cutover time zone, inclusive, and yearly freezes may wrap the new year.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from bot.config.checks import Checker

FREEZE_LOOKAHEAD = timedelta(days=90)


def check_freeze_coverage(checker: Checker, now: datetime) -> None:
    """Warn when freezes cancel every departure of a train in the next 90 days."""
    from bot.config.build import build_freezes
    from bot.config.model import Train

    cutover = checker.data.get("cutover")
    zone = cutover.get("timezone", "UTC") if isinstance(cutover, dict) else "UTC"
    freezes = build_freezes(checker.data)
    if not freezes:
        return
    for path, train in checker.items("trains"):
        cadence = train.get("cadence", Train.cadence)
        used = covering_freezes(cadence, freezes, now, str(zone))
        if not used:
            continue
        name = train.get("name", "?")
        end = (now + FREEZE_LOOKAHEAD).date()
        if len(used) == 1:
            index = next(i for i, f in enumerate(freezes) if f.name == used[0])
            checker.error(
                ("freezes", index, "name"),
                f"freeze '{used[0]}' cancels every departure of train '{name}' "
                f"from {now.date()} to {end}",
                value=True,
                severity="warning",
            )
        else:
            checker.error(
                (*path, "cadence"),
                f"freezes {', '.join(used)} cancel every departure of train '{name}' "
                f"from {now.date()} to {end}",
                severity="warning",
            )


def covering_freezes(cadence: str, freezes: list[Any], now: datetime, tz: str) -> list[str]:
    """Names of the freezes that cancel every departure in the next 90 days ([] if any survives
    or there is no departure at all)."""
    from zoneinfo import ZoneInfo

    from croniter import croniter

    zone = ZoneInfo(tz)
    horizon = now + FREEZE_LOOKAHEAD
    used: list[str] = []
    after = now
    while True:
        at = croniter(cadence, after.astimezone(UTC)).get_next(datetime)
        if at > horizon:
            return used
        freeze = _in_force(freezes, at, zone)
        if freeze is None:
            return []
        if freeze.name not in used:
            used.append(freeze.name)
        day = at.astimezone(zone).date()
        while day <= horizon.date() and freeze.covers(day):
            day += timedelta(days=1)
        after = datetime.combine(day, datetime.min.time(), zone) - timedelta(seconds=1)


def _in_force(freezes: list[Any], at: datetime, zone: tzinfo) -> Any:
    """The freeze in force at `at` (its date read in `zone`), if any."""
    day = at.astimezone(zone).date()
    return next((f for f in freezes if f.covers(day)), None)
