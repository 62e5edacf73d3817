"""Where registry requests go and with which credentials (pure; nothing is sent)."""

from __future__ import annotations

import pytest

from bot.adapters.registry_auth import (
    parse_challenge,
    realm_endpoint,
    registry_endpoint,
)
from bot.config.imageref import parse_image
from bot.config.outbound import Endpoint, Mode, OutboundPolicy, OutboundRefused

GHCR = Endpoint("https://ghcr.io", "source ghcr", trusted=True, basic_auth=("u", "p"))
HUB = Endpoint("https://index.docker.io", "source hub", trusted=True, basic_auth=("u", "p"))
PLAIN = Endpoint("http://registry.internal:5000", "source internal", trusted=True,
                 basic_auth=("u", "p"))  # fmt: skip


def test_challenge_values_may_hold_commas_and_quotes() -> None:
    found = parse_challenge(
        'Bearer realm="https://auth.example/token",service="reg",'
        'scope="repository:a/b:pull,push",error="insufficient_scope"'
    )
    assert found is not None and found.scheme == "bearer"
    assert found.get("scope") == "repository:a/b:pull,push"
    assert found.get("realm") == "https://auth.example/token"
    assert parse_challenge('Basic realm="x"') == parse_challenge('basic  realm="x"')
    assert parse_challenge("") is None


def test_the_operators_source_lends_credentials_by_origin() -> None:
    policy = OutboundPolicy(sources=(GHCR, HUB, PLAIN))
    endpoint, source = registry_endpoint(parse_image("ghcr.io/acme/app"), policy)
    assert (endpoint.url, source) == ("https://ghcr.io", GHCR) and endpoint.trusted
    assert endpoint.basic_auth is None  # sent only when a challenge asks
    _, hub = registry_endpoint(parse_image("nginx"), policy)
    assert hub == HUB  # docker.io, index.docker.io and registry-1.docker.io are one
    plain, _ = registry_endpoint(parse_image("registry.internal:5000/team/app"), policy)
    assert plain.url == "http://registry.internal:5000"
    other, none = registry_endpoint(parse_image("registry.internal:5001/team/app"), policy)
    assert none is None and other.url == "https://registry.internal:5001" and not other.trusted


def test_loopback_registries_are_plain_http() -> None:
    endpoint, _ = registry_endpoint(parse_image("localhost:5000/app"), OutboundPolicy())
    assert endpoint.url == "http://localhost:5000"
    endpoint, _ = registry_endpoint(parse_image("127.0.0.1:5000/app"), OutboundPolicy())
    assert endpoint.url == "http://127.0.0.1:5000"


def test_the_app_refuses_registries_the_operator_did_not_allow() -> None:
    app = OutboundPolicy(mode=Mode.APP, sources=(GHCR,))
    assert registry_endpoint(parse_image("ghcr.io/acme/app"), app)[1] == GHCR
    with pytest.raises(OutboundRefused, match="RELEASE_TRAIN_ALLOW_URLS"):
        registry_endpoint(parse_image("quay.io/acme/app"), app)
    allowed = OutboundPolicy(mode=Mode.APP, allow_urls=("quay.io",))
    assert registry_endpoint(parse_image("quay.io/acme/app"), allowed)[0].url == "https://quay.io"
    with pytest.raises(OutboundRefused, match="loopback"):
        registry_endpoint(parse_image("localhost:5000/app"), OutboundPolicy(mode=Mode.APP,
                          allow_urls=("*",)))  # fmt: skip


def test_credentials_go_to_a_realm_only_over_https_or_on_the_registry_origin() -> None:
    registry = Endpoint("http://registry.internal:5000", "source internal", trusted=True)
    https = realm_endpoint("https://auth.example/token", registry, PLAIN)
    assert https.basic_auth == ("u", "p") and not https.trusted
    plain_other = realm_endpoint("http://auth.example/token", registry, PLAIN)
    assert plain_other.basic_auth is None
    other_port = realm_endpoint("http://registry.internal:5001/token", registry, PLAIN)
    assert other_port.basic_auth is None and not other_port.trusted
    same = realm_endpoint("http://registry.internal:5000/token", registry, PLAIN)
    assert same.basic_auth == ("u", "p") and same.trusted
