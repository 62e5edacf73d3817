"""OCI Distribution API adapter: what an image tag points to, and what it was built from.

- `head(ref)`: `HEAD /v2/<name>/manifests/<ref>` → the digest (`Docker-Content-Digest`),
  one request: the cheap re-check before each stage.
- `resolve(ref)`: `GET` the manifest with the standard Accept headers (OCI index and
  manifest, Docker v2 list and manifest), its digest checked against the body; an index
  picks the configured platform's manifest (default linux/amd64); the image config blob
  gives the labels (`org.opencontainers.image.revision`), the manifests the annotations.
- Auth: a 401's `WWW-Authenticate` challenge is answered once — Basic with the operator's
  credentials, Bearer (`realm`, `service`, `scope`) by fetching a token from the realm,
  anonymously or with them (`bot.adapters.registry_auth`). Tokens are reused per scope.
- Every request goes through the outbound policy (`bot.adapters.guarded_http`).

An unknown manifest or repository is a `Missing` value, not an exception. Unreachable,
5xx, 429 or a body that does not match its digest raise `ExternalError("registry")`
(exit 4); 401/403 raise it with a message naming the credential to set.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

import httpx

from bot.adapters.guarded_http import GuardedClient
from bot.adapters.registry_auth import (
    Challenge,
    auth_error,
    parse_challenge,
    realm_endpoint,
    registry_endpoint,
)
from bot.config.imageref import DIGEST, ImageRef
from bot.config.outbound import Endpoint, OutboundPolicy, OutboundRefused
from bot.errors import ExternalError

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEXES = (OCI_INDEX, DOCKER_LIST)
MANIFESTS = (OCI_MANIFEST, DOCKER_MANIFEST)
ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST))
REVISION = "org.opencontainers.image.revision"
MAX_BYTES = 4 * 1024 * 1024  # manifests and image configs are small; refuse more


@dataclass(frozen=True)
class Image:
    """A tag resolved: `digest` is what the tag points to (an index or a manifest: the
    value to pin), `manifest_digest` the chosen platform's manifest."""

    ref: ImageRef
    digest: str
    media_type: str
    manifest_digest: str
    config_digest: str
    labels: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()

    @property
    def revision(self) -> str:
        """The source commit it says it was built from (label first, then annotation)."""
        return dict(self.labels).get(REVISION) or dict(self.annotations).get(REVISION, "")


@dataclass(frozen=True)
class Missing:
    """No such manifest (or repository) in the registry: not an error, a state."""

    ref: ImageRef
    reason: str


def _platform(text: str) -> tuple[str, str, str]:
    parts = [*text.split("/"), "", ""][:3]
    return parts[0], parts[1], parts[2]


def _json(body: bytes, what: str) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError:
        raise ExternalError("registry", f"{what} is not JSON") from None
    if not isinstance(data, dict):
        raise ExternalError("registry", f"{what} is not a JSON object")
    return data


