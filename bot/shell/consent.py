"""Two-party consent, performed: read each other repository's `accept_from` and refuse the
configuration (a `ConfigError` at the stage's `repository:` line) before anything is
written there. The rule itself is `bot.core.consent`.

Costs nothing for a configuration whose stages all write to this repository.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from bot.config.model import Config
from bot.config.yaml_source import read_yaml
from bot.core.consent import (
    Acceptance,
    OperatorPolicy,
    acceptance_from,
    other_repositories,
    refusals,
)
from bot.errors import ConfigError, ExternalError, Problem


def require_consent(
    client: Any,
    config: Config,
    repo: str,
    config_path: str,
    operator: OperatorPolicy | None = None,
) -> None:
    """Raise `ConfigError` (one problem per refused stage) unless every other repository a
    stage writes to accepts trains from `repo` (and `operator`, when given, allows it)."""
    others = other_repositories(config, repo)
    if not others:
        return
    answers = {
        other: read_acceptance(client, other, config_path)
        for other in others
        if operator is None or operator(repo, other)
    }
    refused = refusals(config, repo, answers, operator)
    if not refused:
        return
    where = _stage_positions(client, config_path)
    raise ConfigError(
        [Problem(r.message, config_path, *where.get(r.stage_index, (0, 0))) for r in refused]
    )


def read_acceptance(client: Any, other: str, config_path: str) -> Acceptance:
    """`accept_from` of `other`'s configuration on its default branch. Missing, unreadable
    or not understood: it accepts nobody. A server error raises (ask again later)."""
    where = f"{other}:{config_path}"
    status, body = client.get_json(f"/repos/{other}/contents/{quote(config_path)}")
    if status in (403, 404):
        return Acceptance(problem=f"{where} cannot be read (GitHub answered {status})")
    if status >= 400 or not isinstance(body, dict):
        raise ExternalError("GitHub", f"read {where}: {status}", status=status)
    try:
        text = base64.b64decode(str(body.get("content", ""))).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return Acceptance(problem=f"{where} is not UTF-8 text")
    doc, problems = read_yaml(text, where)
    if doc is None:
        return Acceptance(problem=problems[0].render() if problems else f"{where}: not YAML")
    return acceptance_from(doc.data, where)


def _stage_positions(client: Any, config_path: str) -> dict[int, tuple[int, int]]:
    """Line and column of each `stages[i].repository` in this repository's file (absent
    when a stage came from an extended policy file)."""
    text = client.read_file(config_path)
    doc, _ = read_yaml(text or "", config_path)
    if doc is None or not isinstance(doc.data, dict):
        return {}
    stages = doc.data.get("stages")
    count = len(stages) if isinstance(stages, list) else 0
    return {
        i: doc.where(("stages", i, "repository"), value=True)
        for i in range(count)
        if ("stages", i, "repository") in doc.keys
    }
