"""`plan` = what reconcile does, over the promotion stories against a real Prometheus: at
every round (one round at a time, `lifecycle.plan_check.settle`) the actions `plan` lists,
judged from the same SLO reads, are as data the actions reconcile then performs: a healthy
train promoted to the end, a canary breach reverted, a canary without data aborted past
`inconclusive_after`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from lifecycle.plan_check import kinds, moves, settle, within
from promotion.promotion_story import merged_train
from slo.synthetic import const, requests

from bot.adapters.prometheus import PrometheusClient
from bot.core import actions as act

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


def _moves(rounds: list[tuple[act.Action, ...]]) -> list[str]:
    return [m for r in rounds for m in moves(r)]


def test_a_healthy_train_is_promoted_to_the_end(sandbox, prometheus) -> None:  # type: ignore[no-untyped-def]
    m = merged_train(sandbox, canary_slos=True, t0=_start(70))  # canary passes at -25 min
    for service in ("web", "api"):
        _push_canary(prometheus, service, 0.0001, datetime.now(UTC))
    with PrometheusClient(prometheus.url, retries=1, sleep=lambda s: None) as client:
        merged = settle(m.story, m.merged_at, prometheus=client)  # merge, land, start staging
        assert _moves(merged) == ["start staging", "wait staging"]
        canary_at = m.merged_at + 10 * M
        started = _moves(settle(m.story, canary_at, prometheus=client))
        assert started[:2] == ["pass staging", "start canary"]  # then judged: too early
        waits = settle(m.story, canary_at + 5 * M, prometheus=client)  # the unsure verdict
        assert set(_moves(waits)) == {"wait canary"}  # forgotten once (a write), then waiting
        passed = settle(m.story, canary_at + 31 * M, prometheus=client)
        assert _moves(passed) == ["pass canary", "start production-eu", "wait production-eu"]
        assert within(["SetDeploymentStatus", "WriteLedger"], kinds(passed[0]))
        eu = canary_at + 31 * M + timedelta(hours=1, minutes=1)
        assert _moves(settle(m.story, eu, prometheus=client)) == [
            "pass production-eu",
            "start production-us",
            "wait production-us",
        ]
        us = eu + timedelta(hours=1, minutes=1)
        assert _moves(settle(m.story, us, prometheus=client)) == [
            "pass production-us",
            "complete",
        ]
        assert settle(m.story, us + M, prometheus=client) == [()]
    assert m.record()["state"] == "completed"


def test_a_canary_breach_is_planned_as_the_revert_reconcile_makes(sandbox, prometheus) -> None:  # type: ignore[no-untyped-def]
    m = merged_train(sandbox, canary_slos=True, t0=_start())
    # half the requests fail: a breach six minutes into the soak (docs/slo.md's table)
    _push_canary(prometheus, "web", 0.5, datetime.now(UTC))
    _push_canary(prometheus, "api", 0.0005, datetime.now(UTC))
    with PrometheusClient(prometheus.url, retries=1, sleep=lambda s: None) as client:
        settle(m.story, m.merged_at, prometheus=client)
        canary_at = m.merged_at + 10 * M
        settle(m.story, canary_at, prometheus=client)
        reverted = settle(m.story, canary_at + 6 * M, prometheus=client)
        assert _moves(reverted) == ["revert canary (SLO breach)"]
        assert within(["RevertChain", "SetDeploymentStatus"], kinds(reverted[0]))
        rollback = ["OpenIncident", "AnnounceRollback", "PublishRelease", "WriteLedger"]
        assert within(rollback, kinds(reverted[0]))
        assert settle(m.story, canary_at + 7 * M, prometheus=client) == [()]
    assert m.record()["state"] == "rolled_back"


def _abort_when_unsure(text: str) -> str:
    old = "    objective: 99.9\n"
    return text.replace(old, old + "    inconclusive_after: 30m\n    on_inconclusive: abort\n")


def test_an_inconclusive_canary_aborted_is_planned_as_reconcile_aborts(sandbox, prometheus) -> None:  # type: ignore[no-untyped-def]
    """Only `docs` rides: Prometheus has no series for it, so canary stays inconclusive."""
    m = merged_train(
        sandbox, canary_slos=True, t0=_start(), files={"docs/guide.md": "# guide\n"},
        edit_config=_abort_when_unsure,
    )  # fmt: skip
    with PrometheusClient(prometheus.url, retries=1, sleep=lambda s: None) as client:
        settle(m.story, m.merged_at, prometheus=client)
        canary_at = m.merged_at + 10 * M
        held = settle(m.story, canary_at, prometheus=client)
        unsure = "hold canary (SLO verdict unsure)"
        assert _moves(held) == ["pass staging", "start canary", unsure, unsure]
        assert kinds(held[-2])[:2] == ["Promote", "WriteLedger"]  # the verdict, recorded once
        again = settle(m.story, canary_at + 5 * M, prometheus=client)
        assert [kinds(r) for r in again] == [["Promote"]] and _moves(again) == [unsure]
        aborted = settle(m.story, canary_at + 36 * M, prometheus=client)
        assert _moves(aborted) == ["abort canary (SLO verdict unsure)"]
        assert within(["SetDeploymentStatus", "PostComment", "WriteLedger"], kinds(aborted[0]))
        assert settle(m.story, canary_at + 40 * M, prometheus=client) == [()]
    assert m.record()["state"] == "aborted"
