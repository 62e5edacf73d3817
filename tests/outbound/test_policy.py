"""The outbound policy's decisions, as values: which addresses, URLs, headers and sources a
repository's configuration may use, in App mode and in operator (CLI/Action) mode."""

from __future__ import annotations

import pytest

from bot.config.outbound import (
    Endpoint,
    Mode,
    OutboundPolicy,
    OutboundRefused,
    address_problem,
    addresses_for,
    choose_endpoint,
    connect_problem,
    host_allowed,
    repo_header_problem,
    url_problem,
)

APP_ANY = OutboundPolicy(Mode.APP, allow_urls=("*",))


@pytest.mark.parametrize(
    ("ip", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "private"),
        ("fd00::1", "private"),
        ("fc00::1", "private"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped IPv6
        ("::ffff:169.254.169.254", "link-local"),
        ("240.0.0.1", "reserved"),
    ],
)
def test_internal_addresses_are_refused_with_a_reason(ip: str, why: str) -> None:
    assert why in address_problem(ip)


@pytest.mark.parametrize("ip", ["8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "172.32.0.1"])
def test_public_addresses_are_allowed(ip: str) -> None:
    assert address_problem(ip) == ""


def test_the_servers_own_listener_is_refused() -> None:
    policy = OutboundPolicy(Mode.APP, listeners=(("8.8.8.8", 3000),))
    assert "own listener" in connect_problem("8.8.8.8", 3000, policy)
    assert connect_problem("8.8.8.8", 3001, policy) == ""


def test_app_mode_refuses_urls_the_operator_did_not_allow() -> None:
    policy = OutboundPolicy(Mode.APP, sources=(Endpoint("http://p", "source prod", True),))
    why = url_problem("https://prometheus.example.com", policy)
    assert "only the operator's sources" in why and "prod" in why
    allowed = OutboundPolicy(Mode.APP, allow_urls=("*.example.com",))
    assert url_problem("https://prometheus.example.com", allowed) == ""
    assert url_problem("https://example.org", allowed) != ""


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9090",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.8",
        "http://[::1]:9090",
        "http://[fd00::5]",
        "http://localhost:3000",
        "http://app.localhost",
        "http://0.0.0.0:3000",
    ],
)
def test_app_mode_refuses_internal_literal_urls_even_when_any_host_is_allowed(url: str) -> None:
    assert url_problem(url, APP_ANY) != ""


def test_operator_mode_may_reach_loopback() -> None:
    assert url_problem("http://127.0.0.1:9090", OutboundPolicy()) == ""


def test_urls_may_not_carry_credentials_in_any_mode() -> None:
    assert "credentials" in url_problem("http://u:p@prom.example", OutboundPolicy())
    assert "http(s)" in url_problem("file:///etc/passwd", OutboundPolicy())


def test_host_patterns() -> None:
    assert host_allowed("a.grafana.net", ["*.grafana.net"])
    assert not host_allowed("grafana.net.evil.com", ["*.grafana.net"])
    assert host_allowed("ANY.host", ["*"])
    assert not host_allowed("x", [])


@pytest.mark.parametrize("name", ["Authorization", "cookie", "HOST", "Proxy-Authorization"])
def test_credential_headers_are_refused(name: str) -> None:
    assert "may not be set" in repo_header_problem(name)


def test_other_headers_are_fine() -> None:
    assert repo_header_problem("X-Scope-OrgID") == ""


def test_a_hostname_resolving_to_an_internal_address_is_refused_before_connecting() -> None:
    policy = OutboundPolicy(
        Mode.APP, allow_urls=("*",), resolver=lambda host, port: ["8.8.8.8", "10.1.2.3"]
    )
    with pytest.raises(OutboundRefused, match=r"10\.1\.2\.3 is a private"):
        addresses_for("prom.example", 443, policy, trusted=False)


def test_operator_sources_may_be_anywhere() -> None:
    policy = OutboundPolicy(Mode.APP, resolver=lambda host, port: ["127.0.0.1"])
    assert addresses_for("prom.internal", 9090, policy, trusted=True) == ["127.0.0.1"]


def test_credentials_are_bound_to_the_operators_origin() -> None:
    default = Endpoint("https://prom.ops:9090", "PROMETHEUS_URL", True, token="t0ken")
    policy = OutboundPolicy(Mode.OPERATOR, prometheus=default)

    def chosen(url: str) -> Endpoint | None:
        return choose_endpoint("prometheus", source="", url=url, headers=(), policy=policy,
                               default=default)  # fmt: skip

    same = chosen("https://prom.ops:9090/")
    assert same is not None and same.token == "t0ken"
    for elsewhere in ("https://evil.example", "http://prom.ops:9090", "https://prom.ops:9091"):
        other = chosen(elsewhere)
        assert other is not None and other.token is None and not other.trusted


def test_an_unknown_source_names_the_operators_sources() -> None:
    policy = OutboundPolicy(sources=(Endpoint("http://a", "source prod-eu", True),))
    message = "'nope' is not one of the operator's sources: prod-eu"
    with pytest.raises(OutboundRefused, match=message):
        choose_endpoint("prometheus", source="nope", url="", headers=(), policy=policy)


def test_repository_headers_never_override_credentials() -> None:
    source = Endpoint("http://a", "source s", True, token="x", headers=(("X-Scope-OrgID", "ops"),))
    policy = OutboundPolicy(sources=(source,))
    got = choose_endpoint(
        "prometheus",
        source="s",
        url="",
        headers=(("Authorization", "Basic Zm9v"), ("X-Scope-OrgID", "repo"), ("X-Team", "a")),
        policy=policy,
    )
    assert got is not None
    assert dict(got.headers) == {"X-Scope-OrgID": "ops", "X-Team": "a"}


def test_app_mode_accepts_the_operators_own_url_in_the_config() -> None:
    default = Endpoint("http://127.0.0.1:9090", "PROMETHEUS_URL", True, token="t")
    policy = OutboundPolicy(Mode.APP, prometheus=default)
    got = choose_endpoint("prometheus", source="", url="http://127.0.0.1:9090/", headers=(),
                          policy=policy, default=default)  # fmt: skip
    assert got is not None and got.trusted and got.token == "t"


def test_a_configured_timeout_is_cut_to_a_minute() -> None:
    from datetime import timedelta

    from bot.adapters.prometheus import MAX_TIMEOUT, client_from_config
    from bot.config.model import Prometheus

    config = Prometheus(url="http://127.0.0.1:1", timeout=timedelta(hours=1))
    with client_from_config(config, OutboundPolicy()) as client:
        assert client.timeout == MAX_TIMEOUT == 60.0


def test_secrets_to_redact_are_the_credentials_not_every_header() -> None:
    endpoint = Endpoint(
        "http://p",
        "source s",
        True,
        token="tok-123",
        basic_auth=("admin", "pw-456"),
        headers=(("X-Scope-OrgID", "acme"), ("X-Api-Key", "k" * 24)),
    )
    assert set(endpoint.secrets()) == {"tok-123", "pw-456", "k" * 24}
