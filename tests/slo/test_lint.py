from __future__ import annotations

from datetime import timedelta

import pytest

from bot.adapters.prometheus import PrometheusClient
from bot.config.model import SLO, Comparison
from bot.core.slo import render_query
from bot.core.slo.lint import promql_problems, slo_problems
from bot.errors import ExternalError

from .helpers import AT

try:  # see conftest.py
    from prometheus_server import PrometheusServer
except ImportError:  # pragma: no cover
    from tests.prometheus_server import PrometheusServer

GOOD = [
    'sum(rate(http_requests_total{service="{service}",code=~"5.."}[{window}]))'
    ' / sum(rate(http_requests_total{service="{service}"}[{window}]))',
    "histogram_quantile(0.99, sum by (le) (rate(lat_bucket{stage='{stage}'}[{window}])))",
    'max_over_time(rate(x[5m])[30m:1m]) * on(job) group_left(team) up{job="a",}',
    'sum without (instance) (increase(x{a!="b", c!~`d.*`}[1h30m])) # a comment (',
    'label_replace(up, "dst", "$1", "src", "(.*)")',
    "vector(1)",
]


@pytest.mark.parametrize("text", GOOD)
def test_valid_templates_have_no_problems(text: str) -> None:
    assert promql_problems(text) == []


@pytest.mark.parametrize(
    ("text", "message", "col"),
    [
        ("sum(rate(x[5m])", "unclosed '('", 4),
        ("rate(x[5m]))", "unexpected ')'", 12),
        ('x{a="b}', "unterminated string", 5),
        ("rate(x[5 m])", "bad range or subquery [5 m]", 7),
        ("rate(x[five])", "bad range or subquery [five]", 7),
        ("x{a=b}", "bad label matcher 'a=b'", 2),
        ('x{a="1",,b="2"}', "bad label matcher ''", 2),
        ('x{region="{region}"} + y{region}', "unknown placeholder {region}", 25),
        ("sume(rate(x[5m]))", "unknown function sume()", 1),
        ("   ", "empty query", 1),
    ],
)
def test_problems_say_what_and_where(text: str, message: str, col: int) -> None:
    problems = promql_problems(text)
    assert [(p.message, p.col) for p in problems][:1] == [(message, col)]


def test_placeholders_inside_label_values_are_fine() -> None:
    assert promql_problems('x{region="{region}"}') == []


def test_slo_problems_name_the_field() -> None:
    slo = SLO(
        name="a",
        error_ratio="sum(rate(x[5m])",
        compare=Comparison(canary="c[{window}]", baseline="rate(b[{window}]"),
    )
    found = [(field, p.message) for field, p in slo_problems(slo)]
    assert ("error_ratio", "unclosed '('") in found
    assert ("compare.baseline", "unclosed '('") in found
    assert any(f == "error_ratio" and "does not use {window}" in m for f, m in found)
    assert not any(f == "compare.canary" for f, _ in found)


BAD = [
    "sum(rate(x[5m])",
    "rate(x[5m]))",
    'x{a="b}',
    "rate(x[5 m])",
    "rate(x[five])",
    "x{a=b}",
    'x{a="1",,b="2"}',
    'x{region="{region}"} + y{region}',
    "sume(rate(x[5m]))",
]


def test_the_offline_check_agrees_with_a_real_prometheus(prometheus: PrometheusServer) -> None:
    """What the lint accepts, Prometheus accepts; what it rejects, Prometheus rejects (400)."""
    with PrometheusClient(prometheus.url, retries=0) as client:
        for text in GOOD:
            client.query(render_query(text, "canary", "checkout", "5m"), AT)
        for window in (
            timedelta(minutes=90),
            timedelta(days=2, seconds=1),
            timedelta(seconds=37.25),
        ):
            client.query(render_query("rate(x[{window}])", "", "", window), AT)
        for text in BAD:
            assert promql_problems(text), text
            with pytest.raises(ExternalError) as exc:
                client.query(render_query(text, "canary", "checkout", "5m"), AT)
            assert exc.value.status == 400, text
