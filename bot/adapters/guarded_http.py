"""HTTP through the outbound policy (`bot.config.outbound`), for every adapter a
configuration can point somewhere.

- Each connection resolves its host once, checks every address (App mode, untrusted
  origins) and connects to the checked address itself: no second lookup, so DNS rebinding
  cannot change the answer between the check and the connection.
- Redirects are followed by hand (at most `MAX_REDIRECTS`): each hop's connection is
  checked the same way, and the operator's credentials and headers go only to the
  endpoint's own origin (a redirect elsewhere gets the repository's headers only).
- The environment is not trusted (`trust_env=False`): no proxy variables (a proxy would
  resolve names where the check cannot see) and no `.netrc` credentials.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx
from httpcore._backends.sync import SyncBackend

from bot.config.outbound import (
    Endpoint,
    OutboundPolicy,
    addresses_for,
    origin_of,
)
from bot.errors import ExternalError

MAX_REDIRECTS = 5
MAX_BYTES = 64 * 1024 * 1024  # a response body larger than this is refused, not buffered
_REDIRECTS = (301, 302, 303, 307, 308)


class GuardedBackend(SyncBackend):
    """httpcore's socket backend, connecting only to addresses the policy allows."""

    def __init__(self, policy: OutboundPolicy, trusted: tuple[str, int] | None) -> None:
        self.policy = policy
        self.trusted = trusted  # (host, port) the operator chose, or None

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> Any:
        trusted = self.trusted == (host.lower(), port)
        addresses = addresses_for(host, port, self.policy, trusted=trusted)
        last: Exception | None = None
        for ip in addresses:
            try:
                return super().connect_tcp(ip, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last


class GuardedTransport(httpx.HTTPTransport):
    """`httpx.HTTPTransport` whose connections go through `GuardedBackend`."""

    def __init__(self, policy: OutboundPolicy, endpoint: Endpoint) -> None:
        verify: bool | ssl.SSLContext = True
        if isinstance(endpoint.verify, str):  # a CA bundle's path (the operator's sources)
            verify = ssl.create_default_context(cafile=endpoint.verify)
        else:
            verify = endpoint.verify
        super().__init__(verify=verify, trust_env=False)
        _, host, port = endpoint.origin
        backend = GuardedBackend(policy, (host, port) if endpoint.trusted else None)
        self._pool = httpcore.ConnectionPool(
            ssl_context=self._pool._ssl_context,  # the context httpx built from `verify`
            network_backend=backend,
        )


class GuardedClient:
    """Requests to one `Endpoint` under one `OutboundPolicy`. Use in a ``with`` block."""

    def __init__(
        self,
        endpoint: Endpoint,
        policy: OutboundPolicy,
        *,
        timeout: float = 10.0,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self.endpoint = endpoint
        self.max_bytes = max_bytes
        self._http = httpx.Client(
            transport=GuardedTransport(policy, endpoint),
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            trust_env=False,
        )

    def __enter__(self) -> GuardedClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        """`method url`, following redirects hop by hop under the policy."""
        for _ in range(MAX_REDIRECTS + 1):
            response = self._send(method, url, self._credentials(url, kw))
            location = response.headers.get("location")
            if response.status_code not in _REDIRECTS or not location:
                return response
            url = str(response.url.join(location))
            kw = {k: v for k, v in kw.items() if k != "params"}  # the new URL is complete
            if response.status_code == 303 or (
                response.status_code in (301, 302) and method == "POST"
            ):
                method, kw = "GET", {k: v for k, v in kw.items() if k not in ("data", "content")}
        raise ExternalError("outbound", f"more than {MAX_REDIRECTS} redirects from {url}")

    def _send(self, method: str, url: str, kw: dict[str, Any]) -> httpx.Response:
        """One request; the body read in chunks and refused past `max_bytes` (bounded
        memory whatever the other side sends)."""
        auth = kw.pop("auth", None)
        request = self._http.build_request(method, url, **kw)
        response = self._http.send(request, auth=auth, stream=True)
        body = bytearray()
        try:
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > self.max_bytes:
                    raise ExternalError(
                        "outbound", f"the response from {url} is larger than {self.max_bytes} bytes"
                    )
        finally:
            response.close()
        headers = [  # the body is decoded already: it must not be decoded again
            (k, v)
            for k, v in response.headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        return httpx.Response(
            response.status_code, headers=headers, content=bytes(body), request=request
        )

    def _credentials(self, url: str, kw: dict[str, Any]) -> dict[str, Any]:
        """`kw` with the endpoint's headers and credentials when `url` is its origin."""
        headers = {"Accept": "application/json", **dict(kw.get("headers") or {})}
        if origin_of(url) == self.endpoint.origin:
            headers.update(dict(self.endpoint.headers))
            if self.endpoint.token:
                headers["Authorization"] = f"Bearer {self.endpoint.token}"
            elif self.endpoint.basic_auth:
                kw = {**kw, "auth": self.endpoint.basic_auth}
        elif not self.endpoint.trusted:  # the repository's own headers may follow it
            headers.update(dict(self.endpoint.headers))
        return {**kw, "headers": headers}
