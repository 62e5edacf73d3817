"""Fixtures: a sandbox with a GitOps repository and Argo CD on a clock the test moves,
and the operator's policy holding the Argo CD source (token from the operator's env)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config.operator import outbound_from_env
from bot.config.outbound import OutboundPolicy
from bot.sandbox import api
from bot.sandbox.runner import Sandbox, run_sandbox

REPO = "acme/gitops"
START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@dataclass
class ArgoWorld:
    sb: Sandbox
    now: list[datetime]
    token: str
    policy: OutboundPolicy

    def tick(self, seconds: float) -> datetime:
        self.now[0] += timedelta(seconds=seconds)
        return self.now[0]

    def bump(self, path: str, text: str) -> str:
        """A commit on main touching `path` (the stage's bump); its sha."""
        return self.sb.scenario.push(REPO, "main", {path: text}, f"bump {path}", "rm-dave")

    def contains(self, revision: str, bump: str) -> bool:
        return self.sb.git.is_ancestor(REPO, bump, revision)


@pytest.fixture
def argo(tmp_path: Path) -> Iterator[ArgoWorld]:
    now = [START]
    with run_sandbox(tmp_path / "sandbox", durable=False) as sb:
        sb.server.clock = lambda: now[0]
        sb.scenario.create_repo(
            REPO,
            {
                "deploy/staging/app.yaml": "image: shop:1\n",
                "deploy/production/app.yaml": "image: shop:1\n",
            },
        )
        token = api.argocd.add_token(sb.server)
        sources = tmp_path / "sources.yml"
        sources.write_text(
            f"sources:\n  argocd-sandbox:\n    url: {sb.base_url}\n    token_env: ARGOCD_TOKEN\n"
            f"  argocd-wrong:\n    url: {sb.base_url}\n    token_env: WRONG_TOKEN\n"
        )
        env = {"RELEASE_TRAIN_SOURCES": str(sources), "ARGOCD_TOKEN": token,
               "WRONG_TOKEN": "argocd-not-a-token"}  # fmt: skip
        yield ArgoWorld(sb, now, token, outbound_from_env(env))
