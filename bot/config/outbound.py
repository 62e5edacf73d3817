"""The one outbound policy: where the bot may send a request, and with which credentials.

Every adapter that a repository's configuration can point somewhere (Prometheus today;
the registry, Argo CD and Grafana as they land) asks this module, and connects only
through `bot.adapters.guarded_http`, which applies the same rules at connect time.

- **Credentials come only from the operator** (`Endpoint` values built from the
  operator's environment and sources file by `bot.config.operator`), and are sent only to
  the origin the operator bound them to. A repository configuration names a source; it
  never names an environment variable and never carries a secret.
- **`Mode.OPERATOR`** (CLI, GitHub Action: the person running the command is the
  operator) reaches any address; `Mode.APP` (`serve`: one process for every installed
  repository) reaches the operator's sources, and repository-chosen URLs only when the
  operator allows their host (`allow_urls`), and even then never loopback, link-local,
  private, shared (100.64/10), unspecified, multicast or reserved addresses, nor the
  server's own listeners. The check runs on the *resolved* address, and the connection
  goes to that same address (no second lookup: DNS rebinding cannot slip in between).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from enum import Enum
from fnmatch import fnmatchcase
from urllib.parse import urlsplit

from bot.errors import ExternalError

# Headers a repository may never set: they carry credentials or choose the target.
FORBIDDEN_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "host"})

Resolver = Callable[[str, int], list[str]]
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_NOT_PUBLIC = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",  # "this network", unspecified
        "10.0.0.0/8",
        "100.64.0.0/10",  # shared address space (carrier-grade NAT)
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata (169.254.169.254)
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "fc00::/7",  # unique local (fd00::/8 within it)
        "fe80::/10",
        "ff00::/8",
    )
)


class Mode(Enum):
    """Who chose the configuration relative to who runs the bot."""

    OPERATOR = "operator"  # CLI and Action: the user runs the bot on their own config
    APP = "app"  # serve: one server, many repositories' configs


class OutboundRefused(ExternalError):
    """A request the outbound policy refused before anything was sent."""

    def __init__(self, message: str) -> None:
        super().__init__("outbound", message)


@dataclass(frozen=True)
class Endpoint:
    """Somewhere the bot may send requests. `trusted`: the operator chose the URL (its
    credentials and headers go to this origin only); False: a repository chose it."""

    url: str
    label: str  # what chose it, for messages: "source prod-eu", "prometheus.url", ...
    trusted: bool = False
    token: str | None = field(default=None, repr=False)
    basic_auth: tuple[str, str] | None = field(default=None, repr=False)
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    verify: bool | str = True

    @property
    def origin(self) -> tuple[str, str, int]:
        return origin_of(self.url)

    def secrets(self) -> tuple[str, ...]:
        """Values to redact from logs: the token, the password, and header values long
        enough to be keys (a short one such as an org id would blank out ordinary words)."""
        password = self.basic_auth[1] if self.basic_auth else ""
        values = [self.token or "", password, *(v for _, v in self.headers if len(v) >= 12)]
        return tuple(v for v in values if v)


def system_resolver(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (the system resolver), as text."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ExternalError("outbound", f"cannot resolve {host}: {exc}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class OutboundPolicy:
    """The operator's outbound settings and the mode the bot runs in."""

    mode: Mode = Mode.OPERATOR
    sources: tuple[Endpoint, ...] = ()  # by name: `label` is "source NAME"
    prometheus: Endpoint | None = None  # PROMETHEUS_URL (+ PROMETHEUS_TOKEN, ...)
    allow_urls: tuple[str, ...] = ()  # host patterns repository URLs may name (App mode)
    listeners: tuple[tuple[str, int], ...] = ()  # this server's own (host, port)
    resolver: Resolver = field(default=system_resolver, compare=False, repr=False)

    def source(self, name: str) -> Endpoint | None:
        return next((s for s in self.sources if s.label == f"source {name}"), None)

    def source_names(self) -> list[str]:
        return [s.label.removeprefix("source ") for s in self.sources]

    def secrets(self) -> tuple[str, ...]:
        found = [*(s for e in self.sources for s in e.secrets())]
        if self.prometheus is not None:
            found += self.prometheus.secrets()
        return tuple(dict.fromkeys(found))


