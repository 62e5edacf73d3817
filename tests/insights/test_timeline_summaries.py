"""The audit timeline names what the artifact and culprit ledger events say (they were
listed with a bare or generic summary before)."""

from __future__ import annotations

from dataclasses import replace

from bot.core import bisect
from bot.core.ledger import TrainRecord
from bot.insights.timeline import summarize


def test_an_artifacts_event_lists_each_service_and_its_state() -> None:
    trailers = (
        ("Train-Id", "daily-1"),
        ("Artifact", "web found sha256:" + "ab" * 32 + " c0ffee"),
        ("Artifact", "api waiting"),
    )
    text = summarize("artifacts", trailers, None)
    assert text == f"artifacts: web found sha256:{'ab' * 32} c0ffee; api waiting"


def test_a_culprit_event_names_the_phase_rounds_and_culprits() -> None:
    state = replace(bisect.Bisection(prs=(1, 2, 3, 4)), phase=bisect.FOUND, rounds=3,
                    culprits=((4,), (2, 3)), detail="test failed on try-3")  # fmt: skip
    record = TrainRecord("daily-1", "daily", extra=bisect.store({}, state))
    text = summarize("culprit", (), record)
    assert text == (
        "culprit isolation: found after 3 round(s); culprit #4, #2 with #3 (test failed on try-3)"
    )
    assert summarize("culprit", (), TrainRecord("daily-1", "daily")) == "culprit isolation"
