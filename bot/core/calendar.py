"""When trains depart and when cutover windows are open: pure functions of config and `now`.

Cadences are cron expressions in UTC. Cutover windows are weekdays and local time ranges in
the cutover time zone. Freezes are inclusive date ranges in that same time zone (yearly ones
repeat by month and day, possibly across the new year). All instants in and out are
timezone-aware datetimes.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from typing import Protocol
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


def _on(day: date, year: int) -> date:
    """`day`'s month and day in `year` (29 February is the 28th in a common year)."""
    try:
        return day.replace(year=year)
    except ValueError:
        return day.replace(year=year, day=28)


def freeze_dates(freeze: Freeze, today: date) -> tuple[date, date]:
    """The real dates of a freeze: a one-off freeze's own; for a yearly one, the occurrence
    in force `today`, else the next one (a yearly freeze's year means nothing)."""
    if not freeze.yearly:
        return freeze.start, freeze.end
    wraps = (freeze.end.month, freeze.end.day) < (freeze.start.month, freeze.start.day)
    for year in (today.year - 1, today.year, today.year + 1):
        start, end = _on(freeze.start, year), _on(freeze.end, year + wraps)
        if end >= today:
            return start, end
    return _on(freeze.start, today.year + 1), _on(freeze.end, today.year + 1 + wraps)


class CronWindow(Protocol):
    """A window that opens at each cron instant, in a time zone, for a duration (the
    migrations gate's `Window`)."""

    @property
    def cron(self) -> str: ...
    @property
    def duration(self) -> timedelta: ...
    @property
    def timezone(self) -> str: ...


def _openings(
    window: CronWindow, after: datetime, until: datetime
) -> Iterator[tuple[datetime, datetime]]:
    it = croniter(window.cron, (after - window.duration).astimezone(_zone(window.timezone)))
    while True:
        start = it.get_next(datetime).astimezone(UTC)
        if start >= until:
            return
        if start + window.duration > after:
            yield start, start + window.duration


def window_openings(
    windows: Sequence[CronWindow], after: datetime, until: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """Every (start, end) of the windows that is open at some instant in [after, until),
    in start order, in UTC (one still open at `after` comes first); lazily."""
    return heapq.merge(*(_openings(w, after, until) for w in windows))


def first_window(
    windows: Sequence[CronWindow], after: datetime, until: datetime
) -> tuple[datetime, datetime] | None:
    """The first window open at some instant in [after, until), or None."""
    return next(window_openings(windows, after, until), None)


@dataclass(frozen=True)
class WindowMiss:
    """A departure whose train would pass its `departed` deadline before any migration
    window opens: a train carrying migrations is aborted instead of merging."""

    train: str
    departs: datetime
    deadline: datetime
    next_window: datetime | None  # the first opening after `departs` (None: not in HORIZON)


def migration_window_misses(
    train: Train,
    freezes: Sequence[Freeze],
    windows: Sequence[CronWindow],
    after: datetime,
    count: int,
    tz: str = "UTC",
) -> list[WindowMiss]:
    """Of the train's next `count` departures, those no migration window follows before
    the train's `departed` deadline (none without windows or without a deadline)."""
    limit = train.deadline("departed")
    if not windows or limit is None:
        return []
    misses = []
    for slot in departures(train, freezes, after, count, tz):
        if slot.freeze is not None:
            continue
        deadline = slot.start + limit
        if first_window(windows, slot.start, deadline) is None:
            later = first_window(windows, slot.start, slot.start + HORIZON)
            misses.append(WindowMiss(train.name, slot.start, deadline, later and later[0]))
    return misses
