from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core.slo import format_duration, render_query
from bot.core.slo.promql import placeholders


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(minutes=5), "5m"),
        (timedelta(hours=1), "1h"),
        (timedelta(hours=6), "6h"),
        (timedelta(minutes=90), "1h30m"),
        (timedelta(days=2, seconds=1), "2d1s"),
        (timedelta(seconds=37.25), "37s250ms"),
    ],
)
def test_format_duration(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


def test_format_duration_rejects_zero() -> None:
    with pytest.raises(ValueError):
        format_duration(timedelta(0))


def test_render_fills_placeholders_and_leaves_label_matchers() -> None:
    template = (
        'sum(rate(http_requests_total{stage="{stage}",service="{service}",code=~"5.."}[{window}]))'
        ' / sum(rate(http_requests_total{stage="{stage}",service="{service}"}[{window}]))'
    )
    out = render_query(template, "canary", "checkout", timedelta(minutes=5))
    assert out == (
        'sum(rate(http_requests_total{stage="canary",service="checkout",code=~"5.."}[5m]))'
        ' / sum(rate(http_requests_total{stage="canary",service="checkout"}[5m]))'
    )


def test_render_keeps_other_braces_and_unknown_placeholders() -> None:
    template = 'x{job="a",region="{region}"}[{window}] + on() group_left {__name__="y"}'
    out = render_query(template, "s", "v", "1h")
    assert out == 'x{job="a",region="{region}"}[1h] + on() group_left {__name__="y"}'


def test_render_escapes_values_for_promql_strings() -> None:
    assert render_query('a{s="{service}"}', "", 'we"ird\\', "5m") == 'a{s="we\\"ird\\\\"}'


def test_placeholders() -> None:
    assert placeholders('a{x="{service}"}[{window}]') == {"service", "window"}
    assert placeholders('a{x="y"}') == set()
