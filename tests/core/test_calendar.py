from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config.model import Cutover, CutoverWindow, Freeze, Train
from bot.core.calendar import (
    active_freeze,
    cutover_open,
    cutover_windows,
    departures,
    next_cutover,
    next_departure,
)

TUE_THU = Train(name="web", cadence="0 14 * * 2,4")  # 14:00 UTC Tuesdays and Thursdays
WORKDAYS = Cutover(
    timezone="Europe/Berlin",
    windows=(CutoverWindow(days=(0, 1, 2, 3), start=time(9), end=time(16)),),
)
YEAR_END = Freeze(
    name="year-end", start=date(2026, 12, 21), end=date(2027, 1, 3), reason="holidays"
)
XMAS = Freeze(name="xmas", start=date(2000, 12, 24), end=date(2000, 12, 26), yearly=True)
NEW_YEAR = Freeze(name="ny", start=date(2000, 12, 30), end=date(2000, 1, 2), yearly=True)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_next_departure_follows_cron_in_utc() -> None:
    # 2026-11-26 is a Thursday.
    dep = next_departure(TUE_THU, [], utc(2026, 11, 26, 10))
    assert dep is not None and dep.at == utc(2026, 11, 26, 14) and dep.cancelled == ()
    dep = next_departure(TUE_THU, [], utc(2026, 11, 26, 14))  # strictly after
    assert dep is not None and dep.at == utc(2026, 12, 1, 14)


def test_freeze_cancels_departures_and_names_them() -> None:
    dep = next_departure(TUE_THU, [YEAR_END], utc(2026, 12, 18))
    assert dep is not None
    assert dep.at == utc(2027, 1, 5, 14)
    cancelled_days = [at.date() for at, _ in dep.cancelled]
    assert cancelled_days == [date(2026, 12, d) for d in (22, 24, 29, 31)]
    assert all(f is YEAR_END for _, f in dep.cancelled)


def test_yearly_freeze_repeats_and_wraps_new_year() -> None:
    assert active_freeze([XMAS], utc(2031, 12, 25, 12)) is XMAS
    assert active_freeze([XMAS], utc(2031, 12, 27, 12)) is None
    assert active_freeze([NEW_YEAR], utc(2031, 12, 31, 12)) is NEW_YEAR
    assert active_freeze([NEW_YEAR], utc(2032, 1, 2, 23)) is NEW_YEAR
    assert active_freeze([NEW_YEAR], utc(2032, 1, 3, 0)) is None


def test_freeze_dates_are_read_in_the_given_zone() -> None:
    # 23:30 UTC on Dec 20 is already Dec 21 in Berlin.
    at = utc(2026, 12, 20, 23, 30)
    assert active_freeze([YEAR_END], at) is None
    assert active_freeze([YEAR_END], at, "Europe/Berlin") is YEAR_END


def test_departures_lists_cancelled_slots() -> None:
    slots = departures(TUE_THU, [YEAR_END], utc(2026, 12, 16), count=4)
    assert [s.start.day for s in slots] == [17, 22, 24, 29]
    assert [s.freeze for s in slots] == [None, YEAR_END, YEAR_END, YEAR_END]


def test_cutover_open_respects_zone_days_and_freeze() -> None:
    # Thursday 2026-11-26, 08:30 UTC = 09:30 Berlin: open.
    assert cutover_open(WORKDAYS, [], utc(2026, 11, 26, 8, 30))
    # 07:30 UTC = 08:30 Berlin: closed.
    assert not cutover_open(WORKDAYS, [], utc(2026, 11, 26, 7, 30))
    # 15:00 UTC = 16:00 Berlin: end is exclusive.
    assert not cutover_open(WORKDAYS, [], utc(2026, 11, 26, 15))
    # Friday: closed.
    assert not cutover_open(WORKDAYS, [], utc(2026, 11, 27, 10))
    # inside a window but frozen
    assert not cutover_open(WORKDAYS, [YEAR_END], utc(2026, 12, 21, 10))


