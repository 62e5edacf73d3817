"""When trains depart and when cutover windows are open: pure functions of config and `now`.

Cadences are cron expressions in UTC. Cutover windows are weekdays and local time ranges in
the cutover time zone. Freezes are inclusive date ranges in that same time zone (yearly ones
repeat by month and day, possibly across the new year). All instants in and out are
timezone-aware datetimes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

from croniter import croniter

from bot.config.model import Cutover, CutoverWindow, Freeze, Train

# How far ahead we look for a departure or a window before saying "none".
HORIZON = timedelta(days=400)


@dataclass(frozen=True)
class Departure:
    """The next real departure, and the scheduled ones that freezes cancelled before it."""

    at: datetime
    cancelled: tuple[tuple[datetime, Freeze], ...] = ()


@dataclass(frozen=True)
class Slot:
    """One scheduled departure or cutover window; `freeze` is set when a freeze cancels it."""

    start: datetime
    end: datetime | None = None
    freeze: Freeze | None = None


def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name or "UTC")


def active_freeze(freezes: Sequence[Freeze], now: datetime, tz: str = "UTC") -> Freeze | None:
    """The freeze in force at `now` (dates are read in the time zone `tz`), if any."""
    day = now.astimezone(_zone(tz)).date()
    return next((f for f in freezes if f.covers(day)), None)


def scheduled_departures(train: Train, after: datetime) -> Iterator[datetime]:
    """The train's cron instants strictly after `after`, in UTC, forever."""
    it = croniter(train.cadence, after.astimezone(UTC))
    while True:
        yield it.get_next(datetime).astimezone(UTC)


def departures(
    train: Train, freezes: Sequence[Freeze], after: datetime, count: int, tz: str = "UTC"
) -> list[Slot]:
    """The next `count` scheduled departures, each marked with the freeze that cancels it."""
    slots: list[Slot] = []
    for at in scheduled_departures(train, after):
        if at - after > HORIZON or len(slots) >= count:
            break
        slots.append(Slot(start=at, freeze=active_freeze(freezes, at, tz)))
    return slots


def next_departure(
    train: Train, freezes: Sequence[Freeze], after: datetime, tz: str = "UTC"
) -> Departure | None:
    """The first scheduled departure after `after` that no freeze cancels (None if none
    within the horizon), with the cancelled ones before it."""
    cancelled: list[tuple[datetime, Freeze]] = []
    for at in scheduled_departures(train, after):
        if at - after > HORIZON:
            return None
        freeze = active_freeze(freezes, at, tz)
        if freeze is None:
            return Departure(at=at, cancelled=tuple(cancelled))
        cancelled.append((at, freeze))
    return None  # pragma: no cover - the generator never ends


def _window_interval(window: CutoverWindow, day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, window.start, tzinfo=zone)
    end_day = day + timedelta(days=1) if window.end <= window.start else day
    end = datetime.combine(end_day, window.end, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def _intervals_from(cutover: Cutover, after: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Every window interval that ends after `after`, in start order."""
    zone = _zone(cutover.timezone)
    day = after.astimezone(zone).date() - timedelta(days=1)
    last = day + HORIZON
    while day <= last:
        found = [_window_interval(w, day, zone) for w in cutover.windows if day.weekday() in w.days]
        for start, end in sorted(found):
            if end > after:
                yield start, end
        day += timedelta(days=1)


def _freeze_end(freezes: Sequence[Freeze], at: datetime, tz: str) -> datetime:
    """The first local midnight after `at` on which no freeze is in force."""
    zone = _zone(tz)
    day = at.astimezone(zone).date() + timedelta(days=1)
    while any(f.covers(day) for f in freezes):
        day += timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _next_freeze_start(
    freezes: Sequence[Freeze], start: datetime, end: datetime, tz: str
) -> datetime | None:
    """The first local midnight in (start, end) at which a freeze begins."""
    zone = _zone(tz)
    day = start.astimezone(zone).date() + timedelta(days=1)
    while True:
        midnight = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
        if midnight >= end:
            return None
        if any(f.covers(day) for f in freezes):
            return midnight
        day += timedelta(days=1)


def _window_slots(cutover: Cutover, freezes: Sequence[Freeze], after: datetime) -> Iterator[Slot]:
    for start, end in _intervals_from(cutover, after):
        start = max(start, after)
        freeze = active_freeze(freezes, start, cutover.timezone)
        if freeze is not None:
            thaw = _freeze_end(freezes, start, cutover.timezone)
            if thaw >= end:
                yield Slot(start=start, end=end, freeze=freeze)
                continue
            start = thaw
        cut = _next_freeze_start(freezes, start, end, cutover.timezone)
        yield Slot(start=start, end=cut or end)


def cutover_windows(
    cutover: Cutover, freezes: Sequence[Freeze], after: datetime, count: int
) -> list[Slot]:
    """The next `count` cutover windows (clipped to start no earlier than `after`); a window
    that a freeze swallows whole is listed with that freeze, one it cuts short is clipped."""
    if not cutover.windows:
        return []
    return list(islice(_window_slots(cutover, freezes, after), count))


def cutover_open(cutover: Cutover, freezes: Sequence[Freeze], now: datetime) -> bool:
    """True when `now` is inside a cutover window and no freeze is in force.

    No windows configured means any time (freezes still apply).
    """
    if active_freeze(freezes, now, cutover.timezone) is not None:
        return False
    if not cutover.windows:
        return True
    for start, end in _intervals_from(cutover, now):
        if start > now:
            return False
        if start <= now < end:
            return True
    return False


def next_cutover(
    cutover: Cutover, freezes: Sequence[Freeze], after: datetime
) -> tuple[datetime, datetime] | None:
    """The open part of the next (or current) cutover window, or None within the horizon.

    With no windows configured, the answer starts at `after` (or when the freeze in force
    ends) and runs until the next freeze begins (or the horizon).
    """
    if not cutover.windows:
        start = after
        if active_freeze(freezes, after, cutover.timezone) is not None:
            start = _freeze_end(freezes, after, cutover.timezone)
        end = start + HORIZON
        return start, _next_freeze_start(freezes, start, end, cutover.timezone) or end
    for slot in _window_slots(cutover, freezes, after):
        if slot.freeze is None and slot.end is not None:
            return slot.start, slot.end
    return None
