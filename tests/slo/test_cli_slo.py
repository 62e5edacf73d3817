"""`release-train slo check` end to end: a config file, a real Prometheus, exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import main

from .prometheus_ports import closed_port
from .synthetic import AT, NOW, START, between, const, requests

AT_ISO = AT.isoformat()

CONFIG = """\
version: 1
trains:
  - name: weekly
services:
  - name: checkout
    image: ghcr.io/acme/checkout
  - name: search
    image: ghcr.io/acme/search
stages:
  - name: canary
    soak: 30m
    slos: [availability]
  - name: quiet
    slos: []
slos:
  - name: availability
    objective: 99.9
    error_ratio: >-
      sum(rate(http_requests_total{service="{service}",stage="{stage}",code=~"5.."}[{window}]))
      / sum(rate(http_requests_total{service="{service}",stage="{stage}"}[{window}]))
prometheus:
  url: URL
"""


@pytest.fixture(scope="module")
def config(prometheus, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:  # type: ignore[no-untyped-def]
    prometheus.push(
        [
            *requests(
                {"service": "checkout", "stage": "canary"},
                START,
                NOW,
                rps=const(10),
                error_fraction=const(0.0005),
            ),
            *requests(
                {"service": "search", "stage": "canary"},
                START,
                NOW,
                rps=const(10),
                error_fraction=between(NOW - 20 * 60, NOW + 1, 0.08, 0.0005),
            ),
        ]
    )
    path = tmp_path_factory.mktemp("cfg") / "release-train.yml"
    path.write_text(CONFIG.replace("URL", prometheus.url))
    yield path


def slo_check(config: Path, *extra: str) -> list[str]:
    return ["slo", "check", "--config", str(config), "--stage", "canary", "--at", AT_ISO, *extra]


def test_a_healthy_service_passes(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(slo_check(config, "--service", "checkout")) == 0
    out = capsys.readouterr().out
    assert "availability  checkout  pass" in out
    assert "error_ratio[5m]=" in out


def test_any_breach_fails_with_its_evidence(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(slo_check(config)) == 1
    out = capsys.readouterr().out
    assert "availability  search    fail" in out
    assert "evidence: availability 0.0" in out
    assert out.rstrip().endswith("verdict: fail")


def test_json_output(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(slo_check(config, "--json"))
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and doc["verdict"] == "fail"
    assert [(r["service"], r["verdict"]) for r in doc["results"]] == [
        ("checkout", "pass"),
        ("search", "fail"),
    ]
    assert doc["results"][1]["evidence"].endswith("(1h/5m)")


def test_since_clips_the_windows(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bumped = (AT - timedelta(minutes=40)).isoformat()
    assert main(slo_check(config, "--json", "--since", bumped, "--service", "search")) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["results"][0]["evidence"].endswith("(40m/5m)")
    assert "error_ratio[40m]" in doc["results"][0]["numbers"]


def test_no_data_is_inconclusive(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(slo_check(config, "--service", "ghost")) == 3
    assert "inconclusive" in capsys.readouterr().out


def test_prometheus_down_is_exit_4(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    assert main(slo_check(config, "--service", "checkout", "--prometheus", url)) == 4
    assert "unreachable" in capsys.readouterr().out


def test_a_stage_without_slos_passes(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["slo", "check", "--config", str(config), "--stage", "quiet", "--at", AT_ISO]
    assert main(argv) == 0
    assert "no SLOs to judge" in capsys.readouterr().out


def test_unknown_stage_is_a_usage_error(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["slo", "check", "--config", str(config), "--stage", "prod"]
    assert main(argv) == 2
    assert "stages: canary, quiet" in capsys.readouterr().err


def test_since_after_at_is_a_usage_error(config: Path) -> None:
    assert main(slo_check(config, "--since", "2999-01-01T00:00:00Z")) == 2
