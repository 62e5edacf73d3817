"""The pure helpers behind the semantic checks, with plain values."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.config.checks import glob_problem, parse_freeze_day
from bot.config.coverage import covering_freezes
from bot.config.model import Freeze
from bot.config.slo_checks import promql_problem

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "query",
    [
        'sum(rate(x{job="a"}[5m]))',
        "histogram_quantile(0.99, sum by (le) (rate(b[5m])))",
        'x{label=~"a(b|c)\\\\)"}',
        "x{l=`raw ( string`}",
    ],
)
def test_promql_that_balances(query: str) -> None:
    assert promql_problem(query) is None


@pytest.mark.parametrize(
    ("query", "why"),
    [
        ("sum(rate(x[5m])", "unclosed '('"),
        ("sum(rate(x[5m)))", "unbalanced ')'"),
        ('x{job="a}', 'unclosed " quote'),
        ("x]", "unbalanced ']'"),
    ],
)
def test_promql_that_does_not(query: str, why: str) -> None:
    assert promql_problem(query) == why


@pytest.mark.parametrize("glob", ["deploy/**/*.yaml", "a/b..c/*.yml", "..hidden/x", "*"])
def test_globs_inside_the_repository(glob: str) -> None:
    assert glob_problem(glob) is None


@pytest.mark.parametrize(
    ("glob", "word"),
    [
        ("/etc/x", "absolute"),
        ("C:/x", "absolute"),
        ("a/../../b", ".."),
        ("..", ".."),
        ("a\\..\\b", ".."),
        ("https://x/y", "URL"),
    ],
)
def test_globs_that_leave(glob: str, word: str) -> None:
    assert word in (glob_problem(glob) or "")


def test_parse_freeze_day() -> None:
    assert parse_freeze_day("2026-12-20", yearly=False) == date(2026, 12, 20)
    assert parse_freeze_day("02-29", yearly=True) == date(2000, 2, 29)
    assert parse_freeze_day("2027-02-29", yearly=False) is None
    assert parse_freeze_day("13-01", yearly=True) is None


def test_whole_year_yearly_freeze_covers_everything_and_terminates() -> None:
    always = Freeze("always", date(2000, 1, 1), date(2000, 12, 31), yearly=True)
    assert covering_freezes("*/5 * * * *", [always], NOW, "UTC") == ["always"]


def test_no_departure_in_the_window_is_not_a_warning() -> None:
    frozen = Freeze("f", date(2026, 1, 1), date(2026, 12, 31))
    assert covering_freezes("0 0 29 2 *", [frozen], NOW, "UTC") == []


def test_freeze_dates_are_read_in_the_cutover_time_zone() -> None:
    # Departures on Tuesdays 23:30 UTC; the last one in the 90 days is Tuesday 2026-05-26,
    # already Wednesday 05-27 in Tokyo, one day after the freeze ends there.
    long = Freeze("long", date(2026, 3, 1), date(2026, 5, 26))
    assert covering_freezes("30 23 * * 2", [long], NOW, "Asia/Tokyo") == []
    assert covering_freezes("30 23 * * 2", [long], NOW, "UTC") == ["long"]


@pytest.mark.parametrize(
    ("template", "word"),
    [
        ("{commit}", "uses {commit}"),
        ("{", "malformed"),
        ("{}", "uses {}"),
        ("a}b", "malformed"),
        ("{sha[0]}", "uses {sha[0]}"),
    ],
)
def test_bad_templates(template: str, word: str) -> None:
    from bot.config.checks import TAG_FIELDS, template_problem

    assert word in (template_problem(template, TAG_FIELDS) or "")


@pytest.mark.parametrize("template", ["{short_sha}", "{train}-{short_sha}", "v1-{date}", "x"])
def test_good_templates(template: str) -> None:
    from bot.config.checks import TAG_FIELDS, template_problem

    assert template_problem(template, TAG_FIELDS) is None
