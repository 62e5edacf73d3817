"""The demo's scene, as plain values: the repository settings the release manager makes for
the demo, the developers' changes, and the simulated SLIs (healthy, then a canary breach).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.demo.gates import CART_CACHE_FLAGS, FLAGS_PATH, MIGRATION_PATH, MIGRATION_SQL
from bot.demo.metrics import Breach, SimulatedSLIs

CODEOWNERS_PATH = ".github/CODEOWNERS"
MONDAY = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # Berlin 09:00: the cutover window is open
CHECKOUT = "services/checkout/main.go"
# Gates that report `neutral` when the bot has no facts for them (no code scanning, no
# error-budget history in the demo; see bot.core.gates.lifecycle); the demo's config lets
# them pass, as their check runs advise.
UNCHECKED_GATES = ("security", "manifests", "error_budget")


def demo_config(text: str, prometheus_url: str) -> str:
    """The demo repository's config with `prometheus.url` pointing at `prometheus_url`."""
    pattern = re.compile(r"^(prometheus:\s*\n(?:[ \t]+.*\n)*?[ \t]+url:[ \t]*)\S+", re.MULTILINE)
    updated, count = pattern.subn(lambda m: m.group(1) + prometheus_url, text)
    if count != 1:
        return text.rstrip("\n") + f"\n\nprometheus:\n  url: {prometheus_url}\n"
    return updated


def allow_unchecked_gates(text: str, gates: tuple[str, ...] = UNCHECKED_GATES) -> str:
    """The config with `gates.allow_neutral` listing `gates` (kept if already set): gates
    whose facts the bot does not gather report `neutral`, and the demo lets that pass."""
    if re.search(r"^[ \t]+allow_neutral:", text, re.MULTILINE):
        return text
    line = f"  allow_neutral: [{', '.join(gates)}]\n"
    updated, count = re.subn(
        r"^gates:[ \t]*\n", lambda m: m.group(0) + line, text, count=1, flags=re.M
    )
    return updated if count else text.rstrip("\n") + f"\n\ngates:\n{line}"


def breach_plan(seed: int) -> SimulatedSLIs:
    """Healthy everywhere, except checkout's canary from train 2's departure day on."""
    start = MONDAY + timedelta(days=1)
    return SimulatedSLIs(breaches=(Breach("checkout", "canary", start, 0.05),), seed=seed)


def reviewers_own_everything(text: str, team: str = "@acme/reviewers") -> str:
    """CODEOWNERS with `team` added to the catch-all ``*`` rule, so the reviewer's approval
    counts as a code owner's for files only the catch-all matches."""
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        parts = line.split()
        if parts and parts[0] == "*" and team not in parts:
            lines[i] = line.rstrip("\n") + f" {team}\n"
    return "".join(lines)


@dataclass(frozen=True)
class Change:
    author: str
    branch: str
    path: str
    content: str
    title: str
    label: str  # the release-notes label
    extra: tuple[tuple[str, str], ...] = ()  # more files the change adds or edits

    def files(self) -> dict[str, str]:
        return {self.path: self.content, **dict(self.extra)}


def checkout_source(comment: str) -> str:
    body = 'func main() { fmt.Println("checkout") }'
    return f'package main\n\nimport "fmt"\n\n// {comment}\n{body}\n'


# Train 1's changes (the first adds a feature flag, the second a database migration); the
# third edits the same line as the first, so it conflicts.
TRAIN_1_CHANGES = (
    Change(
        "dev-alice",
        "faster-checkout",
        CHECKOUT,
        checkout_source("cache the cart total"),
        "Faster checkout",
        "feature",
        ((FLAGS_PATH, CART_CACHE_FLAGS),),  # behind a new feature flag
    ),
    Change(
        "dev-bob",
        "fix-frontend-price",
        "services/frontend/src/index.js",
        "console.log('prices rounded');\n",
        "Round prices in the frontend",
        "bug",
        ((MIGRATION_PATH, MIGRATION_SQL),),  # with a database migration
    ),
    Change(
        "dev-bob",
        "checkout-retry",
        CHECKOUT,
        checkout_source("retry payments once"),
        "Retry payments from checkout",
        "feature",
    ),
)
