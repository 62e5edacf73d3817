"""Who may read what the server exposes besides webhooks (pure decisions, no Flask).

`/metrics` is for the operator's Prometheus: with a ``METRICS_TOKEN`` it wants
``Authorization: Bearer <token>`` (compared in constant time); without one it answers only
requests from a loopback address that did not come through a proxy (a request carrying
``Forwarded`` / ``X-Forwarded-For`` / ``X-Real-IP`` is a proxied one, whatever the peer).
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping

PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def is_local(remote_addr: str | None, headers: Mapping[str, str]) -> bool:
    """True for a request from this machine (a loopback peer) that no proxy forwarded."""
    try:
        peer = ipaddress.ip_address((remote_addr or "").strip("[]"))
    except ValueError:
        return False
    if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped is not None:
        peer = peer.ipv4_mapped
    if not peer.is_loopback:
        return False
    lowered = {k.lower() for k in headers}
    return not any(h in lowered for h in PROXY_HEADERS)


def bearer(headers: Mapping[str, str]) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None."""
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    scheme, _, token = value.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def metrics_allowed(
    expected_token: str, remote_addr: str | None, headers: Mapping[str, str]
) -> bool:
    """May this request read `/metrics`? The token when one is set, else loopback only."""
    if expected_token:
        given = bearer(headers) or ""
        return hmac.compare_digest(given.encode(), expected_token.encode())
    return is_local(remote_addr, headers)
