"""The demo's Argo CD: the sandbox's Applications API, one Application per service and
stage, and every stage of acme/shop waiting for them (Synced at the bump and Healthy)
before its soak. The release manager's settings commit adds the `argocd:` sections; the
operator's policy (`World.outbound`) holds the Argo CD source and its token, as a sources
file would in production.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.core.ledger import TrainRecord
    from bot.demo.world import World

SOURCE = "argocd-sandbox"
STAGES = ("staging", "canary", "production")
SYNC_DELAY = 30  # seconds from a bump to Synced, then
HEALTH_DELAY = 90  # ... Progressing this long before Healthy
# (Application, the path it deploys, its stage): checkout's overlay, frontend's values
# file and payments' directory of each environment
APPLICATIONS = tuple(
    (f"{service}-{env}", path.format(env=env), stage)
    for env, stage in (
        ("staging", "staging"),
        ("canary", "canary"),
        ("production-eu-west", "production"),
        ("production-us-east", "production"),
    )
    for service, path in (
        ("checkout", "deploy/checkout/overlays/{env}"),
        ("frontend", "deploy/frontend/values-{env}.yaml"),
        ("payments", "deploy/payments/{env}"),
    )
)


def with_argocd(text: str) -> str:
    """The demo config with each stage waiting for its Applications (by label selector),
    asking Argo CD to refresh on every look."""

    def section(match: re.Match[str]) -> str:
        selector = f"app.kubernetes.io/part-of=shop,stage={match[1]}"
        return (
            match[0] + f"    argocd:\n      source: {SOURCE}\n      selector: {selector}\n"
            "      refresh: true\n      health_timeout: 10m\n"
        )

    names = "|".join(STAGES)
    return re.sub(rf"^  - name: ({names})\n", section, text, flags=re.MULTILINE)


def set_up(world: World) -> None:
    """Applications in the sandbox's Argo CD (each Synced and Healthy at main's head now),
    a token, and the operator's policy naming that Argo CD as source `SOURCE`."""
    from bot.config.outbound import Endpoint, OutboundPolicy
    from bot.sandbox.api import argocd

    server = world.sandbox.server
    for name, path, stage in APPLICATIONS:
        labels = {"app.kubernetes.io/part-of": "shop", "stage": stage}
        argocd.add_application(server, name, repo=world.repo, path=path, labels=labels,
                               sync_delay=SYNC_DELAY, health_delay=HEALTH_DELAY)  # fmt: skip
    token = argocd.add_token(server)
    source = Endpoint(world.sandbox.base_url, f"source {SOURCE}", trusted=True, token=token)
    world.outbound = OutboundPolicy(sources=(source,))
    world.say(
        "rm-dave",
        f"has each stage wait for Argo CD ({len(APPLICATIONS)} Applications, one per service "
        "and environment): Synced at the bump and Healthy before the soak",
    )


def narrate(world: World, record: TrainRecord | None) -> None:
    """Say, once each, when a stage's Applications turned Synced and Healthy (its soak
    starts then) or why its wait failed."""
    from bot.core.promotion_health import views

    if record is None:
        return
    for step, view in views(record).items():
        key = f"argocd:{record.id}:{step}:{view.status}"
        if view.status == "waiting" or key in world.seen:
            continue
        world.seen[key] = 1
        apps = ", ".join(r.name for r in view.rows)
        if view.status == "healthy":
            revision = view.rows[0].revision if view.rows else "?"
            many = f"{len(view.rows)} Applications" if len(view.rows) > 1 else "its Application"
            text = f"{step}: {many} Synced at {revision} and Healthy, the soak starts ({apps})"
        else:
            text = f"{step}: {view.reason}"
        world.narrator.say(view.at, "argocd", text)


def check(world: World, record: TrainRecord) -> None:
    """Every stage the train passed soaked only after Argo CD said Synced and Healthy."""
    from bot.core import promotion as pm
    from bot.core.promotion_health import views
    from bot.demo.world import expect

    kept = views(record)
    for step in pm.load(record).steps:
        if step.status != pm.PASSED:
            continue
        view = kept.get(step.name)
        ok = view is not None and view.status == "healthy" and view.at == step.started
        ok = ok and step.bumped is not None and step.bumped <= (step.started or step.bumped)
        expect(world, ok, f"{record.id}: {step.name} soaked before Argo CD said healthy")


def summary(record: TrainRecord) -> list[dict[str, Any]]:
    """Per step: when it was bumped, when its Applications were Synced and Healthy, when
    the soak started, and each Application's sync and health (for `demo --json`)."""
    from bot.core import promotion as pm
    from bot.core.promotion_health import views

    kept = views(record)
    out = []
    for step in pm.load(record).steps:
        view = kept.get(step.name)
        if view is None:
            continue
        out.append(
            {
                "stage": step.name,
                "bumped": _iso(step.bumped),
                "status": view.status,
                "healthy_at": view.at.isoformat() if view.status == "healthy" else None,
                "soak_started": _iso(step.started),
                "reason": view.reason,
                "applications": [
                    {"name": r.name, "sync": r.sync, "health": r.health, "revision": r.revision}
                    for r in view.rows
                ],
            }
        )
    return out


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
