from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

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


@given(st.text(alphabet=st.sampled_from(list('ab{}[]="=~,()stagewindowservice 5m')), max_size=60))
def test_text_without_our_placeholders_is_left_alone(template: str) -> None:
    rendered = render_query(template, "S", "V", "5m")
    if not placeholders(template):
        assert rendered == template
    else:
        assert not placeholders(rendered)


@given(st.timedeltas(min_value=timedelta(milliseconds=1), max_value=timedelta(days=400)))
def test_durations_round_trip(value: timedelta) -> None:
    text = format_duration(value)
    units = {"d": 86400_000, "h": 3600_000, "m": 60_000, "s": 1000, "ms": 1}
    total = sum(int(n) * units[u] for n, u in re.findall(r"(\d+)(ms|[dhms])", text))
    assert total == round(value.total_seconds() * 1000)
