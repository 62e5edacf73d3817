"""`slo check --lint` against a real Prometheus that evaluates a recording rule: every query
of a stage is asked once, as configured; what Prometheus refuses or answers with the wrong
type is an error (exit 1), no data and rules it does not evaluate are warnings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main

try:  # see conftest.py
    from prometheus_server import PrometheusServer, prometheus_bin
except ImportError:  # pragma: no cover
    from tests.prometheus_server import PrometheusServer, prometheus_bin

from .prometheus_ports import closed_port
from .synthetic import AT, NOW, START, const, requests

RULES = """\
groups:
  - name: slo
    interval: 1m
    rules:
      - record: slo:errors:ratio_rate5m
        expr: >-
          sum by (service, stage) (rate(http_requests_total{code=~"5.."}[5m]))
          / sum by (service, stage) (rate(http_requests_total[5m]))
"""
SEL = 'service="{service}",stage="{stage}"'
CONFIG = f"""\
version: 1
trains:
  - name: weekly
services:
  - name: checkout
    image: ghcr.io/acme/checkout
stages:
  - name: canary
    soak: 1h
    slos: [availability]
  - name: broken
    soak: 1h
    slos: [typo, matrix]
slos:
  - name: availability
    error_ratio: >-
      sum(rate(http_requests_total{{{SEL},code=~"5.."}}[{{window}}]))
      / sum(rate(http_requests_total{{{SEL}}}[{{window}}]))
    requests: sum(increase(http_requests_total{{{SEL}}}[{{window}}]))
    rules:
      5m: slo:errors:ratio_rate5m{{{SEL}}}
      1h: slo:errors:ratio_rate1h{{{SEL}}}
  - name: typo
    error_ratio: sum(rate(http_requests_total{{{SEL}}}[{{window}}])) / sum(rate(x{{{SEL}}}))
  - name: matrix
    error_ratio: http_requests_total{{{SEL}}}[{{window}}]
prometheus:
  url: URL
"""


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if prometheus_bin() is None:
        pytest.fail("no prometheus binary: run `bash .ci/install-system-deps.sh`")
    with PrometheusServer.start(tmp_path_factory.mktemp("prom"), rules=RULES) as server:
        labels = {"service": "checkout", "stage": "canary"}
        server.push(requests(labels, START, NOW, rps=const(10), error_fraction=const(0.001)))
        path = tmp_path_factory.mktemp("cfg") / "release-train.yml"
        path.write_text(CONFIG.replace("URL", server.url))
        yield path


def lint(config: Path, stage: str, *extra: str) -> list[str]:
    return [
        "slo", "check", "--lint", "--config", str(config), "--stage", stage,
        "--at", AT.isoformat(), *extra,
    ]  # fmt: skip


def test_a_sound_stage_has_warnings_only(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The 5m rule is evaluated (its data only starts now: no data at --at is a warning),
    the 1h one is not; the raw windows and the request count answer."""
    assert main(lint(config, "canary", "--json")) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["queries"] == 5  # 5m (rule), 30m, 1h (rule), 6h, requests
    found = {(p["what"], p["severity"], p["message"]) for p in doc["problems"]}
    why = "slo:errors:ratio_rate1h is not a recording rule this Prometheus evaluates"
    assert ("rules.1h", "warning", why) in found
    assert all(p["severity"] == "warning" for p in doc["problems"]), found
    assert not any(w == "rules.5m" for w, _, _ in found)


def test_type_errors_are_caught_before_a_train_depends_on_them(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(lint(config, "broken")) == 1
    out = capsys.readouterr().out
    rows = [line.split(None, 5) for line in out.splitlines()[2:10]]
    assert [r[:5] for r in rows] == [
        [slo, "checkout", "error_ratio", "over", w]
        for slo in ("typo", "matrix")
        for w in ("5m", "30m", "1h", "6h")
    ]
    typed = 'expected type range vector in call to function "rate", got instant vector'
    assert all(typed in r[5] and "Prometheus refuses it" in r[5] for r in rows[:4])
    assert all("cannot use its answer" in r[5] and "(matrix)" in r[5] for r in rows[4:])
    assert out.rstrip().endswith("stage broken: 8 queries asked, 8 errors, 0 warnings")


def test_prometheus_down_is_exit_4(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    assert main(lint(config, "canary", "--prometheus", url)) == 4
    assert "unreachable" in capsys.readouterr().err
