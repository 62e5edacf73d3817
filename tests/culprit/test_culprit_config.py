"""The `culprit:` block: defaults from policies/default.yml, values as written, bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.config.load import load_config_text
from bot.errors import ConfigError

BASE = """\
version: 1
trains:
  - name: main
"""


def test_defaults_come_from_the_shipped_policy() -> None:
    culprit = load_config_text(BASE, "release-train.yml").culprit
    assert (culprit.bisect, culprit.max_rounds, culprit.parallel) == (True, 10, 1)
    assert (culprit.rerun_flaky, culprit.ci, culprit.timeout) == (1, (), timedelta(hours=1))


def test_values_as_written() -> None:
    text = BASE + (
        "culprit:\n  bisect: off\n  max_rounds: 4\n  parallel: 3\n  rerun_flaky: 0\n"
        "  ci: [tests, lint]\n  timeout: 20m\n"
    )
    culprit = load_config_text(text, "release-train.yml").culprit
    assert (culprit.bisect, culprit.max_rounds, culprit.parallel) == (False, 4, 3)
    assert (culprit.rerun_flaky, culprit.ci, culprit.timeout) == (
        0,
        ("tests", "lint"),
        timedelta(minutes=20),
    )


@pytest.mark.parametrize(
    ("block", "where"),
    [
        ("  bisect: maybe\n", "release-train.yml:5:"),
        ("  parallel: 0\n", "release-train.yml:5:"),
        ("  timeout: soon\n", "release-train.yml:5:"),
        ("  bisekt: on\n", "release-train.yml:5:"),
    ],
)
def test_bad_values_are_positioned_errors(block: str, where: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config_text(BASE + "culprit:\n" + block, "release-train.yml")
    assert where in str(caught.value)
