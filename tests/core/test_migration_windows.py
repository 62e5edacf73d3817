"""Migration windows in the calendar: their openings, the departures whose train would pass
its departed deadline before one opens (`calendar` and `validate` say so), and the real
dates of a yearly freeze."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.config.model import Freeze, Train
from bot.core.calendar import (
    freeze_dates,
    migration_window_misses,
    window_openings,
)
from bot.core.gates.migrations import Window

MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SATURDAY_NIGHT = Window("0 2 * * 6", timedelta(hours=2), "Europe/Berlin")
DAILY = Train("daily", cadence="0 9 * * 1-5", deadlines=(("departed", timedelta(hours=24)),))

CONFIG = """\
version: 1
trains:
  - name: daily
    cadence: "0 9 * * 1-5"
    deadlines:
      departed: {departed}
services:
  - name: web
    image: ghcr.io/acme/web
gates:
  migrations:
    windows:
      - cron: "0 2 * * 6"
        duration: 2h
        timezone: Europe/Berlin
"""


def test_openings_in_utc_and_one_already_open_comes_first() -> None:
    opens = list(window_openings([SATURDAY_NIGHT], MONDAY, MONDAY + timedelta(days=14)))
    assert opens == [
        (datetime(2026, 3, 7, 1, 0, tzinfo=UTC), datetime(2026, 3, 7, 3, 0, tzinfo=UTC)),
        (datetime(2026, 3, 14, 1, 0, tzinfo=UTC), datetime(2026, 3, 14, 3, 0, tzinfo=UTC)),
    ]
    inside = datetime(2026, 3, 7, 2, 30, tzinfo=UTC)
    first = next(window_openings([SATURDAY_NIGHT], inside, inside + timedelta(days=1)))
    assert first[0] == datetime(2026, 3, 7, 1, 0, tzinfo=UTC)


def test_departures_whose_deadline_comes_before_a_window() -> None:
    misses = migration_window_misses(DAILY, (), [SATURDAY_NIGHT], MONDAY, 5)
    # Tue, Wed, Thu and next Mon miss; Friday's train (deadline Sat 09:00) meets Saturday's
    assert [m.departs.day for m in misses] == [3, 4, 5, 9]
    assert misses[0].deadline == datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
    assert misses[0].next_window == datetime(2026, 3, 7, 1, 0, tzinfo=UTC)
    week = Train("daily", cadence="0 9 * * 1-5", deadlines=(("departed", timedelta(days=7)),))
    assert migration_window_misses(week, (), [SATURDAY_NIGHT], MONDAY, 5) == []
    assert migration_window_misses(DAILY, (), [], MONDAY, 5) == []


def test_yearly_freeze_shows_its_real_dates() -> None:
    new_year = Freeze("ny", date(2000, 12, 30), date(2000, 1, 2), yearly=True)
    assert freeze_dates(new_year, date(2026, 3, 2)) == (date(2026, 12, 30), date(2027, 1, 2))
    assert freeze_dates(new_year, date(2026, 1, 1)) == (date(2025, 12, 30), date(2026, 1, 2))
    leap = Freeze("leap", date(2000, 2, 29), date(2000, 3, 1), yearly=True)
    assert freeze_dates(leap, date(2026, 1, 10)) == (date(2026, 2, 28), date(2026, 3, 1))
    once = Freeze("once", date(2026, 5, 1), date(2026, 5, 2))
    assert freeze_dates(once, date(2027, 1, 1)) == (date(2026, 5, 1), date(2026, 5, 2))


def _config(tmp_path: Path, departed: str) -> str:
    path = tmp_path / "release-train.yml"
    path.write_text(CONFIG.format(departed=departed))
    return str(path)


def test_calendar_lists_windows_and_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, "24h")
    args = ["calendar", "--config", config, "--from", "2026-03-02T10:00:00Z", "--count", "3"]
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["migration_windows"][0] == {
        "start": "2026-03-07T01:00:00Z",
        "end": "2026-03-07T03:00:00Z",
    }
    assert [m["departs"] for m in data["migration_window_misses"]] == [
        "2026-03-03T09:00:00Z",
        "2026-03-04T09:00:00Z",
        "2026-03-05T09:00:00Z",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Migration windows (gates.migrations.windows)" in out
    assert "warning: train daily departing 2026-03-03T09:00:00Z: no migration window" in out


def test_validate_warns_when_a_window_never_opens_before_the_deadline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    never = CONFIG.replace('"0 2 * * 6"', '"0 2 1 1 *"')  # once a year, on 1 January
    path = tmp_path / "never.yml"
    path.write_text(never.format(departed="24h"))
    assert main(["validate", str(path), "--now", "2026-03-02T10:00:00Z"]) == 0
    err = capsys.readouterr()
    text = err.out + err.err
    assert "no migration window ever opens before its departed deadline" in text
    assert f"{path}: warning: gates.migrations.windows" in text
    week = _config(tmp_path, "7d")
    assert main(["validate", week, "--now", "2026-03-02T10:00:00Z"]) == 0
    clean = capsys.readouterr()
    assert "migration window" not in clean.out + clean.err


def test_a_bad_window_is_an_error_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(CONFIG.replace('"0 2 * * 6"', '"nope"').format(departed="24h"))
    assert main(["validate", str(path), "--now", "2026-03-02T10:00:00Z"]) == 1
    first = capsys.readouterr()
    assert f"{path}: gates.migrations.windows[0].cron: 'nope' is not a cron expression" in (
        first.out + first.err
    )
    assert main(["calendar", "--config", str(path)]) == 1
    second = capsys.readouterr()
    assert f"{path}: gates.migrations.windows[0].cron" in second.err
    assert "Traceback" not in second.err
