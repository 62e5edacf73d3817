"""Prometheus metrics for one app instance, in its own registry (no global state).

`GET /metrics` renders `Metrics.render()`. Each reconcile reports how many GitHub requests
it made; the rate limit left is sampled from `GET /rate_limit`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from bot.transports.event_series import EventSeries

RECONCILE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
# GitHub's webhook event names (those of @octokit/webhooks-examples, and a few newer ones).
# A label comes from this set or is "other": a header anyone can send never grows /metrics.
KNOWN_EVENTS = frozenset(
    [
        "branch_protection_configuration",
        "branch_protection_rule",
        "check_run",
        "check_suite",
        "code_scanning_alert",
        "commit_comment",
        "create",
        "custom_property",
        "custom_property_values",
        "delete",
        "dependabot_alert",
        "deploy_key",
        "deployment",
        "deployment_protection_rule",
        "deployment_review",
        "deployment_status",
        "discussion",
        "discussion_comment",
        "fork",
        "github_app_authorization",
        "gollum",
        "installation",
        "installation_repositories",
        "installation_target",
        "issue_comment",
        "issues",
        "label",
        "marketplace_purchase",
        "member",
        "membership",
        "merge_group",
        "meta",
        "milestone",
        "org_block",
        "organization",
        "package",
        "page_build",
        "ping",
        "project",
        "project_card",
        "project_column",
        "projects_v2",
        "projects_v2_item",
        "public",
        "pull_request",
        "pull_request_review",
        "pull_request_review_comment",
        "pull_request_review_thread",
        "push",
        "registry_package",
        "release",
        "repository",
        "repository_advisory",
        "repository_dispatch",
        "repository_import",
        "repository_ruleset",
        "repository_vulnerability_alert",
        "secret_scanning_alert",
        "secret_scanning_alert_location",
        "security_advisory",
        "security_and_analysis",
        "sponsorship",
        "star",
        "status",
        "sub_issues",
        "team",
        "team_add",
        "watch",
        "workflow_dispatch",
        "workflow_job",
        "workflow_run",
    ]
)


def event_label(event: str) -> str:
    """The metric label for an `X-GitHub-Event` value: itself when GitHub sends such
    events, "unknown" when absent, "other" for anything else."""
    if not event:
        return "unknown"
    return event if event in KNOWN_EVENTS else "other"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.deliveries = Counter(
            "release_train_webhook_deliveries",
            "Webhook deliveries by event and outcome.",
            ["event", "outcome"],
            registry=r,
        )
        self._delivery_children: dict[tuple[str, str], Any] = {}
        self.reconciles = Counter(
            "release_train_reconciles",
            "Reconcile runs by outcome (ok, error, retry).",
            ["outcome"],
            registry=r,
        )
        self.reconcile_seconds = Histogram(
            "release_train_reconcile_duration_seconds",
            "Wall time of one reconcile.",
            ["outcome"],
            buckets=RECONCILE_BUCKETS,
            registry=r,
        )
        self.github_requests = Counter(
            "release_train_github_requests",
            "GitHub API requests made by reconciles, per installation.",
            ["installation"],
            registry=r,
        )
        self.rate_limit_remaining = Gauge(
            "release_train_github_rate_limit_remaining",
            "Core REST requests left in the current window, per installation "
            "(GET /rate_limit, sampled at most once a minute).",
            ["installation"],
            registry=r,
        )
        self.trains = Gauge(
            "release_train_trains",
            "Trains by state, from the last reconcile of each repo.",
            ["state"],
            registry=r,
        )
        self.worker_outcomes = Counter(
            "release_train_worker_failures",
            "Failed reconciles by what the worker did next: retry, give_up (the attempt "
            "budget is spent) or permanent (not retried).",
            ["outcome"],
            registry=r,
        )
        self.queue_depth = Gauge(
            "release_train_worker_pending_repos",
            "Repositories waiting for a reconcile.",
            registry=r,
        )
        self.events = EventSeries()  # deployment events of recent trains, per repository
        r.register(self.events)
        self._trains_by_repo: dict[str, dict[str, int]] = {}
        self._lock = threading.Lock()

    def delivery(self, event: str, outcome: str) -> None:
        key = (event_label(event), outcome)  # bounded: known event names x outcomes
        child = self._delivery_children.get(key)
        if child is None:
            child = self._delivery_children[key] = self.deliveries.labels(*key)
        child.inc()

    def worker_failure(self, outcome: str) -> None:
        self.worker_outcomes.labels(outcome=outcome).inc()

    def reconciled(self, outcome: str, seconds: float) -> None:
        self.reconciles.labels(outcome=outcome).inc()
        self.reconcile_seconds.labels(outcome=outcome).observe(seconds)

    def github(self, installation: str, requests: int, remaining: int | None = None) -> None:
        if requests:
            self.github_requests.labels(installation=installation).inc(requests)
        if remaining is not None:
            self.rate_limit_remaining.labels(installation=installation).set(remaining)

    def set_train_states(self, repo: str, states: Iterable[str]) -> None:
        """Replace `repo`'s contribution to the trains-by-state gauge."""
        counts: dict[str, int] = {}
        for state in states:
            counts[state] = counts.get(state, 0) + 1
        with self._lock:
            self._trains_by_repo[repo] = counts
            totals: dict[str, int] = {}
            for per_repo in self._trains_by_repo.values():
                for state, n in per_repo.items():
                    totals[state] = totals.get(state, 0) + n
            for state in {*totals, *self._known_states()}:
                self.trains.labels(state=state).set(totals.get(state, 0))

    def _known_states(self) -> set[str]:
        return {s.labels["state"] for m in self.trains.collect() for s in m.samples}

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
