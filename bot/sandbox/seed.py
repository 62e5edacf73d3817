"""Scenario files: a sandbox's starting state (``demo``, ``users``, ``teams``, ``repos``,
``pulls``) as JSON or YAML, applied through the scenario kit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.sandbox.scenario import Scenario, files_from_dir


def load_seed(path: Path) -> dict[str, Any]:
    """A scenario file (JSON or YAML): ``demo``, ``users``, ``teams``, ``repos``, ``pulls``."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        import json

        value = json.loads(text)
    else:
        from ruamel.yaml import YAML

        value = YAML(typ="safe").load(text)
    if not isinstance(value, dict):
        raise ValueError(f"{path}: a scenario must be a mapping")
    return value


def apply_seed(scenario: Scenario, seed: dict[str, Any], base_dir: Path) -> list[str]:
    """Create what a scenario file describes; returns the repositories made."""
    made = []
    if seed.get("demo"):
        made.append(scenario.demo())
    for user in seed.get("users") or []:
        scenario.add_user(
            str(user["login"]),
            dict(user.get("roles") or {}),
            list(user.get("teams") or []),
            type=str(user.get("type", "User")),
        )
    for slug, team in (seed.get("teams") or {}).items():
        scenario.add_team(str(slug), list(team.get("members") or []), dict(team.get("repos") or {}))
    for repo in seed.get("repos") or []:
        files: dict[str, str | bytes | None] = dict(repo.get("files") or {})
        if repo.get("dir"):
            files = {**files_from_dir(base_dir / str(repo["dir"])), **files}
        scenario.create_repo(
            str(repo["name"]),
            files,
            str(repo.get("default_branch", "main")),
            bool(repo.get("private", False)),
        )
        made.append(str(repo["name"]))
    for pr in seed.get("pulls") or []:
        scenario.open_pr(
            str(pr["repo"]),
            str(pr["author"]),
            str(pr["branch"]),
            dict(pr.get("files") or {}),
            str(pr.get("title", "")),
            str(pr.get("body", "")),
            list(pr.get("labels") or []),
            bool(pr.get("draft", False)),
        )
    return made