def _strings(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        return ()
    return tuple(sorted((str(k), str(v)) for k, v in value.items()))


def _scope(ref: ImageRef) -> str:
    return f"repository:{ref.repository}:pull"


def _error_codes(response: httpx.Response) -> list[str]:
    try:
        errors = response.json().get("errors") or []
        return [str(e.get("code", "")) for e in errors if isinstance(e, dict)]
    except (ValueError, AttributeError):
        return []


class RegistryClient:
    """OCI registries under one outbound policy. Use it in a ``with`` block."""

    def __init__(
        self,
        policy: OutboundPolicy | None = None,
        *,
        platform: str = "linux/amd64",
        timeout: float = 10.0,
    ) -> None:
        self.policy = policy or OutboundPolicy()
        self.platform = _platform(platform)
        self.timeout = timeout
        self.requests = 0  # HTTP requests sent, token requests included
        self._clients: dict[str, tuple[GuardedClient, Endpoint, Endpoint | None]] = {}
        self._tokens: dict[tuple[str, str], str] = {}  # (registry URL, scope) -> token
        self._basic: set[str] = set()  # registry URLs that asked for Basic
        self._realms: dict[str, Challenge] = {}  # registry URL -> its Bearer challenge
        self._expected: set[tuple[str, str]] = set()  # (registry URL, scope) to come

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for client, _, _ in self._clients.values():
            client.close()
        self._clients.clear()

    # -- public -------------------------------------------------------------------------

    def expect(self, refs: Iterable[ImageRef]) -> None:
        """Say which images will be resolved: a Bearer registry then gets one token request
        for all of their repositories instead of one per repository."""
        for ref in refs:
            try:
                _, endpoint, _ = self._client(ref)
            except OutboundRefused:
                continue  # said when that image is resolved
            self._expected.add((endpoint.url, _scope(ref)))

    def head(self, ref: ImageRef) -> str | Missing:
        """The digest `ref`'s tag points to now (one request; a GET when the registry
        sends no digest on HEAD)."""
        response = self._call(ref, "HEAD", f"manifests/{ref.reference}", ACCEPT)
        if response.status_code == 404:
            return Missing(ref, f"no manifest {ref.reference} in {ref.api_host}/{ref.repository}")
        digest = response.headers.get("docker-content-digest", "")
        if DIGEST.match(digest):
            return digest
        found = self.resolve(ref)
        return found if isinstance(found, Missing) else found.digest

    def resolve(self, ref: ImageRef) -> Image | Missing:
        """The manifest `ref` names, its platform manifest and its config's labels."""
        got = self._manifest(ref, ref.reference)
        if isinstance(got, Missing):
            return got
        digest, media_type, body = got
        annotations = _strings(body.get("annotations"))
        manifest_digest, manifest = digest, body
        if media_type in INDEXES:
            manifest_digest = self._pick(ref, body)
            again = self._manifest(ref, manifest_digest)
            if isinstance(again, Missing):
                raise ExternalError("registry", f"{ref}: the index names a missing manifest")
            _, _, manifest = again
            merged = {**dict(annotations), **dict(_strings(manifest.get("annotations")))}
            annotations = tuple(sorted(merged.items()))
        config = manifest.get("config") or {}
        config_digest = str(config.get("digest", "")) if isinstance(config, dict) else ""
        if not DIGEST.match(config_digest):
            raise ExternalError("registry", f"{ref}: the manifest names no sha256 config digest")
        labels = self._labels(ref, config_digest)
        return Image(ref, digest, media_type, manifest_digest, config_digest, labels, annotations)

    # -- steps --------------------------------------------------------------------------

    def _manifest(self, ref: ImageRef, reference: str) -> tuple[str, str, dict[str, Any]] | Missing:
        response = self._call(ref, "GET", f"manifests/{reference}", ACCEPT)
        if response.status_code == 404:
            codes = _error_codes(response)
            what = "repository" if "NAME_UNKNOWN" in codes else f"manifest {reference}"
            return Missing(ref, f"no {what} in {ref.api_host}/{ref.repository}")
        body = response.content
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        said = response.headers.get("docker-content-digest", "")
        if said and said != digest:
            raise ExternalError(
                "registry", f"{ref}: the manifest's body hashes to {digest}, not {said}"
            )
        if reference.startswith("sha256:") and reference != digest:
            raise ExternalError("registry", f"{ref}: asked for {reference}, got {digest}")
        data = _json(body, f"the manifest of {ref}")
        media_type = str(data.get("mediaType") or response.headers.get("content-type", ""))
        media_type = media_type.split(";")[0].strip()
        if media_type not in INDEXES + MANIFESTS:
            raise ExternalError("registry", f"{ref}: unsupported manifest type {media_type!r}")
        return digest, media_type, data

    def _pick(self, ref: ImageRef, index: dict[str, Any]) -> str:
        """The digest of the index entry for the configured platform."""
        want_os, want_arch, want_variant = self.platform
        for entry in index.get("manifests") or []:
            platform = entry.get("platform") or {} if isinstance(entry, dict) else {}
            if (
                platform.get("os") == want_os
                and platform.get("architecture") == want_arch
                and (not want_variant or platform.get("variant") == want_variant)
                and DIGEST.match(str(entry.get("digest", "")))
            ):
                return str(entry["digest"])
        shown = "/".join(p for p in self.platform if p)
        raise ExternalError("registry", f"{ref}: the index has no {shown} manifest")

    def _labels(self, ref: ImageRef, digest: str) -> tuple[tuple[str, str], ...]:
        response = self._call(ref, "GET", f"blobs/{digest}", "*/*")
        if response.status_code == 404:
            raise ExternalError("registry", f"{ref}: the config blob {digest} is missing")
        if "sha256:" + hashlib.sha256(response.content).hexdigest() != digest:
            raise ExternalError("registry", f"{ref}: the config blob does not match {digest}")
        config = _json(response.content, f"the image config of {ref}")
        inner = config.get("config") or {}
        return _strings(inner.get("Labels") if isinstance(inner, dict) else None)

    # -- HTTP and auth ------------------------------------------------------------------

    def _client(self, ref: ImageRef) -> tuple[GuardedClient, Endpoint, Endpoint | None]:
        endpoint, source = registry_endpoint(ref, self.policy)
        if endpoint.url not in self._clients:
            client = GuardedClient(endpoint, self.policy, timeout=self.timeout, max_bytes=MAX_BYTES)
            self._clients[endpoint.url] = (client, endpoint, source)
        return self._clients[endpoint.url]

    def _call(self, ref: ImageRef, method: str, path: str, accept: str) -> httpx.Response:
        client, endpoint, source = self._client(ref)
        scope = _scope(ref)
        url = f"{endpoint.url}/v2/{ref.repository}/{path}"
        known = self._realms.get(endpoint.url)
        if known is not None and (endpoint.url, scope) not in self._tokens:
            self._fetch_tokens(ref, known, endpoint, source, scope)  # no 401 round trip
        response = self._send(client, endpoint, source, scope, method, url, accept)
        if response.status_code == 401:
            challenge = parse_challenge(response.headers.get("www-authenticate", ""))
            if challenge is not None and self._answer(ref, challenge, endpoint, source, scope):
                response = self._send(client, endpoint, source, scope, method, url, accept)
        if response.status_code in (401, 403):
            raise auth_error(ref, source, response.status_code)
        if response.status_code >= 500 or response.status_code == 429:
            raise ExternalError(
                "registry", f"{endpoint.url} answered HTTP {response.status_code} for {url}",
                status=response.status_code, retryable=True,
            )  # fmt: skip
        if response.status_code >= 400 and response.status_code != 404:
            raise ExternalError("registry", f"HTTP {response.status_code} for {url}",
                                status=response.status_code)  # fmt: skip
        return response

    def _send(
        self, client: GuardedClient, endpoint: Endpoint, source: Endpoint | None, scope: str,
        method: str, url: str, accept: str,
    ) -> httpx.Response:  # fmt: skip
        """One request with the credentials this registry asked for (only to its origin)."""
        token = self._tokens.get((endpoint.url, scope)) or (source.token if source else None)
        basic = source.basic_auth if source and endpoint.url in self._basic else None
        client.endpoint = replace(endpoint, token=token, basic_auth=basic)
        self.requests += 1
        try:
            return client.request(method, url, headers={"Accept": accept})
        except httpx.TimeoutException:
            raise ExternalError("registry", f"{url} timed out", retryable=True) from None
        except httpx.TransportError as exc:
            raise ExternalError(
                "registry", f"{endpoint.url} is unreachable: {exc or type(exc).__name__}",
                retryable=True,
            ) from None  # fmt: skip

    def _answer(
        self, ref: ImageRef, challenge: Challenge, endpoint: Endpoint, source: Endpoint | None,
        scope: str,
    ) -> bool:  # fmt: skip
        """Whether a retry can carry what `challenge` asks for (a token fetched now)."""
        if challenge.scheme == "basic":
            if source is None or not source.basic_auth or endpoint.url in self._basic:
                return False
            self._basic.add(endpoint.url)
            return True
        if challenge.scheme != "bearer" or not challenge.get("realm"):
            return False
        if (endpoint.url, scope) in self._tokens:
            return False  # the token we had was refused: a retry would be refused too
        self._realms[endpoint.url] = challenge
        self._fetch_tokens(ref, challenge, endpoint, source, challenge.get("scope") or scope)
        asked = self._tokens[(endpoint.url, challenge.get("scope") or scope)]
        self._tokens.setdefault((endpoint.url, scope), asked)
        return True

    def _fetch_tokens(
        self, ref: ImageRef, challenge: Challenge, endpoint: Endpoint, source: Endpoint | None,
        scope: str,
    ) -> None:  # fmt: skip
        """One token for `scope` and every expected scope of this registry still lacking one."""
        more = {s for url, s in self._expected if url == endpoint.url}
        lacking = sorted(s for s in more - {scope} if (endpoint.url, s) not in self._tokens)
        scopes = [scope, *lacking]
        token = self._token(ref, challenge, endpoint, source, scopes)
        for each in scopes:
            self._tokens[(endpoint.url, each)] = token

    def _token(
        self, ref: ImageRef, challenge: Challenge, endpoint: Endpoint, source: Endpoint | None,
        scopes: list[str],
    ) -> str:  # fmt: skip
        realm = challenge.get("realm")
        query = [("service", challenge.get("service"))] + [("scope", s) for s in scopes]
        url = realm + ("&" if "?" in realm else "?") + urlencode([(k, v) for k, v in query if v])
        where = realm_endpoint(realm, endpoint, source)
        self.requests += 1
        try:
            with GuardedClient(where, self.policy, timeout=self.timeout, max_bytes=MAX_BYTES) as c:
                response = c.request("GET", url)
        except httpx.HTTPError as exc:
            raise ExternalError("registry", f"token realm {realm} failed: {exc}",
                                retryable=True) from None  # fmt: skip
        if response.status_code in (401, 403):
            raise auth_error(ref, source, response.status_code)
        if response.status_code != 200:
            raise ExternalError("registry", f"token realm {realm} answered HTTP "
                                f"{response.status_code}", retryable=True)  # fmt: skip
        data = _json(response.content, f"the token from {realm}")
        token = data.get("token") or data.get("access_token")
        if not isinstance(token, str) or not token:
            raise ExternalError("registry", f"token realm {realm} sent no token")
        return token
