"""Over real HTTP, against catcher servers on 127.0.0.1: what a repository's configuration
can and cannot make the bot send, and where.

The environment holds the App's secrets and the operator's credentials; every catcher
records every byte it receives, and no configuration gets any of those values out."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.adapters.prometheus import client_from_config
from bot.config.load import analyse, load_config_text
from bot.config.model import Prometheus
from bot.config.operator import outbound_from_env
from bot.config.outbound import Mode, OutboundPolicy, OutboundRefused
from bot.errors import ConfigError, ExternalError

from .catcher import Catcher

AT = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
SECRETS = {
    "APP_ID": "424242",
    "PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----\nMIIEsecretkeymaterial\n-----END PRIVATE KEY-----",
    "WEBHOOK_SECRET": "whsec-do-not-leak",
    "PROMETHEUS_TOKEN": "prom-operator-token",
    "PROM_EU_TOKEN": "eu-source-token",
    "GITHUB_TOKEN": "ghs_workflowtoken",
}
BASE = """\
version: 1
trains: [{name: web, label: "train:next", cadence: "0 9 * * 1", base: main}]
services: [{name: web, image: ghcr.io/acme/web}]
stages: [{name: staging, soak: 10m}]
"""


def leaked(catcher: Catcher) -> list[str]:
    """Secret values (and their base64 forms, as in basic auth) found in what it received."""
    raw = catcher.raw()
    found = []
    for name, value in SECRETS.items():
        forms = [value, base64.b64encode(value.encode()).decode()]
        forms += [base64.b64encode(f"{a}:{b}".encode()).decode() for a in SECRETS.values()
                  for b in (value,)]  # fmt: skip
        if any(form in raw for form in forms):
            found.append(name)
    return found


def query_with(config_text: str, policy: OutboundPolicy) -> None:
    """Load the configuration under `policy` and run one SLO query, as the bot would."""
    config = load_config_text(config_text, ".github/release-train.yml", outbound=policy)
    with client_from_config(config.prometheus, policy, retries=0) as client:
        client.query("up", AT)


def env_with(**extra: str) -> dict[str, str]:
    return {**SECRETS, **extra}


@pytest.mark.parametrize(
    "section",
    [
        # the old keys that named environment variables: refused at load
        "prometheus: {url: CATCHER, token_env: WEBHOOK_SECRET}",
        "prometheus: {url: CATCHER, username_env: APP_ID, password_env: WEBHOOK_SECRET}",
        "prometheus: {url: CATCHER, password_env: PRIVATE_KEY}",
        # credentials in headers: refused at load
        "prometheus: {url: CATCHER, headers: {Authorization: Bearer x}}",
        "prometheus: {url: CATCHER, headers: {Cookie: session=1}}",
        "prometheus: {url: CATCHER, headers: {Host: metadata.google.internal}}",
        "prometheus: {url: CATCHER, headers: {Proxy-Authorization: Basic eA==}}",
    ],
)
def test_configs_that_reach_for_secrets_are_refused_and_send_nothing(
    catchers: list[Catcher], section: str
) -> None:
    catcher = catchers[0]
    policy = outbound_from_env(env_with(PROMETHEUS_URL=catchers[1].url))
    with pytest.raises(ConfigError) as info:
        query_with(BASE + section.replace("CATCHER", catcher.url) + "\n", policy)
    assert all(p.line > 1 for p in info.value.problems), info.value.message
    assert catcher.connections == 0 and catchers[1].connections == 0


@pytest.mark.parametrize(
    "section",
    [
        "prometheus: {url: CATCHER}",
        "prometheus: {url: CATCHER, headers: {X-Api-Key: WEBHOOK_SECRET}}",  # a literal value
        "prometheus: {url: 'CATCHER/$PROMETHEUS_TOKEN/${WEBHOOK_SECRET}'}",  # no expansion
    ],
)
def test_a_repository_url_gets_no_operator_credentials(
    catchers: list[Catcher], section: str
) -> None:
    """Operator mode (CLI/Action) may reach any URL the configuration names, loopback too,
    but the operator's credentials stay bound to the operator's own URL."""
    repo_chosen, operator = catchers[0], catchers[1]
    env = env_with(PROMETHEUS_URL=operator.url)
    query_with(BASE + section.replace("CATCHER", repo_chosen.url) + "\n", outbound_from_env(env))
    assert len(repo_chosen.requests) == 1
    assert "authorization" not in {k.lower() for k in repo_chosen.requests[0]["headers"]}
    assert leaked(repo_chosen) == [] and operator.connections == 0


def test_the_operators_credentials_go_to_the_operators_url(catchers: list[Catcher]) -> None:
    operator = catchers[0]
    query_with(BASE, outbound_from_env(env_with(PROMETHEUS_URL=operator.url)))
    assert operator.requests[0]["headers"]["Authorization"] == "Bearer prom-operator-token"


def sources_file(tmp_path: Path, url: str) -> str:
    path = tmp_path / "sources.yml"
    path.write_text(
        "sources:\n"
        "  prod-eu:\n"
        f"    url: {url}\n"
        "    token_env: PROM_EU_TOKEN\n"
        "    headers: {X-Scope-OrgID: acme}\n"
    )
    return str(path)


def test_a_named_source_brings_the_operators_url_and_credentials(
    catchers: list[Catcher], tmp_path: Path
) -> None:
    source = catchers[0]
    env = env_with(RELEASE_TRAIN_SOURCES=sources_file(tmp_path, source.url))
    policy = outbound_from_env(env, Mode.APP)  # an operator source on loopback: allowed
    query_with(BASE + "prometheus: {source: prod-eu, headers: {X-Team: web}}\n", policy)
    headers = source.requests[0]["headers"]
    assert headers["Authorization"] == "Bearer eu-source-token"
    assert headers["X-Scope-OrgID"] == "acme" and headers["X-Team"] == "web"


def test_a_redirect_away_from_a_source_carries_no_credentials(
    catchers: list[Catcher], tmp_path: Path
) -> None:
    source, elsewhere = catchers[0], catchers[1]
    source.redirect_to = elsewhere.url + "/api/v1/query?query=up"
    env = env_with(RELEASE_TRAIN_SOURCES=sources_file(tmp_path, source.url))
    query_with(BASE + "prometheus: {source: prod-eu}\n", outbound_from_env(env))  # operator
    assert len(elsewhere.requests) == 1
    assert {k.lower() for k in elsewhere.requests[0]["headers"]}.isdisjoint(
        {"authorization", "x-scope-orgid"}
    )
    assert leaked(elsewhere) == []


def test_app_mode_does_not_follow_a_redirect_to_loopback(
    catchers: list[Catcher], tmp_path: Path
) -> None:
    source, internal = catchers[0], catchers[1]
    source.redirect_to = internal.url + "/admin"
    env = env_with(RELEASE_TRAIN_SOURCES=sources_file(tmp_path, source.url))
    with pytest.raises(OutboundRefused, match="loopback"):
        query_with(BASE + "prometheus: {source: prod-eu}\n", outbound_from_env(env, Mode.APP))
    assert len(source.requests) == 1 and internal.connections == 0


@pytest.mark.parametrize("allow", ["", "*"])
def test_app_mode_refuses_a_loopback_url_before_connecting(
    catchers: list[Catcher], allow: str
) -> None:
    catcher = catchers[0]
    policy = outbound_from_env(env_with(RELEASE_TRAIN_ALLOW_URLS=allow), Mode.APP)
    with pytest.raises(ConfigError) as info:
        query_with(BASE + f"prometheus:\n  url: {catcher.url}\n", policy)
    [problem] = info.value.problems
    assert (problem.line, problem.col) == (6, 8) and "refused" in problem.message
    assert catcher.connections == 0


def test_app_mode_refuses_a_hostname_that_resolves_to_loopback(catchers: list[Catcher]) -> None:
    """DNS rebinding: the name looked public when the configuration was checked, then
    answers loopback; the connection goes to the address checked, so nothing is sent."""
    catcher = catchers[0]
    answers = iter([["8.8.8.8"], ["127.0.0.1"]])
    policy = OutboundPolicy(Mode.APP, allow_urls=("*",), resolver=lambda host, port: next(answers))
    url = f"http://prom.rebind.example:{catcher.port}"
    text = BASE + f"prometheus: {{url: '{url}'}}\n"
    assert analyse(text, "c.yml", outbound=policy, resolve=True).errors == []  # looked public
    config = load_config_text(text, "c.yml", outbound=policy)
    with (
        pytest.raises(OutboundRefused, match=r"127\.0\.0\.1 is a loopback"),
        client_from_config(config.prometheus, policy, retries=0) as client,
    ):
        client.query("up", AT)
    assert catcher.connections == 0


@pytest.mark.parametrize("answer", ["169.254.169.254", "10.0.0.7", "fd00::1", "100.100.1.1"])
def test_app_mode_refuses_a_hostname_resolving_to_an_internal_address(answer: str) -> None:
    policy = OutboundPolicy(Mode.APP, allow_urls=("*",), resolver=lambda host, port: [answer])
    with (
        pytest.raises(OutboundRefused, match="refused to connect"),
        client_from_config(Prometheus(url="http://metadata.example"), policy, retries=0) as c,
    ):
        c.query("up", AT)


def test_the_slo_judge_holds_with_the_refusal_as_its_reason(catchers: list[Catcher]) -> None:
    """At promotion time (App mode), a name that now resolves to loopback gives an `error`
    verdict that says why: the train holds, never promotes, and nothing is sent."""
    from bot.adapters.prometheus import prometheus_for
    from bot.core.slo import evaluate

    catcher = catchers[0]
    policy = OutboundPolicy(Mode.APP, allow_urls=("*",), resolver=lambda h, p: ["127.0.0.1"])
    text = BASE + (
        "slos: [{name: errors, error_ratio: 'sum(rate(e[{window}])) / sum(rate(r[{window}]))'}]\n"
        f"prometheus: {{url: 'http://prom.example:{catcher.port}'}}\n"
    )
    config = load_config_text(text, "c.yml", outbound=policy)
    client = prometheus_for(config, None, policy)
    try:
        result = evaluate(client, config.slos[0], "staging", "web", AT, None)
    finally:
        client.close()
    assert result.verdict.value == "error"
    assert "refused to connect to prom.example" in result.reason
    assert catcher.connections == 0


def test_a_huge_answer_is_refused_not_buffered(catchers: list[Catcher]) -> None:
    """Bounded work per untrusted input: the body is read in chunks up to a limit."""
    from bot.adapters.guarded_http import GuardedClient
    from bot.config.outbound import Endpoint

    catcher = catchers[0]
    catcher.body = b"x" * 300_000
    endpoint = Endpoint(catcher.url, "prometheus.url")
    with (
        GuardedClient(endpoint, OutboundPolicy(), max_bytes=100_000) as client,
        pytest.raises(ExternalError, match="larger than 100000 bytes"),
    ):
        client.request("GET", catcher.url + "/api/v1/query")


def test_a_gzipped_answer_is_decoded_once(catchers: list[Catcher]) -> None:
    catcher = catchers[0]
    catcher.gzip = True
    with client_from_config(Prometheus(url=catcher.url), OutboundPolicy(), retries=0) as c:
        assert c.query("up", AT).values() == [0.25]