def test_no_windows_means_any_time_but_freezes() -> None:
    anytime = Cutover()
    assert cutover_open(anytime, [], utc(2026, 11, 28, 3))
    assert not cutover_open(anytime, [YEAR_END], utc(2026, 12, 25, 3))
    window = next_cutover(anytime, [YEAR_END], utc(2026, 12, 25, 3))
    assert window is not None and window[0] == utc(2027, 1, 4)


def test_window_across_midnight() -> None:
    night = Cutover(windows=(CutoverWindow(days=(4,), start=time(22), end=time(2)),))
    assert cutover_open(night, [], utc(2026, 11, 27, 23))  # Friday 23:00
    assert cutover_open(night, [], utc(2026, 11, 28, 1, 59))  # Saturday 01:59
    assert not cutover_open(night, [], utc(2026, 11, 28, 2))
    assert not cutover_open(night, [], utc(2026, 11, 26, 23))  # Thursday


def test_next_cutover_current_and_future() -> None:
    now = utc(2026, 11, 26, 10)  # Thursday 11:00 Berlin, inside
    assert next_cutover(WORKDAYS, [], now) == (now, utc(2026, 11, 26, 15))
    # Thursday evening → next is Monday 09:00 Berlin = 08:00 UTC
    assert next_cutover(WORKDAYS, [], utc(2026, 11, 26, 18)) == (
        utc(2026, 11, 30, 8),
        utc(2026, 11, 30, 15),
    )


def test_next_cutover_skips_freeze() -> None:
    window = next_cutover(WORKDAYS, [YEAR_END], utc(2026, 12, 18, 12))
    assert window == (utc(2027, 1, 4, 8), utc(2027, 1, 4, 15))


def test_freeze_clips_a_window_that_runs_into_it() -> None:
    night = Cutover(windows=(CutoverWindow(days=(6,), start=time(22), end=time(2)),))
    # Sunday 2026-12-20 22:00 UTC → Monday 02:00; the freeze starts Monday 21st 00:00 UTC.
    slots = cutover_windows(night, [YEAR_END], utc(2026, 12, 20), count=1)
    assert slots[0].start == utc(2026, 12, 20, 22) and slots[0].end == utc(2026, 12, 21)


def test_windows_listing_marks_frozen_windows() -> None:
    slots = cutover_windows(WORKDAYS, [YEAR_END], utc(2026, 12, 17, 18), count=3)
    assert slots[0].freeze is YEAR_END and slots[0].start.date() == date(2026, 12, 21)
    assert all(s.freeze is YEAR_END for s in slots)


def test_dst_shift_keeps_local_time() -> None:
    # Berlin switches to summer time on 2027-03-28; 09:00 local is 08:00 UTC before, 07:00 after.
    before = next_cutover(WORKDAYS, [], utc(2027, 3, 25, 16))  # Thursday evening
    assert before is not None and before[0] == utc(2027, 3, 29, 7)


def test_a_freeze_forever_means_no_departure() -> None:
    forever = Freeze(name="all", start=date(2000, 1, 1), end=date(2000, 12, 31), yearly=True)
    assert next_departure(TUE_THU, [forever], utc(2026, 1, 1)) is None


@settings(max_examples=60, deadline=None)
@given(
    st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 1, 1)),
    st.integers(min_value=0, max_value=6),
    st.integers(min_value=0, max_value=23),
    st.integers(min_value=1, max_value=12),
)
def test_next_cutover_agrees_with_cutover_open(
    naive: datetime, day: int, hour: int, length: int
) -> None:
    after = naive.replace(tzinfo=UTC)
    end = time((hour + length) % 24)
    cutover = Cutover(
        timezone="America/New_York",
        windows=(CutoverWindow(days=(day,), start=time(hour), end=end),),
    )
    window = next_cutover(cutover, [XMAS], after)
    assert window is not None
    start, stop = window
    assert start >= after and stop > start
    assert cutover_open(cutover, [XMAS], start)
    assert cutover_open(cutover, [XMAS], stop - timedelta(seconds=1))
    if start > after:
        assert not cutover_open(cutover, [XMAS], start - timedelta(seconds=1))
