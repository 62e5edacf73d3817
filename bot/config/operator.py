"""The operator's outbound settings: where the bot may send requests and with which
credentials. Only the operator's environment (and the sources file it names) says this;
a repository's configuration can only pick a source by name.

Environment (the same for `serve`, the Action's inputs and the CLI):

  PROMETHEUS_URL                 the default Prometheus (used when a config names none)
  PROMETHEUS_TOKEN               its bearer token; or PROMETHEUS_USERNAME + PROMETHEUS_PASSWORD
  RELEASE_TRAIN_SOURCES          a YAML file of named sources (below)
  RELEASE_TRAIN_ALLOW_URLS       App only: comma-separated host patterns a repository's own
                                 `url` may name (`*.example.com`, `*` any public host);
                                 internal addresses stay refused

The sources file (Prometheus servers and Argo CD servers alike; a repository's
`prometheus.source` or `stages[].argocd.source` picks one by name)::

    sources:
      prod-eu:
        url: https://prometheus.eu.example.com
        token_env: PROM_EU_TOKEN        # the operator's environment, never the repository's
        # or username_env + password_env
        headers: {X-Scope-OrgID: acme}
        verify_tls: true                # or a CA bundle's path
    allow_urls: ["*.grafana.net"]       # added to RELEASE_TRAIN_ALLOW_URLS
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.config.outbound import Endpoint, Mode, OutboundPolicy, Resolver, system_resolver
from bot.config.yaml_source import YamlDoc, read_yaml
from bot.errors import ConfigError, Problem

WHERE = "environment"
SOURCE_KEYS = ("url", "token_env", "username_env", "password_env", "headers", "verify_tls")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def outbound_from_env(
    env: Mapping[str, str],
    mode: Mode = Mode.OPERATOR,
    *,
    listeners: tuple[tuple[str, int], ...] = (),
    resolver: Resolver = system_resolver,
) -> OutboundPolicy:
    """The operator's `OutboundPolicy` from `env`; every problem at once as a ConfigError
    (the sources file's with FILE:LINE:COL)."""
    problems: list[Problem] = []
    prometheus = _default_prometheus(env, problems)
    sources: tuple[Endpoint, ...] = ()
    allow = _split(env.get("RELEASE_TRAIN_ALLOW_URLS", ""))
    path = env.get("RELEASE_TRAIN_SOURCES", "").strip()
    if path:
        sources, more = _sources_file(Path(path), env, problems)
        allow += more
    if problems:
        raise ConfigError(problems)
    return OutboundPolicy(mode, sources, prometheus, allow, listeners, resolver)


def _split(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


def _http_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def _default_prometheus(env: Mapping[str, str], problems: list[Problem]) -> Endpoint | None:
    url = env.get("PROMETHEUS_URL", "").strip()
    token = env.get("PROMETHEUS_TOKEN", "").strip() or None
    user, password = env.get("PROMETHEUS_USERNAME", ""), env.get("PROMETHEUS_PASSWORD", "")
    if not url:  # the credentials then serve nothing (a sources file may name them)
        return None
    if not _http_url(url):
        problems.append(Problem(f"PROMETHEUS_URL: {url!r} is not an http(s) URL", file=WHERE))
        return None
    if bool(user) != bool(password):
        problems.append(Problem("PROMETHEUS_USERNAME and PROMETHEUS_PASSWORD go together",
                                file=WHERE))  # fmt: skip
    basic = (user, password) if user and password else None
    return Endpoint(url.rstrip("/"), "PROMETHEUS_URL", trusted=True, token=token, basic_auth=basic)


def _sources_file(
    path: Path, env: Mapping[str, str], problems: list[Problem]
) -> tuple[tuple[Endpoint, ...], tuple[str, ...]]:
    name = str(path)
    try:
        text = path.read_bytes()
    except OSError as exc:
        problems.append(Problem(f"RELEASE_TRAIN_SOURCES: cannot read {name}: {exc.strerror}",
                                file=WHERE))  # fmt: skip
        return (), ()
    doc, found = read_yaml(text, name)
    problems += found
    if doc is None or not isinstance(doc.data, dict):
        if doc is not None:
            problems.append(doc.problem((), "expected a mapping with `sources:`"))
        return (), ()
    for key in doc.data:
        if key not in ("sources", "allow_urls"):
            problems.append(
                doc.problem((key,), f"unknown key {key!r}; expected sources, allow_urls")
            )
    allow = doc.data.get("allow_urls") or []
    if not isinstance(allow, list) or not all(isinstance(a, str) for a in allow):
        problems.append(doc.problem(("allow_urls",), "allow_urls: a list of host patterns",
                                    value=True))  # fmt: skip
        allow = []
    raw = doc.data.get("sources") or {}
    if not isinstance(raw, dict):
        problems.append(doc.problem(("sources",), "sources: a mapping of name to source",
                                    value=True))  # fmt: skip
        return (), tuple(allow)
    out = [_source(doc, str(k), v, env, problems) for k, v in raw.items()]
    return tuple(e for e in out if e is not None), tuple(allow)


def _source(
    doc: YamlDoc, name: str, data: Any, env: Mapping[str, str], problems: list[Problem]
) -> Endpoint | None:
    at = ("sources", name)
    before = len(problems)
    if not _NAME.match(name):
        problems.append(doc.problem(at, f"source name {name!r}: letters, digits, . _ -"))
    if not isinstance(data, dict):
        problems.append(doc.problem(at, f"source {name!r}: expected a mapping", value=True))
        return None
    for key in data:
        if key not in SOURCE_KEYS:
            problems.append(doc.problem((*at, key), f"source {name!r}: unknown key {key!r}; "
                                        f"expected one of: {', '.join(SOURCE_KEYS)}"))  # fmt: skip
    if not _http_url(data.get("url")):
        problems.append(doc.problem((*at, "url"), f"source {name!r}: url must be http(s)",
                                    value=True))  # fmt: skip

    def secret(key: str) -> str | None:
        return _secret(doc, (*at, key), f"source {name!r}: {key}", data.get(key), env, problems)

    token, user, password = secret("token_env"), secret("username_env"), secret("password_env")
    headers = data.get("headers") or {}
    if not isinstance(headers, dict):
        problems.append(doc.problem((*at, "headers"), "headers: a mapping", value=True))
        headers = {}
    if len(problems) > before:
        return None
    return Endpoint(
        str(data["url"]).rstrip("/"),
        f"source {name}",
        trusted=True,
        token=token,
        basic_auth=(user or "", password or "") if user or password else None,
        headers=tuple((str(k), str(v)) for k, v in headers.items()),
        verify=data.get("verify_tls", True),
    )


def _secret(
    doc: YamlDoc, at: tuple[str, ...], what: str, var: Any, env: Mapping[str, str],
    problems: list[Problem],
) -> str | None:  # fmt: skip
    """The value of the operator's environment variable `var` (None when not named)."""
    if var is None:
        return None
    value = env.get(str(var), "")
    if not value:
        problems.append(doc.problem(at, f"{what}: the environment variable {var} is not set",
                                    value=True))  # fmt: skip
    return value or None
