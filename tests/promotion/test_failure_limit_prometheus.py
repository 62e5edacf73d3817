"""`failure_limit` against a real Prometheus, through the promotion (plan = reconcile at
every step): with `failure_limit: 3` a short breach fails one check, holds the stage and is
forgotten at the next pass, where the default (1) reverts on that same check; a sustained
breach reverts on the third failing check in a row, the streak recorded in the ledger's
step state on the way. Checks every 5 minutes: the Action's schedule (docs/action.md)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from lifecycle.plan_check import moves, step
from promotion.promotion_story import Merged, merged_train
from slo.synthetic import Shape, between, const, requests

from bot.adapters.prometheus import PrometheusClient
from bot.core.ledger import parse_commit_message

M = timedelta(minutes=1)


def _start() -> datetime:
    """Fifty minutes before the real clock: the canary soaks in Prometheus' recent past."""
    return datetime.now(UTC).replace(second=0, microsecond=0) - 50 * M


def _labelled(story: str, limit: int) -> Callable[[str], str]:
    """The story's own series (one Prometheus serves the module), and its failure_limit."""

    def edit(text: str) -> str:
        text = text.replace('stage="{stage}"', f'stage="{{stage}}",story="{story}"')
        return text.replace(
            "    objective: 99.9\n", f"    objective: 99.9\n    failure_limit: {limit}\n"
        )

    return edit


def _push(prometheus: Any, story: str, service: str, errors: Shape) -> None:
    stop = datetime.now(UTC).timestamp()
    labels = {"service": service, "stage": "canary", "story": story}
    prometheus.push(requests(labels, stop - 3 * 3600, stop, rps=const(10), error_fraction=errors))


def _to_canary(m: Merged, client: Any) -> datetime:
    step(m.story, m.merged_at, prometheus=client)
    canary_at = m.merged_at + 10 * M
    assert moves(step(m.story, canary_at, prometheus=client)) == ["pass staging", "start canary"]
    return canary_at


def _canary(m: Merged) -> dict[str, Any]:
    return dict(m.record()["extra"]["promotion"]["steps"][1])


def _blip(m: Merged) -> Shape:
    """Every request of web fails for 90 s, three minutes after the canary's bump: more than
    the 51.8 s the fast rule allows (docs/slo.md), so the check two minutes later fails."""
    bump = (m.merged_at + 10 * M).timestamp()
    return between(bump + 180, bump + 270, 1.0, 0.0005)


def test_a_short_breach_fails_one_check_and_does_not_revert_with_failure_limit_3(
    sandbox: Any, prometheus: Any
) -> None:
    m = merged_train(sandbox, canary_slos=True, t0=_start(), edit_config=_labelled("blip", 3))
    _push(prometheus, "blip", "web", _blip(m))
    _push(prometheus, "blip", "api", const(0.0005))
    with PrometheusClient(prometheus.url, retries=1, sleep=lambda s: None) as client:
        canary_at = _to_canary(m, client)
        held = moves(step(m.story, canary_at + 5 * M, prometheus=client))
        assert held == ["hold canary (SLO failing, under failure_limit)"]
        canary = _canary(m)
        assert canary["status"] == "soaking" and canary["verdict"] == "failing"
        assert [f[:3] for f in canary["failures"]] == [["availability", "web", 1]]
        assert not canary["unsure_since"]  # a failing check is not an unsure one
        # the short window no longer sees the blip: a pass ends the streak
        assert moves(step(m.story, canary_at + 10 * M, prometheus=client)) == ["wait canary"]
        assert _canary(m)["failures"] == [] and _canary(m)["verdict"] == ""
        for minutes in (15, 20, 25):
            assert moves(step(m.story, canary_at + minutes * M, prometheus=client)) == [
                "wait canary"
            ]
        passed = moves(step(m.story, canary_at + 31 * M, prometheus=client))
        assert passed == ["pass canary", "start production-eu"]
    assert m.record()["state"] == "promoting"
    assert not [b for _, b in m.main_log() if b.startswith("revert ")]


def test_the_same_short_breach_reverts_with_the_default_failure_limit(
    sandbox: Any, prometheus: Any
) -> None:
    m = merged_train(sandbox, canary_slos=True, t0=_start(), edit_config=_labelled("blip1", 1))
    _push(prometheus, "blip1", "web", _blip(m))
    _push(prometheus, "blip1", "api", const(0.0005))
    with PrometheusClient(prometheus.url, retries=1, sleep=lambda s: None) as client:
        canary_at = _to_canary(m, client)
        reverted = moves(step(m.story, canary_at + 5 * M, prometheus=client))
        assert reverted == ["revert canary (SLO breach)"]
    assert m.record()["state"] == "rolled_back"


def test_a_sustained_breach_reverts_on_the_third_failing_check_in_a_row(
    sandbox: Any, prometheus: Any
) -> None:
    m = merged_train(sandbox, canary_slos=True, t0=_start(), edit_config=_labelled("burn", 3))
    # 10 % of web's requests fail from the bump on: the fast rule fires 8.6 min in
    bump = (m.merged_at + 10 * M).timestamp()
    _push(prometheus, "burn", "web", between(bump, bump + 3 * 3600, 0.1, 0.0005))
    _push(prometheus, "burn", "api", const(0.0005))
    with PrometheusClient(prometheus.url, retries=1, sleep=lambda s: None) as client:
        canary_at = _to_canary(m, client)
        assert moves(step(m.story, canary_at + 5 * M, prometheus=client)) == ["wait canary"]
        for minutes, streak in ((10, 1), (15, 2)):
            held = moves(step(m.story, canary_at + minutes * M, prometheus=client))
            assert held == ["hold canary (SLO failing, under failure_limit)"]
            assert [f[:3] for f in _canary(m)["failures"]] == [["availability", "web", streak]]
        reverted = moves(step(m.story, canary_at + 20 * M, prometheus=client))
        assert reverted == ["revert canary (SLO breach)"]
    record = m.record()
    assert record["state"] == "rolled_back"
    verdicts = [e["detail"] for e in record["history"] if e["event"] == "stage-verdict"]
    assert verdicts[-4:] == [
        "canary pass so far",
        "canary failing",
        "canary failing",
        "canary fail",
    ]
    evidence = []
    for entry in m.story.ledger_log():
        _, _, trailers = parse_commit_message(entry.split("\x00", 1)[1])
        evidence += [v for k, v in trailers if k == "Evidence" and "in a row" in v]
    assert [e.rsplit("; ", 1)[-1] for e in evidence] == [
        "availability/web failing 2 of 3 checks in a row",  # newest first
        "availability/web failing 1 of 3 checks in a row",
    ]
