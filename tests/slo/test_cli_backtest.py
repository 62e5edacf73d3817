"""`release-train slo backtest` end to end: a config file, a real Prometheus, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.core import promotion as pm
from bot.core.ledger import TrainRecord, encode

from .prometheus_ports import closed_port
from .synthetic import AT, NOW, START, between, const, requests

BUMP = AT - timedelta(minutes=60)
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
    soak: 1h
    slos: [availability]
  - name: broken
    soak: 1h
    slos: [typo]
slos:
  - name: availability
    objective: 99.9
    error_ratio: >-
      sum(rate(http_requests_total{service="{service}",stage="{stage}",code=~"5.."}[{window}]))
      / sum(rate(http_requests_total{service="{service}",stage="{stage}"}[{window}]))
  - name: typo
    error_ratio: >-
      sum(rate(http_requests_total{service="{service}"}[{window}]))
      / sum(rate(http_requests_total{service="{service}"}))
prometheus:
  url: URL
"""


@pytest.fixture(scope="module")
def config(prometheus, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:  # type: ignore[no-untyped-def]
    bump = NOW - 3600
    prometheus.push(
        [
            *requests({"service": "checkout", "stage": "canary"}, START, NOW, rps=const(10),
                      error_fraction=between(bump + 120, bump + 150, 1.0, 0.0005), step=5.0),
            *requests({"service": "search", "stage": "canary"}, START, NOW, rps=const(10),
                      error_fraction=between(bump, NOW + 1, 0.10, 0.0005), step=5.0),
        ]
    )  # fmt: skip
    path = tmp_path_factory.mktemp("cfg") / "release-train.yml"
    path.write_text(CONFIG.replace("URL", prometheus.url))
    yield path


def backtest(config: Path, *extra: str, stage: str = "canary") -> list[str]:
    return [
        "slo", "backtest", "--config", str(config), "--stage", stage,
        "--from", BUMP.isoformat(), "--to", AT.isoformat(), "--bump-at", BUMP.isoformat(),
        *extra,
    ]  # fmt: skip


def test_a_blip_would_not_have_reverted(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(backtest(config, "--service", "checkout")) == 0
    out = capsys.readouterr().out
    assert "61 checks: 60 pass, 0 fail, 1 inconclusive, 0 error" in out
    assert out.rstrip().endswith("would not have reverted")


def test_a_sustained_breach_would_have_reverted(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(backtest(config)) == 1
    out = capsys.readouterr().out
    assert "would have reverted at " in out and "after the bump): availability/search: " in out
    assert "burn rate above 14.4x" in out


def test_json_timeline(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(backtest(config, "--json", "--service", "search")) == 1
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["points"]) == 61 and doc["stop_action"] == "revert"
    first_fail = next(p["at"] for p in doc["points"] if p["verdict"] == "fail")
    assert doc["reverted_at"] == first_fail  # failure_limit 1: the first fail reverts
    assert 0 < doc["requests"] <= 8  # 4 windows: one range query each, plus the cut ones


def test_no_data_is_inconclusive_never_pass(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(backtest(config, "--json", "--service", "ghost")) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["counts"] == {"pass": 0, "fail": 0, "inconclusive": 61, "error": 0}


def test_a_rejected_query_is_an_error_at_every_tick(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(backtest(config, "--service", "search", stage="broken")) == 4
    out = capsys.readouterr().out
    assert "1 inconclusive, 60 error" in out and "query rejected" in out  # 1: the bump itself


def test_prometheus_down_is_exit_4(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    assert main(backtest(config, "--prometheus", url)) == 4
    assert "unreachable" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--to", (BUMP - timedelta(seconds=1)).isoformat()], "--to is before --from"),
        (["--bump-at", AT.isoformat()], "--bump-at is after --from"),
        (["--step", "soon"], "--step: 'soon' is not a duration"),
        (
            ["--step", "1s", "--from", "2026-01-01T00:00:00Z", "--bump-at", "2026-01-01"],
            "more than 50000 ticks",
        ),
    ],
)
def test_bad_arguments_are_usage_errors(
    config: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    argv = backtest(config)
    for flag, value in zip(extra[::2], extra[1::2], strict=True):
        if flag in argv:
            argv[argv.index(flag) + 1] = value
        else:
            argv += [flag, value]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def _git(repo: Path, *args: str) -> None:
    bot = "release-train[bot]"
    env = {
        "GIT_AUTHOR_NAME": bot, "GIT_AUTHOR_EMAIL": f"{bot}@users.noreply.github.com",
        "GIT_COMMITTER_NAME": bot, "GIT_COMMITTER_EMAIL": f"{bot}@users.noreply.github.com",
        "HOME": str(repo), "PATH": os.environ.get("PATH", ""),
    }  # fmt: skip
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


def _train(train_id: str, service: str, status: str) -> TrainRecord:
    step = pm.StepState("canary", status=status, started=BUMP, finished=AT)
    record = TrainRecord(train_id, "weekly", state="promoting", created_at=BUMP)
    return pm.store(record, pm.Promotion(tags={service: "v2"}, steps=(step,)))


def _ledger(tmp_path: Path) -> Path:
    """A clone whose ledger holds two trains whose canary passed: one shipped `search`
    (10 % errors from its bump), one `checkout` (a 30 s blip)."""
    repo = tmp_path / "shop"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("shop\n")
    _git(repo, "add", "README.md")
    _git(repo, "commit", "-q", "-m", "init")
    _git(repo, "checkout", "-q", "--orphan", "release-train/ledger")
    _git(repo, "rm", "-q", "-rf", ".")
    (repo / "trains").mkdir()
    for record in (
        _train("weekly-1", "search", "passed"),
        _train("weekly-2", "checkout", "passed"),
        _train("weekly-3", "search", "reverted"),
    ):
        (repo / record.path).write_text(encode(record))
        _git(repo, "add", record.path)
        _git(repo, "commit", "-q", "-m", f"promoted: {record.id}\n\nTrain-Id: {record.id}")
    _git(repo, "checkout", "-q", "main")
    return repo


def test_the_ledger_replay_names_the_train_this_config_would_have_reverted(
    config: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    repo = _ledger(tmp_path)
    argv = ["slo", "backtest", "--config", str(config), "--ledger", str(repo)]
    assert main([*argv, "--now", AT.isoformat()]) == 1
    out = capsys.readouterr().out
    assert "this config would have reverted train weekly-1 at canary " in out
    assert " in; the one in force did not" in out
    assert "this config would not have reverted train weekly-2 at canary either" in out
    did_too = next(line for line in out.splitlines() if "train weekly-3" in line)
    assert did_too.startswith("this config would have reverted train weekly-3 at canary ")
    assert did_too.endswith("m in; the one in force did too")
    assert main([*argv, "--json", "--now", AT.isoformat()]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert [(r["train"], r["in_fact"], r["stop_action"]) for r in doc["replays"]] == [
        ("weekly-1", "passed", "revert"),
        ("weekly-2", "passed", None),
        ("weekly-3", "reverted", "revert"),
    ]


def test_without_ledger_stage_and_period_are_required(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["slo", "backtest", "--config", str(config), "--stage", "canary"]) == 2
    assert "--from, --to required (or --ledger REPO)" in capsys.readouterr().err


def test_help_says_what_it_does(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["slo", "backtest", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "Replay the judge over a past period" in out and "--ledger REPO" in out


def test_svg_timeline(config: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    svg = tmp_path / "timeline.svg"
    assert main(backtest(config, "--service", "search", "--svg", str(svg))) == 1
    text = svg.read_text()
    assert text.startswith("<svg ") and "availability/search" in text and ">revert " in text
    capsys.readouterr()
