"""`validate` refuses a warm-up (`initial_delay`) as long as the soak of a stage (or wave)
using the SLO: that stage would complete on the warm-up alone, never judged. The new SLO
settings load with their defaults and reject bad values with a position."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.config.build import build_slo

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
    soak: {soak}
    slos: [availability]
slos:
  - name: availability
    error_ratio: sum(rate(e[{{window}}])) / sum(rate(t[{{window}}]))
    requests: sum(increase(t[{{window}}]))
    initial_delay: {delay}
    failure_limit: {limit}
"""


@pytest.fixture(autouse=True)
def _not_in_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)


def _validate(tmp_path: Path, **values: object) -> tuple[int, str]:
    path = tmp_path / "cfg.yml"
    path.write_text(CONFIG.format(**{"soak": "30m", "delay": "5m", "limit": 3, **values}))
    code = main(["validate", str(path)])
    return code, str(path)


def test_a_warm_up_shorter_than_the_soak_is_valid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = _validate(tmp_path)
    assert code == 0, capsys.readouterr()
    assert capsys.readouterr().out == ""


def test_a_warm_up_as_long_as_the_soak_is_refused_where_it_is_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, path = _validate(tmp_path, delay="30m")
    assert code == 1
    out = capsys.readouterr().out.strip()
    assert out == (
        f"{path}:16:20: SLO 'availability': initial_delay 30m is not shorter than the "
        "30m soak of stage 'canary': the stage would complete without the SLO ever being judged"
    )


def test_a_failure_limit_below_one_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, path = _validate(tmp_path, limit=0)
    assert code == 1
    assert capsys.readouterr().out == (
        f"{path}:17:20: slos[0].failure_limit: 0 is less than the minimum of 1\n"
    )


def test_defaults_keep_todays_behaviour() -> None:
    slo = build_slo({"name": "a", "error_ratio": "x"})
    assert (slo.initial_delay, slo.failure_limit, slo.interval) == (
        timedelta(0),
        1,
        timedelta(minutes=1),
    )
    built = build_slo({"name": "a", "initial_delay": "2m", "interval": "5m"})
    assert (built.initial_delay, built.interval) == (timedelta(minutes=2), timedelta(minutes=5))
