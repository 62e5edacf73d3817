"""`rules`: recording rules stand in for an SLO's query at the windows they name, those
windows are never cut to a young soak, and `validate` says where a `rules` entry is wrong."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.config.build import build_slo
from bot.config.model import SLO
from bot.core.slo import plan_queries
from bot.core.slo.lint_live import check_rules, rule_names

from .helpers import AT

M = timedelta(minutes=1)
RULED = SLO(
    name="availability",
    error_ratio="e[{window}] / t[{window}]",
    rules=((60 * M, 'slo:ratio_rate1h{service="{service}"}'),),
)


def test_a_rule_window_is_asked_as_configured_and_the_others_are_cut() -> None:
    specs = plan_queries(RULED, "canary", "web", AT, AT - 10 * M)
    assert sorted((s.window, s.promql) for s in specs) == [
        (5 * M, "e[5m] / t[5m]"),
        (10 * M, "e[10m] / t[10m]"),  # 30m and 6h cut to the soak
        (60 * M, 'slo:ratio_rate1h{service="web"}'),  # never cut
    ]


def test_rules_load_from_the_config_and_name_their_rule() -> None:
    slo = build_slo(
        {"name": "a", "error_ratio": "x[{window}]", "rules": {"1h": "r:1h", "5m": "r:5m"}}
    )
    assert slo.rules == ((5 * M, "r:5m"), (60 * M, "r:1h"))
    assert rule_names(slo) == {"5m": "r:5m", "1h": "r:1h"}
    assert [p.what for p in check_rules(slo, {"r:5m"})] == ["rules.1h"]


CONFIG = """\
version: 1
trains:
  - name: daily
services:
  - name: web
    image: ghcr.io/acme/web
stages:
  - name: canary
    manifests: ["deploy/canary/*"]
    soak: 30m
    slos: [availability]
slos:
  - name: availability
{query}
    requests: sum(increase(t[{{window}}]))
    rules:
      {window}: {rule}
"""
RATIO = "    error_ratio: sum(rate(e[{window}])) / sum(rate(t[{window}]))"
GOOD_TOTAL = "    good: sum(rate(g[{window}]))\n    total: sum(rate(t[{window}]))"


@pytest.mark.parametrize(
    ("query", "window", "rule", "message"),
    [
        (RATIO, "1h", "slo:ratio_rate1h", ""),
        (RATIO, "2h", "slo:ratio_rate2h", "no burn-rate rule asks a 2h window (they ask 5m, 30m"),
        (RATIO, "1h", "sum(rate(x[5m])", "rules.1h: PromQL looks broken: unclosed '('"),
        (RATIO, "1 hour", "slo:x", "'1 hour' in slos[0].rules; keys are durations such as 5m"),
        (GOOD_TOTAL, "1h", "slo:ratio_rate1h", "rules stand in for error_ratio or latency only"),
    ],
)
def test_validate_says_where_a_rule_is_wrong(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    query: str,
    window: str,
    rule: str,
    message: str,
) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    path = tmp_path / "cfg.yml"
    path.write_text(
        CONFIG.format(query=query.replace("{", "{{").replace("}", "}}"), window=window, rule=rule)
    )
    code = main(["validate", str(path)])
    out = capsys.readouterr().out
    if not message:
        assert code == 0, out
        return
    assert code == 1 and message in out, out
    assert f"{path}:1" in out  # with the line of the problem
