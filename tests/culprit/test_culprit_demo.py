"""`release-train demo --story culprit --json`: the culprit is found, left out, and boards
the next train; the train without it completes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.cli import main


def test_the_culprit_story_completes_the_train_without_the_culprit(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo", "--story", "culprit", "--json"]) == 0
    summary: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert summary["ok"] is True, summary["failure"]
    first, second = summary["trains"]
    assert first["state"] == "completed"
    assert {"pr": 4, "reason": "culprit"} in first["missed"]
    assert 4 not in first["prs"]
    assert second["state"] == "boarding" and 4 in second["prs"]
    said = [e["text"] for e in summary["events"]]
    assert any(text.startswith("build candidate") for text in said)
    assert any("cut release/" in text and "without #4" in text for text in said)


def test_an_unknown_story_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["demo", "--story", "nope"])
    assert exited.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
