"""`/metrics`' deployment-event series: one sample per (repository, train, stage, event),
its value the event's Unix time; a repository's trains merge across reconciles and are
bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families

from bot.core.deploy_events import DeployEvent
from bot.transports.event_series import NAME, events_table
from bot.transports.metrics import Metrics

T0 = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def samples(metrics: Metrics) -> dict[tuple[str, str, str, str], float]:
    text = metrics.render()[0].decode()
    return {
        (s.labels["repository"], s.labels["train"], s.labels["stage"], s.labels["event"]): s.value
        for family in text_string_to_metric_families(text)
        if family.name == NAME
        for s in family.samples
    }


def test_events_are_exported_as_timestamps() -> None:
    metrics = Metrics()
    bump = DeployEvent("web-2026-03-04", "staging", "bump", T0)
    revert = DeployEvent("web-2026-03-04", "staging", "revert", T0 + timedelta(minutes=3))
    metrics.events.set("acme/shop", [bump, revert])
    assert samples(metrics) == {
        ("acme/shop", "web-2026-03-04", "staging", "bump"): T0.timestamp(),
        ("acme/shop", "web-2026-03-04", "staging", "revert"): T0.timestamp() + 180,
    }


def test_an_ended_train_stays_until_newer_trains_push_it_out() -> None:
    metrics = Metrics()
    first = DeployEvent("web-2026-03-01", "canary", "revert", T0)
    metrics.events.set("acme/shop", [first])
    # the next reconcile no longer reads the ended train; it stays exported
    later = [
        DeployEvent(f"web-2026-03-{d:02d}", "staging", "bump", T0 + timedelta(days=d))
        for d in range(2, 6)
    ]
    metrics.events.set("acme/shop", later)
    metrics.events.set("acme/other", [DeployEvent("api-2026-03-09", "", "hold", T0)])
    assert ("acme/shop", "web-2026-03-01", "canary", "revert") in samples(metrics)
    metrics.events.set(
        "acme/shop", [DeployEvent("web-2026-03-09", "", "merge", T0 + timedelta(days=9))]
    )
    trains = {(repo, train) for repo, train, _, _ in samples(metrics)}
    assert ("acme/shop", "web-2026-03-01") not in trains  # six trains: the oldest went
    assert len([t for t in trains if t[0] == "acme/shop"]) == 5
    assert ("acme/other", "api-2026-03-09") in trains  # per repository


def test_a_train_seen_again_is_replaced_not_added_to() -> None:
    metrics = Metrics()
    metrics.events.set("acme/shop", [DeployEvent("web-2026-03-04", "", "hold", T0)])
    moved = DeployEvent("web-2026-03-04", "", "hold", T0 + timedelta(hours=1))
    metrics.events.set("acme/shop", [moved])
    assert samples(metrics) == {("acme/shop", "web-2026-03-04", "", "hold"): moved.at.timestamp()}


def test_the_summary_table_neutralises_cells() -> None:
    lines = events_table([DeployEvent("web-2026-03-04", "st|age`x", "bump", T0)])
    assert lines[2] == "| time (UTC) | train | stage | event |"
    assert lines[4] == "| 2026-03-04T12:00:00Z | `web-2026-03-04` | `st\\|age'x` | bump |"
    assert events_table([]) == []
