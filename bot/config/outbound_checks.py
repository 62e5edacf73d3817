"""The configuration's outbound settings against the outbound policy, with positions.

Every section a configuration uses to point the bot somewhere (`prometheus`, each stage's
`argocd`) is
checked here, by the same decisions the adapters make at connect time
(`bot.config.outbound`), so a refusal is a configuration problem at FILE:LINE:COL
before anything is sent:

- always: headers that carry credentials or choose the target; `source` and `url` both;
- with the operator's policy: a `source` the operator did not define; in App mode, a
  `url` whose host the operator did not allow, or that names (or, with `resolve`,
  resolves to) a loopback, link-local, private or otherwise internal address.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.config.outbound import (
    Mode,
    OutboundPolicy,
    connect_problem,
    origin_of,
    repo_header_problem,
    url_problem,
)
from bot.config.schemas import path_text
from bot.errors import ExternalError, Problem

Path_ = tuple[str | int, ...]
Locate = Callable[[Path_, bool], tuple[str, int, int]]
SECTIONS = ("prometheus",)  # configuration sections that choose an outbound target


def outbound_problems(
    data: dict[str, Any],
    locate: Locate,
    policy: OutboundPolicy | None = None,
    *,
    resolve: bool = False,
) -> list[Problem]:
    """Problems in the outbound sections of merged configuration `data`."""
    problems: list[Problem] = []

    def error(path: Path_, message: str, value: bool = True) -> None:
        file, line, col = locate(path, value)
        problems.append(Problem(message, file=file, line=line, col=col))

    for at, section, url_key in _sections(data):
        name = path_text(at)
        headers = section.get("headers")
        for key in headers if isinstance(headers, dict) else {}:
            why = repo_header_problem(str(key))
            if why:
                error((*at, "headers", key), f"{name}.headers: {why}", value=False)
        if section.get("source") and section.get(url_key):
            error((*at, url_key), f"{name}: set `source` or `{url_key}`, not both", value=False)
        elif policy is not None:
            _against_policy(at, url_key, section, policy, resolve, error)
    return problems


def _sections(data: dict[str, Any]) -> list[tuple[Path_, dict[str, Any], str]]:
    """(path, section, the key holding its URL) of every section that chooses a target:
    the top-level ones and each stage's `argocd` (whose URL key is `server`)."""
    found: list[tuple[Path_, dict[str, Any], str]] = [
        ((name,), data[name], "url") for name in SECTIONS if isinstance(data.get(name), dict)
    ]
    stages = data.get("stages")
    for index, stage in enumerate(stages if isinstance(stages, list) else []):
        if isinstance(stage, dict) and isinstance(stage.get("argocd"), dict):
            found.append((("stages", index, "argocd"), stage["argocd"], "server"))
    return found


def _against_policy(
    at: Path_,
    url_key: str,
    section: dict[str, Any],
    policy: OutboundPolicy,
    resolve: bool,
    error: Callable[[Path_, str], None],
) -> None:
    name = path_text(at)
    source, url = section.get("source"), section.get(url_key)
    if isinstance(source, str) and source and policy.source(source) is None:
        names = ", ".join(policy.source_names()) or "none (the operator sets RELEASE_TRAIN_SOURCES)"
        error((*at, "source"), f"{name}.source: {source!r} is not one of the operator's "
              f"sources: {names}")  # fmt: skip
    if not isinstance(url, str) or not url:
        return
    default = policy.prometheus if at == ("prometheus",) else None
    own = default is not None and default.origin == origin_of(url)
    why = "" if own else url_problem(url, policy)
    if not why and resolve and not own and policy.mode is Mode.APP:
        why = _resolved_problem(url, policy)
    if why:
        error((*at, url_key), f"{name}.{url_key}: refused: {why}")


def _resolved_problem(url: str, policy: OutboundPolicy) -> str:
    """Why `url`'s host resolves somewhere the App may not go ("" when it does not)."""
    _, host, port = origin_of(url)
    try:
        found = policy.resolver(host, port)
    except ExternalError as exc:
        return exc.message
    for ip in found:
        why = connect_problem(ip, port, policy)
        if why:
            return f"{host} resolves to a refused address: {why}"
    return ""