def origin_of(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL, the unit credentials are bound to."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or (443 if scheme == "https" else 80)


def _address(text: str) -> Address | None:
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    mapped = getattr(ip, "ipv4_mapped", None)
    return mapped or ip


def address_problem(text: str) -> str:
    """Why a repository-chosen URL may not reach this address in App mode ("" when it may)."""
    ip = _address(text)
    if ip is None:
        return f"{text} is not an IP address"
    if ip.is_loopback:
        return f"{ip} is a loopback address"
    if ip.is_link_local:
        return f"{ip} is a link-local address (cloud metadata lives there)"
    if ip.is_unspecified:
        return f"{ip} is the unspecified address"
    if ip.is_multicast:
        return f"{ip} is a multicast address"
    if any(ip in net for net in _NOT_PUBLIC if net.version == ip.version):
        return f"{ip} is a private or reserved address"
    if ip.is_private or ip.is_reserved:
        return f"{ip} is a private or reserved address"
    return ""


def host_allowed(host: str, patterns: Iterable[str]) -> bool:
    """`host` matches one of the operator's `allow_urls` patterns (`*` any host,
    `*.example.com` its subdomains, else the exact name)."""
    host = host.lower().rstrip(".")
    return any(fnmatchcase(host, p.lower().strip()) for p in patterns if p.strip())


def url_problem(url: str, policy: OutboundPolicy) -> str:
    """Why a repository-chosen `url` is refused before any lookup ("" when it may be
    tried: the addresses it resolves to are checked at connect time)."""
    scheme, host, _ = origin_of(url)
    if scheme not in ("http", "https") or not host:
        return f"{url!r} is not an http(s) URL with a host"
    if urlsplit(url).username or urlsplit(url).password:
        return "a URL may not carry credentials (user:password@); the operator supplies them"
    if policy.mode is Mode.OPERATOR:
        return ""
    if not host_allowed(host, policy.allow_urls):
        names = ", ".join(policy.source_names()) or "none defined"
        return (
            f"this server reaches only the operator's sources (prometheus.source: one of "
            f"{names}); {host} is not in the operator's RELEASE_TRAIN_ALLOW_URLS"
        )
    if host == "localhost" or host.endswith(".localhost"):
        return f"{host} is a loopback name"
    return address_problem(host) if _address(host) is not None else ""


def connect_problem(ip: str, port: int, policy: OutboundPolicy) -> str:
    """Why an untrusted connection to `ip:port` is refused in App mode ("" when allowed)."""
    why = address_problem(ip)
    if why:
        return why
    for host, listen_port in policy.listeners:
        if port != listen_port:
            continue
        bound = _address(host)
        if (bound is not None and bound == _address(ip)) or (
            (bound is None or bound.is_unspecified) and _is_local(ip)
        ):
            return f"{ip}:{port} is this server's own listener"
    return ""


def _is_local(ip: str) -> bool:
    """Whether `ip` belongs to this machine: binding to it works only then (nothing sent)."""
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((ip, 0))
    except OSError:
        return False
    return True


def addresses_for(host: str, port: int, policy: OutboundPolicy, *, trusted: bool) -> list[str]:
    """The addresses to connect to for `host:port`: resolved once, each checked (App mode,
    untrusted); refused with `OutboundRefused` before any connection when none may be used."""
    literal = _address(host)
    found = [str(literal)] if literal is not None else policy.resolver(host, port)
    if trusted or policy.mode is Mode.OPERATOR:
        return found
    refused = [why for ip in found if (why := connect_problem(ip, port, policy))]
    if refused or not found:
        why = refused[0] if refused else "no address"
        raise OutboundRefused(f"refused to connect to {host}:{port}: {why}")
    return found


def repo_header_problem(name: str) -> str:
    """Why a repository may not set header `name` ("" when it may)."""
    if name.lower() in FORBIDDEN_HEADERS:
        return (
            f"header {name!r} may not be set in the configuration: credentials and the target "
            "come from the operator (see docs/threat-model.md)"
        )
    return ""


def _merged_headers(
    repo: Iterable[tuple[str, str]], operator: Iterable[tuple[str, str]]
) -> tuple[tuple[str, str], ...]:
    """The repository's headers under the operator's (the operator's win on a clash)."""
    ours = {k.lower(): (k, v) for k, v in repo if not repo_header_problem(k)}
    ours.update({k.lower(): (k, v) for k, v in operator})
    return tuple(sorted(ours.values()))


def choose_endpoint(
    what: str,
    *,
    source: str,
    url: str,
    headers: Iterable[tuple[str, str]],
    policy: OutboundPolicy,
    default: Endpoint | None = None,
    verify: bool | str = True,
    url_key: str = "url",
) -> Endpoint | None:
    """Where a configuration section `what` (e.g. "prometheus") sends its requests: the
    operator's source it names, else its `url` (the operator's credentials only when that
    is the operator's own origin, `default`), else `default`. None: nowhere configured.
    Refusals raise `OutboundRefused` naming the key."""
    headers = tuple(headers)
    if source:
        found = policy.source(source)
        if found is None:
            names = ", ".join(policy.source_names()) or "none (set RELEASE_TRAIN_SOURCES)"
            raise OutboundRefused(
                f"{what}.source: {source!r} is not one of the operator's sources: {names}"
            )
        return _with_headers(found, headers)
    if url:
        if default is not None and default.origin == origin_of(url):  # the operator's own
            return _with_headers(replace(default, url=url), headers)
        why = url_problem(url, policy)
        if why:
            raise OutboundRefused(f"{what}.{url_key}: {why}")
        return Endpoint(url, f"{what}.{url_key}", trusted=False,
                        headers=_merged_headers(headers, ()), verify=verify)  # fmt: skip
    return None if default is None else _with_headers(default, headers)


def _with_headers(endpoint: Endpoint, repo: tuple[tuple[str, str], ...]) -> Endpoint:
    return replace(endpoint, headers=_merged_headers(repo, endpoint.headers))
