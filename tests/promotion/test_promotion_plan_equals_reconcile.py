"""`plan` = what reconcile does, over the promotion stories against a real Prometheus: at
each step the promotion moves `plan` lists (judged from the same SLO reads) are, as data,
the moves reconcile then carries out: a healthy train promoted to the end, and a canary
breach reverted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from lifecycle.plan_check import moves, step
from promotion.promotion_story import merged_train
from slo.synthetic import const, requests

from bot.adapters.prometheus import PrometheusClient

M = timedelta(minutes=1)


def _push_canary(prometheus: Any, service: str, error_fraction: float, end: datetime) -> None:
    stop = end.timestamp()
    labels = {"service": service, "stage": "canary"}
    prometheus.push(
        requests(labels, stop - 3 * 3600, stop, rps=const(10), error_fraction=const(error_fraction))
    )


def _start(before: int = 40) -> datetime:
    """`before` minutes before the real clock: the canary's verdicts are judged in the
    past, where Prometheus holds the pushed samples."""
    return datetime.now(UTC).replace(second=0, microsecond=0) - before * M


def test_a_healthy_train_is_promoted_to_the_end(sandbox, prometheus) -> None:  # type: ignore[no-untyped-def]
    m = merged_train(sandbox, canary_slos=True, t0=_start(70))  # canary passes at -25 min
    for service in ("web", "api"):
        _push_canary(prometheus, service, 0.0001, datetime.now(UTC))
    with PrometheusClient(prometheus.url, retries=1, sleep=lambda s: None) as client:
        step(m.story, m.merged_at, prometheus=client)  # merge; lands and starts in later rounds
        canary_at = m.merged_at + 10 * M
        assert moves(step(m.story, canary_at, prometheus=client)) == [
            "pass staging",
            "start canary",
        ]
        assert moves(step(m.story, canary_at + 5 * M, prometheus=client)) == ["wait canary"]
        passed = moves(step(m.story, canary_at + 31 * M, prometheus=client))
        assert passed == ["pass canary", "start production-eu"]
        eu = canary_at + 31 * M + timedelta(hours=1, minutes=1)
        assert moves(step(m.story, eu, prometheus=client)) == [
            "pass production-eu",
            "start production-us",
        ]
        us = eu + timedelta(hours=1, minutes=1)
        assert moves(step(m.story, us, prometheus=client)) == ["pass production-us", "complete"]
        assert step(m.story, us + M, prometheus=client) == ()
    assert m.record()["state"] == "completed"


def test_a_canary_breach_is_planned_as_the_revert_reconcile_makes(sandbox, prometheus) -> None:  # type: ignore[no-untyped-def]
    m = merged_train(sandbox, canary_slos=True, t0=_start())
    # half the requests fail: a breach six minutes into the soak (docs/slo.md's table)
    _push_canary(prometheus, "web", 0.5, datetime.now(UTC))
    _push_canary(prometheus, "api", 0.0005, datetime.now(UTC))
    with PrometheusClient(prometheus.url, retries=1, sleep=lambda s: None) as client:
        step(m.story, m.merged_at, prometheus=client)
        canary_at = m.merged_at + 10 * M
        step(m.story, canary_at, prometheus=client)
        reverted = moves(step(m.story, canary_at + 6 * M, prometheus=client))
        assert reverted == ["revert canary (SLO breach)"]
        assert step(m.story, canary_at + 7 * M, prometheus=client) == ()
    assert m.record()["state"] == "rolled_back"
