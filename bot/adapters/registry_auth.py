"""Where a registry's requests go and with which credentials (the outbound policy's rules),
and the `WWW-Authenticate` challenges registries answer with.

Credentials come only from the operator: a source in RELEASE_TRAIN_SOURCES whose `url`
is the registry's origin (`https://ghcr.io`, `https://registry-1.docker.io`, or
`http://registry.internal:5000` for a plain-HTTP one) lends its `username_env` +
`password_env` (sent on a Basic challenge, or to a Bearer challenge's token realm) or its
`token_env` (sent as a Bearer token). A repository's configuration only names images.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from bot.config.imageref import DOCKER_HUB_API, ImageRef
from bot.config.outbound import Endpoint, OutboundPolicy, OutboundRefused, url_problem
from bot.errors import ExternalError

_HUB_HOSTS = ("registry-1.docker.io", "docker.io", "index.docker.io")
_PARAM = re.compile(r'\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?')


@dataclass(frozen=True)
class Challenge:
    """One `WWW-Authenticate` challenge: scheme (lowercase) and its parameters."""

    scheme: str
    params: tuple[tuple[str, str], ...] = ()

    def get(self, key: str) -> str:
        return dict(self.params).get(key, "")


def parse_challenge(header: str) -> Challenge | None:
    """The first challenge of a `WWW-Authenticate` header (None when there is none)."""
    scheme, _, rest = header.strip().partition(" ")
    if not scheme:
        return None
    params = [
        (m.group(1).lower(), m.group(2) if m.group(2) is not None else m.group(3))
        for m in _PARAM.finditer(rest)
    ]
    return Challenge(scheme.lower(), tuple((k, v.replace('\\"', '"')) for k, v in params))


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_port(url: str) -> str:
    from bot.config.outbound import origin_of

    scheme, host, port = origin_of(url)
    default = 443 if scheme == "https" else 80
    shown = f"[{host}]" if ":" in host else host
    return shown if port == default else f"{shown}:{port}"


def operator_source(ref: ImageRef, policy: OutboundPolicy) -> Endpoint | None:
    """The operator's source for the registry of `ref`, matched by host and port."""
    wanted = {ref.api_host.lower()}
    if ref.api_host == DOCKER_HUB_API:
        wanted |= set(_HUB_HOSTS)
    return next((s for s in policy.sources if _host_port(s.url) in wanted), None)


def registry_endpoint(ref: ImageRef, policy: OutboundPolicy) -> tuple[Endpoint, Endpoint | None]:
    """(the endpoint the registry's API is asked through, without credentials; the
    operator's source that holds its credentials, or None). Plain HTTP only for loopback
    hosts (as Docker) or when the operator's source says `http://`. A registry no operator
    source names is refused in App mode unless RELEASE_TRAIN_ALLOW_URLS allows its host."""
    source = operator_source(ref, policy)
    if source is not None:
        scheme = source.url.split("://", 1)[0].lower()
        url = f"{scheme}://{ref.api_host}"
        return Endpoint(url, source.label, trusted=True, verify=source.verify), source
    scheme = "http" if _is_loopback(ref.host) else "https"
    url = f"{scheme}://{ref.api_host}"
    why = url_problem(url, policy)
    if why:
        raise OutboundRefused(f"registry {ref.api_host}: {why}")
    return Endpoint(url, f"registry {ref.api_host}", trusted=False), None


def credential_hint(ref: ImageRef, source: Endpoint | None, status: int) -> str:
    """What to set when the registry said 401/403."""
    if source is None:
        return (
            f"registry {ref.api_host} refused anonymous access to {ref.repository} (HTTP "
            f"{status}): set credentials for it: a source with url https://{ref.api_host} "
            "and username_env + password_env (or token_env) in the operator's "
            "RELEASE_TRAIN_SOURCES file (or check that the repository exists)"
        )
    return (
        f"registry {ref.api_host} refused the credentials of {source.label} for "
        f"{ref.repository} (HTTP {status}): check the variables its username_env + "
        "password_env (or token_env) name, and that they may pull this repository"
    )


def auth_error(ref: ImageRef, source: Endpoint | None, status: int) -> ExternalError:
    return ExternalError("registry", credential_hint(ref, source, status), status=status)


def realm_endpoint(realm: str, registry: Endpoint, source: Endpoint | None) -> Endpoint:
    """Where a Bearer challenge's token is fetched. The operator's basic credentials go to
    the realm only over HTTPS, or to the registry's own origin; the realm is trusted (skips
    the App-mode address check) only when it is the registry's own trusted origin."""
    from bot.config.outbound import origin_of

    scheme, host, _ = origin_of(realm)
    if scheme not in ("http", "https") or not host:
        raise ExternalError("registry", f"the token realm {realm!r} is not an http(s) URL")
    same_origin = origin_of(realm) == origin_of(registry.url)
    creds = None
    if source is not None and source.basic_auth and (scheme == "https" or same_origin):
        creds = source.basic_auth
    return Endpoint(
        realm, f"token realm of {registry.label}", trusted=registry.trusted and same_origin,
        basic_auth=creds, verify=registry.verify,
    )  # fmt: skip
