"""The sandbox's OCI registry: the subset of the Distribution API the bot and its CI
stand-in use, so the demo and the tests need no registry binary.

- Pull: ``GET``/``HEAD /v2/<name>/manifests/<tag|digest>`` (``Docker-Content-Digest``),
  ``GET /v2/<name>/blobs/<digest>``, ``GET /v2/<name>/tags/list``, ``GET /v2/``.
- Push: ``POST /v2/<name>/blobs/uploads/`` (monolithic with ``?digest=``, or a session
  finished by ``PUT …/uploads/<id>?digest=``), ``PUT /v2/<name>/manifests/<ref>``
  (referenced blobs and manifests must exist, as in Distribution).
- Auth (``registry(server).auth``): ``"none"``; ``"bearer"`` (the default, as ghcr.io and
  Docker Hub): a 401 with ``WWW-Authenticate: Bearer realm=<base>/oci/token,service=…,
  scope=…``; the realm gives pull tokens anonymously unless ``private``, and push tokens
  only with ``users`` credentials (HTTP Basic) when any are set; ``"basic"``: HTTP Basic.

State lives in memory on the running server (``registry(server)``), not in the store.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.http import RequestContext, Response, Router

SERVICE = "sandbox-registry"
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_NAME = re.compile(rf"^{_PART}(?:/{_PART})*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_INDEXES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)


@dataclass
class Registry:
    """Blobs and manifests by repository; tags; issued tokens; who may push."""

    auth: str = "bearer"  # "none", "bearer" or "basic"
    private: bool = False  # bearer: pulls need credentials too
    users: dict[str, str] = field(default_factory=dict)  # user -> password
    blobs: dict[str, bytes] = field(default_factory=dict)  # digest -> bytes (shared)
    repos: dict[str, set[str]] = field(default_factory=dict)  # name -> blob digests it has
    manifests: dict[tuple[str, str], tuple[str, bytes]] = field(default_factory=dict)
    tags: dict[tuple[str, str], str] = field(default_factory=dict)  # (name, tag) -> digest
    tokens: dict[str, tuple[str, ...]] = field(default_factory=dict)  # token -> "name:action"
    uploads: dict[str, str] = field(default_factory=dict)  # session id -> name
    lock: threading.Lock = field(default_factory=threading.Lock)


def registry(server: Any) -> Registry:
    """The registry of a running sandbox server (created on first use)."""
    found = getattr(server, "oci_registry", None)
    if found is None:
        found = Registry()
        server.oci_registry = found
    return found


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    body = {"errors": [{"code": code, "message": message, "detail": None}]}
    return Response(status, body, headers or {})


def _basic_user(ctx: RequestContext, reg: Registry) -> str | None:
    scheme, _, value = ctx.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(value.strip()).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    ok = user in reg.users and secrets.compare_digest(reg.users[user], password)
    return user if ok else None


def _allowed(ctx: RequestContext, reg: Registry, name: str, action: str) -> Response | None:
    """None when the request may go on; else the 401 with the challenge."""
    if reg.auth == "none":
        return None
    if reg.auth == "basic":
        if _basic_user(ctx, reg) is not None:
            return None
        return _error(401, "UNAUTHORIZED", "authentication required",
                      {"WWW-Authenticate": f'Basic realm="{SERVICE}"'})  # fmt: skip
    scheme, _, token = ctx.headers.get("authorization", "").partition(" ")
    granted = reg.tokens.get(token.strip(), ()) if scheme.lower() == "bearer" else ()
    if f"{name}:{action}" in granted or (not name and granted):
        return None
    scope = f'scope="repository:{name}:{action}",' if name else ""
    challenge = f'Bearer realm="{ctx.base_url}/oci/token",{scope}service="{SERVICE}"'
    return _error(401, "UNAUTHORIZED", "authentication required",
                  {"WWW-Authenticate": challenge})  # fmt: skip


def get_token(ctx: RequestContext) -> Response:
    """The token realm: grants what the (optional) Basic credentials allow."""
    reg = registry(ctx.server)
    user = _basic_user(ctx, reg)
    if ctx.headers.get("authorization") and user is None:
        return _error(401, "UNAUTHORIZED", "bad credentials")
    if reg.private and user is None:
        return _error(401, "UNAUTHORIZED", "this registry needs credentials")
    granted = []
    for scope in ctx.query.get("scope", []):
        kind, _, rest = scope.partition(":")
        name, _, actions = rest.rpartition(":")
        for action in actions.split(","):
            may = action == "pull" or (action == "push" and (user or not reg.users))
            if kind == "repository" and may:
                granted.append(f"{name}:{action}")
    token = secrets.token_urlsafe(24)
    with reg.lock:
        reg.tokens[token] = tuple(granted) or ("*:none",)
    return Response(200, {"token": token, "access_token": token, "expires_in": 300})


def get_base(ctx: RequestContext) -> Response:
    return _allowed(ctx, registry(ctx.server), "", "pull") or Response(200, {})


def _manifest_digest(reg: Registry, name: str, ref: str) -> str | None:
    digest = ref if _DIGEST.match(ref) else reg.tags.get((name, ref))
    return digest if digest and (name, digest) in reg.manifests else None


def get_manifest(ctx: RequestContext) -> Response:
    reg, name, ref = registry(ctx.server), ctx.params["name"], ctx.params["ref"]
    denied = _allowed(ctx, reg, name, "pull")
    if denied:
        return denied
    digest = _manifest_digest(reg, name, ref)
    if digest is None:
        if name not in reg.repos:
            return _error(404, "NAME_UNKNOWN", "repository name not known to registry")
        return _error(404, "MANIFEST_UNKNOWN", "manifest unknown")
    media_type, body = reg.manifests[(name, digest)]
    headers = {"Content-Type": media_type, "Docker-Content-Digest": digest}
    return Response(200, body, headers)


def get_blob(ctx: RequestContext) -> Response:
    reg, name, digest = registry(ctx.server), ctx.params["name"], ctx.params["digest"]
    denied = _allowed(ctx, reg, name, "pull")
    if denied:
        return denied
    if digest not in reg.repos.get(name, set()):
        return _error(404, "BLOB_UNKNOWN", "blob unknown to registry")
    headers = {"Content-Type": "application/octet-stream", "Docker-Content-Digest": digest}
    return Response(200, reg.blobs[digest], headers)


def get_tags(ctx: RequestContext) -> Response:
    reg, name = registry(ctx.server), ctx.params["name"]
    denied = _allowed(ctx, reg, name, "pull")
    if denied:
        return denied
    if name not in reg.repos:
        return _error(404, "NAME_UNKNOWN", "repository name not known to registry")
    tags = sorted(t for (n, t) in reg.tags if n == name)
    return Response(200, {"name": name, "tags": tags})


def _store_blob(reg: Registry, name: str, digest: str, body: bytes) -> Response:
    if not _DIGEST.match(digest) or digest_of(body) != digest:
        return _error(400, "DIGEST_INVALID", "provided digest did not match uploaded content")
    with reg.lock:
        reg.blobs[digest] = body
        reg.repos.setdefault(name, set()).add(digest)
    headers = {"Location": f"/v2/{name}/blobs/{digest}", "Docker-Content-Digest": digest}
    return Response(201, None, headers)


def post_upload(ctx: RequestContext) -> Response:
    reg, name = registry(ctx.server), ctx.params["name"]
    if not _NAME.match(name):
        return _error(400, "NAME_INVALID", "invalid repository name")
    denied = _allowed(ctx, reg, name, "push")
    if denied:
        return denied
    digest = (ctx.query.get("digest") or [""])[0]
    if digest:
        return _store_blob(reg, name, digest, ctx.body)
    session = secrets.token_hex(16)
    with reg.lock:
        reg.uploads[session] = name
    location = f"/v2/{name}/blobs/uploads/{session}"
    return Response(202, None, {"Location": location, "Docker-Upload-UUID": session})


def put_upload(ctx: RequestContext) -> Response:
    reg, name, session = registry(ctx.server), ctx.params["name"], ctx.params["session"]
    denied = _allowed(ctx, reg, name, "push")
    if denied:
        return denied
    if reg.uploads.get(session) != name:
        return _error(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry")
    with reg.lock:
        reg.uploads.pop(session, None)
    return _store_blob(reg, name, (ctx.query.get("digest") or [""])[0], ctx.body)


def _references(reg: Registry, name: str, media_type: str, data: dict[str, Any]) -> str:
    """What the manifest names that this repository lacks ("" when nothing)."""
    if media_type in _INDEXES:
        wanted = [str(m.get("digest", "")) for m in data.get("manifests") or []]
        lacking = [d for d in wanted if (name, d) not in reg.manifests]
    else:
        config = data.get("config") or {}
        wanted = [str(config.get("digest", ""))]
        wanted += [str(layer.get("digest", "")) for layer in data.get("layers") or []]
        lacking = [d for d in wanted if d not in reg.repos.get(name, set())]
    return ", ".join(lacking)


def put_manifest(ctx: RequestContext) -> Response:
    reg, name, ref = registry(ctx.server), ctx.params["name"], ctx.params["ref"]
    denied = _allowed(ctx, reg, name, "push")
    if denied:
        return denied
    try:
        data = json.loads(ctx.body)
    except ValueError:
        return _error(400, "MANIFEST_INVALID", "manifest invalid")
    media_type = str(data.get("mediaType") or ctx.headers.get("content-type", ""))
    digest = digest_of(ctx.body)
    if (
        not isinstance(data, dict)
        or (_DIGEST.match(ref) and ref != digest)
        or (not _DIGEST.match(ref) and not _TAG.match(ref))
    ):
        return _error(400, "MANIFEST_INVALID", "manifest invalid")
    lacking = _references(reg, name, media_type, data)
    if lacking:
        return _error(400, "MANIFEST_BLOB_UNKNOWN", f"blob unknown to registry: {lacking}")
    with reg.lock:
        reg.manifests[(name, digest)] = (media_type, ctx.body)
        reg.repos.setdefault(name, set())
        if not _DIGEST.match(ref):
            reg.tags[(name, ref)] = digest
    headers = {"Location": f"/v2/{name}/manifests/{digest}", "Docker-Content-Digest": digest}
    return Response(201, None, headers)


def routes(router: Router) -> None:
    router.add("GET", "/v2/", get_base)
    router.add("GET", "/oci/token", get_token)
    router.add("GET", "/v2/{name+}/manifests/{ref}", get_manifest)
    router.add("PUT", "/v2/{name+}/manifests/{ref}", put_manifest)
    router.add("GET", "/v2/{name+}/blobs/{digest}", get_blob)
    router.add("GET", "/v2/{name+}/tags/list", get_tags)
    router.add("POST", "/v2/{name+}/blobs/uploads/", post_upload)
    router.add("PUT", "/v2/{name+}/blobs/uploads/{session}", put_upload)


def push_image(server: Any, name: str, tag: str, *, revision: str = "", layer: bytes = b"") -> str:
    """Push a one-layer linux/amd64 image labelled with `revision` straight into a running
    sandbox's registry (what a CI stand-in does after a build); its manifest digest."""
    reg = registry(server)
    labels = {"org.opencontainers.image.revision": revision} if revision else {}
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Labels": labels},
                         "rootfs": {"type": "layers", "diff_ids": []}}).encode()  # fmt: skip
    layer = layer or f"{name}:{tag}:{revision}".encode()
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": digest_of(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": digest_of(layer), "size": len(layer)}],
    }, indent=2).encode()  # fmt: skip
    digest = digest_of(manifest)
    with reg.lock:
        for blob in (config, layer):
            reg.blobs[digest_of(blob)] = blob
            reg.repos.setdefault(name, set()).add(digest_of(blob))
        reg.manifests[(name, digest)] = ("application/vnd.oci.image.manifest.v1+json", manifest)
        reg.tags[(name, tag)] = digest
    return digest
