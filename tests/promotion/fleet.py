"""A fleet of services for counting a stage commit's requests: each service's image lives in
three files of the `production` stage (kustomize, Helm values, a workload), built as a real
git repository with the git CLI and pushed into the sandbox. Used by
tests/promotion/test_stage_requests.py and bench/bench_promotion.py."""

from __future__ import annotations

import os
import random
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.adapters.gitdata import GitData
from bot.adapters.github import GitHubClient, ResponseCache
from bot.config.load import load_config_text
from bot.config.model import Config
from bot.core import promotion as pm
from bot.shell.stage_io import PromoteRun, StageCtx, write_edits

CONFIG_HEAD = """\
version: 1
trains:
  - name: fleet
    cadence: "0 * * * *"
    base: main
stages:
  - name: production
    manifests: ["deploy/production/*/*.yaml"]
    soak: 10m
services:
"""

SERVICE = """\
  - name: {name}
    image: ghcr.io/acme/{name}
    manifests: ["deploy/production/{name}/*"]
"""

KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [deployment.yaml]
images:
  - name: ghcr.io/acme/{name}
    newTag: "1.0.0"   # bumped by the release train
"""

VALUES = """\
# Helm values for {name}
replicaCount: 2
image:
  repository: ghcr.io/acme/{name}
  tag: 1.0.0
  pullPolicy: IfNotPresent
"""

WORKLOAD = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  template:
    spec:
      containers:
        - name: app
          image: ghcr.io/acme/{name}:1.0.0
          ports: [{{containerPort: 8080}}]
"""


def names(services: int) -> list[str]:
    return [f"svc-{i:03d}" for i in range(services)]


def fleet(services: int, other_files: int = 50) -> tuple[str, dict[str, str]]:
    """(configuration text, path -> text): 3 manifests per service, plus unrelated files."""
    config = CONFIG_HEAD + "".join(SERVICE.format(name=n) for n in names(services))
    files: dict[str, str] = {".github/release-train.yml": config}
    for name in names(services):
        folder = f"deploy/production/{name}"
        files[f"{folder}/kustomization.yaml"] = KUSTOMIZATION.format(name=name)
        files[f"{folder}/values.yaml"] = VALUES.format(name=name)
        files[f"{folder}/deployment.yaml"] = WORKLOAD.format(name=name)
    for i in range(other_files):
        files[f"src/module_{i:03d}.py"] = f"VALUE = {i}\n"
    return config, files


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(cwd),
        "GIT_AUTHOR_NAME": "Fleet",
        "GIT_AUTHOR_EMAIL": "fleet@example.com",
        "GIT_COMMITTER_NAME": "Fleet",
        "GIT_COMMITTER_EMAIL": "fleet@example.com",
    }
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def create(sandbox: Any, repo: str, files: dict[str, str]) -> str:
    """`repo` in the sandbox holding `files` on main: committed with the git CLI in a temp
    dir and pushed into the sandbox's bare repository. The head sha."""
    sandbox.scenario.create_repo(repo, {"README.md": "fleet\n"})
    sandbox.scenario.install_bot(repo)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        git(work, "init", "-q", "-b", "main")
        for path, text in files.items():
            (work / path).parent.mkdir(parents=True, exist_ok=True)
            (work / path).write_text(text)
        git(work, "add", "-A")
        git(work, "commit", "-q", "-m", "fleet manifests")
        git(work, "push", "-q", "--force", str(sandbox.git.path(repo)), "HEAD:refs/heads/main")
        return git(work, "rev-parse", "HEAD")


@dataclass(frozen=True)
class Count:
    services: int
    files: int
    requests: int
    writes: int
    seconds: float
    sha: str
    log: tuple[tuple[str, str, int, float], ...]


def stage_commit(
    sandbox: Any,
    repo: str,
    config: Config,
    tag: str = "2.0.0",
    cache: ResponseCache | None = None,
) -> Count:
    """One stage commit of every service of `config` to `tag`, by the bot's own code
    (`write_edits`; a cold cache unless `cache` is given), counted from the sandbox
    request log."""
    tags = {s.name: tag for s in config.services}
    (step,) = pm.plan_steps(config)
    mark = len(sandbox.server.request_log)
    started = time.perf_counter()
    with GitHubClient(
        repo,
        sandbox.bot_token(),
        api_url=sandbox.base_url,
        cache=cache if cache is not None else ResponseCache(),
        bot_login="release-train[bot]",
        writes_per_minute=10_000,
    ) as client:
        ctx = StageCtx(
            client=client,
            config=config,
            snap=None,
            now=datetime.now(UTC),
            prometheus=None,
            git=GitData(client),
            run=PromoteRun(),
            sleep=lambda _s: None,
            rng=random.Random(0),
        )
        sha, bumps = write_edits(
            ctx,
            ctx.git,
            "main",
            lambda tip: pm.step_files(config, step, tip.files, tags),
            tags,
            lambda lines: pm.promote_message("fleet-2026-01-01", step, lines),
        )
    seconds = time.perf_counter() - started
    log = tuple(sandbox.server.request_log[mark:])
    files = sum(len(b.files) for b in bumps)
    writes = sum(1 for r in log if r[0] != "GET")
    return Count(len(config.services), files, len(log), writes, seconds, sha, log)


def load(config_text: str) -> Config:
    return load_config_text(config_text, ".github/release-train.yml")
