from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "multi-region.yml"


def test_calendar_json_marks_freeze(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["calendar", "--config", str(EXAMPLE), "--from", "2026-12-17T00:00:00Z", "--json"])
    assert rc == 0
    data = json.loads(capsys.readouterr().out)
    assert data["from"] == "2026-12-17T00:00:00Z"
    for train in data["trains"]:
        assert len(train["departures"]) == 5
        statuses = {d["cancelled_by"] for d in train["departures"]}
        assert statuses <= {None, "year-end"}
        real = [d["at"] for d in train["departures"] if d["cancelled_by"] is None]
        if real:
            assert train["next_departure"] == real[0]
    assert data["next_cutover"]["start"] < data["next_cutover"]["end"]


def test_calendar_text_table(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["calendar", "--config", str(EXAMPLE), "--from", "2026-12-20", "--count", "2"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "cancelled: freeze year-end" in out
    assert "next real departure:" in out


def test_calendar_bad_count_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calendar", "--config", str(EXAMPLE), "--count", "0"]) == 2
    assert "--count" in capsys.readouterr().err


def test_calendar_bad_from_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calendar", "--config", str(EXAMPLE), "--from", "next tuesday"]) == 2
    assert "not an ISO 8601" in capsys.readouterr().err


def test_calendar_missing_config_is_clear(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.yml"
    assert main(["calendar", "--config", str(missing)]) == 1
    err = capsys.readouterr().err
    assert "nope.yml" in err and "Traceback" not in err
