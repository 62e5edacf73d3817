"""Test helpers for OCI registries: a real CNCF Distribution server, and pushing images
over the Distribution HTTP API (the way CI would: blobs, config, manifest).

`DistributionServer.start(dir, users=...)` runs Debian's ``docker-registry`` (from
``$DOCKER_REGISTRY_BIN`` or ``.cache/docker-registry/usr/bin/docker-registry``, unpacked by
``.ci/install-system-deps.sh``) on a free 127.0.0.1 port with filesystem storage; with
``users`` it uses htpasswd (bcrypt hashes made by the system's libcrypt, so neither
``htpasswd`` nor the ``bcrypt`` module is needed); with ``token=True`` Distribution's token
auth, a `TokenServer` here issuing ES256 JWTs (x5c: a self-signed certificate the registry
trusts): pulls for anyone, pushes for ``users``.
"""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import hashlib
import itertools
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bot.config.outbound import Endpoint, OutboundPolicy

REPO = Path(__file__).resolve().parents[2]
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
REVISION = "org.opencontainers.image.revision"


def registry_bin() -> Path | None:
    explicit = os.environ.get("DOCKER_REGISTRY_BIN")
    candidates = [Path(explicit)] if explicit else []
    candidates.append(REPO / ".cache" / "docker-registry" / "usr" / "bin" / "docker-registry")
    found = shutil.which("docker-registry")
    if found:
        candidates.append(Path(found))
    return next((p for p in candidates if p.is_file() and os.access(p, os.X_OK)), None)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bcrypt_hash(password: str) -> str:
    """A bcrypt hash ($2b$) from the C library's crypt(3) (libxcrypt)."""
    lib = ctypes.CDLL(ctypes.util.find_library("crypt") or "libcrypt.so.1")
    lib.crypt_gensalt.restype = ctypes.c_char_p
    lib.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int]
    lib.crypt.restype = ctypes.c_char_p
    lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    salt = lib.crypt_gensalt(b"$2b$", 5, secrets.token_bytes(16), 16)
    out = lib.crypt(password.encode(), salt)
    if not out or not out.startswith(b"$2b$"):
        raise RuntimeError("libcrypt has no bcrypt")
    return str(out.decode())


CONFIG = """\
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {root}
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:{port}
  secret: {secret}
"""


@dataclass
class DistributionServer:
    url: str
    host: str  # host:port, as an image reference names it
    process: subprocess.Popen[bytes]

    @classmethod
    @contextmanager
    def start(
        cls, directory: Path, users: dict[str, str] | None = None, *, token: bool = False
    ) -> Iterator[DistributionServer]:
        binary = registry_bin()
        if binary is None:
            raise FileNotFoundError("docker-registry")
        directory.mkdir(parents=True, exist_ok=True)
        port = free_port()
        text = CONFIG.format(root=directory / "data", port=port, secret=secrets.token_hex(8))
        issuer = None
        if token:
            issuer = TokenServer.start(directory, users or {})
            text += (
                f"auth:\n  token:\n    realm: {issuer.url}/token\n    service: {TOKEN_SERVICE}\n"
                f"    issuer: {TOKEN_ISSUER}\n    rootcertbundle: {issuer.cert_path}\n"
            )
        elif users:
            htpasswd = directory / "htpasswd"
            htpasswd.write_text("".join(f"{u}:{bcrypt_hash(p)}\n" for u, p in users.items()))
            text += f"auth:\n  htpasswd:\n    realm: test-registry\n    path: {htpasswd}\n"
        config = directory / "config.yml"
        config.write_text(text)
        log = (directory / "registry.log").open("wb")
        process = subprocess.Popen([str(binary), "serve", str(config)], stdout=log, stderr=log)
        server = cls(f"http://127.0.0.1:{port}", f"127.0.0.1:{port}", process)
        try:
            server._wait()
            yield server
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()
            if issuer is not None:
                issuer.stop()

    def _wait(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"docker-registry exited with {self.process.returncode}")
            try:
                httpx.get(self.url + "/v2/", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("docker-registry did not start")


# --- pushing -------------------------------------------------------------------------------


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Pusher:
    """Pushes images to a registry at `url` (answering Basic and Bearer challenges with
    `auth`, a (user, password) pair, when given)."""

    def __init__(self, url: str, auth: tuple[str, str] | None = None) -> None:
        self.url = url.rstrip("/")
        self.auth = auth
        self.http = httpx.Client(timeout=10)
        self._header: dict[str, str] = {}

    def close(self) -> None:
        self.http.close()

    def _request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        for _ in range(2):
            response = self.http.request(method, url, headers={**kw.pop("headers", {}),
                                         **self._header}, **kw)  # fmt: skip
            if response.status_code != 401:
                return response
            self._login(response.headers.get("www-authenticate", ""))
            kw["headers"] = {}
        return response

    def _login(self, challenge: str) -> None:
        scheme, _, rest = challenge.partition(" ")
        if scheme.lower() == "basic" and self.auth:
            raw = base64.b64encode(":".join(self.auth).encode()).decode()
            self._header = {"Authorization": f"Basic {raw}"}
            return
        params = dict(re.findall(r'(\w+)="([^"]*)"', rest))  # values may hold commas
        repository = params.get("scope", "").split(":")[1]
        scope = f"repository:{repository}:pull,push"
        response = self.http.get(
            params["realm"], params={"service": params.get("service", ""), "scope": scope},
            auth=self.auth,
        )  # fmt: skip
        response.raise_for_status()
        self._header = {"Authorization": f"Bearer {response.json()['token']}"}

    def blob(self, name: str, data: bytes) -> str:
        digest = digest_of(data)
        start = self._request("POST", f"{self.url}/v2/{name}/blobs/uploads/")
        assert start.status_code == 202, start.text
        location = str(start.url.join(start.headers["location"]))
        location += ("&" if "?" in location else "?") + "digest=" + digest.replace(":", "%3A")
        done = self._request("PUT", location, content=data,
                             headers={"Content-Type": "application/octet-stream"})  # fmt: skip
        assert done.status_code == 201, done.text
        return digest

    def manifest(self, name: str, ref: str, manifest: dict[str, Any]) -> str:
        body = json.dumps(manifest, indent=2).encode()
        done = self._request("PUT", f"{self.url}/v2/{name}/manifests/{ref}", content=body,
                             headers={"Content-Type": manifest["mediaType"]})  # fmt: skip
        assert done.status_code == 201, done.text
        assert done.headers["docker-content-digest"] == digest_of(body)
        return digest_of(body)

    def image(
        self, name: str, tag: str, *, revision: str = "", media_type: str = OCI_MANIFEST,
        annotations: dict[str, str] | None = None, layer: bytes = b"",
    ) -> str:  # fmt: skip
        """Push a one-layer image labelled with `revision`; the manifest's digest."""
        labels = {REVISION: revision} if revision else {}
        config = json.dumps({
            "architecture": "amd64", "os": "linux",
            "config": {"Labels": labels},
            "rootfs": {"type": "layers", "diff_ids": []},
        }).encode()  # fmt: skip
        layer = layer or secrets.token_bytes(64)
        config_type = ("application/vnd.oci.image.config.v1+json" if media_type == OCI_MANIFEST
                       else "application/vnd.docker.container.image.v1+json")  # fmt: skip
        layer_type = ("application/vnd.oci.image.layer.v1.tar+gzip" if media_type == OCI_MANIFEST
                      else "application/vnd.docker.image.rootfs.diff.tar.gzip")  # fmt: skip
        manifest: dict[str, Any] = {
            "schemaVersion": 2, "mediaType": media_type,
            "config": {"mediaType": config_type, "digest": self.blob(name, config),
                       "size": len(config)},
            "layers": [{"mediaType": layer_type, "digest": self.blob(name, layer),
                        "size": len(layer)}],
        }  # fmt: skip
        if annotations:
            manifest["annotations"] = annotations
        return self.manifest(name, tag, manifest)

    def index(self, name: str, tag: str, platforms: dict[str, str]) -> str:
        """An OCI index over images pushed by digest: {"linux/amd64": revision, ...}."""
        entries = []
        for platform, revision in platforms.items():
            os_name, arch = platform.split("/")[:2]
            digest = self.image(name, digest_placeholder(platform), revision=revision)
            body = self.http.get(f"{self.url}/v2/{name}/manifests/{digest}",
                                 headers={"Accept": OCI_MANIFEST, **self._header})  # fmt: skip
            entries.append({"mediaType": OCI_MANIFEST, "digest": digest,
                            "size": len(body.content),
                            "platform": {"os": os_name, "architecture": arch}})  # fmt: skip
        return self.manifest(name, tag, {"schemaVersion": 2, "mediaType": OCI_INDEX,
                                         "manifests": entries})  # fmt: skip


def digest_placeholder(platform: str) -> str:
    """A throwaway tag for a platform image pushed before its index."""
    return "p-" + platform.replace("/", "-")


# --- a token server for Distribution's token auth -------------------------------------

TOKEN_SERVICE = "test-registry"
TOKEN_ISSUER = "test-token-issuer"


class TokenServer:
    """Issues registry tokens (ES256 JWTs with an x5c chain) on 127.0.0.1: pull for
    anyone, push for `users` (HTTP Basic)."""

    def __init__(self, directory: Path, users: dict[str, str]) -> None:
        import datetime as dt

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        self.users = users
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, TOKEN_ISSUER)])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .sign(self.key, hashes.SHA256())
        )  # fmt: skip
        self.cert_path = directory / "token.pem"
        self.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
        self.url = ""
        self._httpd: Any = None

    @classmethod
    def start(cls, directory: Path, users: dict[str, str]) -> TokenServer:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        server = cls(directory, users)

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                status, body = server.answer(self.path, self.headers.get("Authorization", ""))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server._httpd = httpd
        server.url = f"http://127.0.0.1:{httpd.server_address[1]}"
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        return server

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def answer(self, path: str, authorization: str) -> tuple[int, bytes]:
        from urllib.parse import parse_qs, urlsplit

        import jwt

        user = ""
        if authorization:
            scheme, _, value = authorization.partition(" ")
            name, _, password = base64.b64decode(value).decode().partition(":")
            if scheme.lower() != "basic" or self.users.get(name) != password:
                return 401, b'{"details": "bad credentials"}'
            user = name
        query = parse_qs(urlsplit(path).query)
        access = []
        for scope in query.get("scope", []):
            kind, _, rest = scope.partition(":")
            repo, _, actions = rest.rpartition(":")
            allowed = [a for a in actions.split(",") if a == "pull" or (a == "push" and user)]
            access.append({"type": kind, "name": repo, "actions": allowed})
        now = int(time.time())
        claims = {
            "iss": TOKEN_ISSUER, "sub": user, "aud": TOKEN_SERVICE, "exp": now + 300,
            "nbf": now - 10, "iat": now, "jti": secrets.token_hex(8), "access": access,
        }  # fmt: skip
        token = jwt.encode(claims, self.key, algorithm="ES256", headers={"x5c": [self.x5c]})
        return 200, json.dumps({"token": token, "access_token": token}).encode()


# -- one registry under test (the fixtures in conftest.py make them) --

USER, PASSWORD = "ci-bot", "s3cret-pass"
_NAMES = itertools.count(1)


@dataclass
class Oci:
    """One registry under test: its host for image references, a pusher, and whether it
    needs credentials (then `policy` carries them as the operator's source)."""

    kind: str
    url: str
    host: str
    pusher: Pusher
    needs_credentials: bool
    policy: OutboundPolicy = field(default_factory=OutboundPolicy)
    server: object = None  # the sandbox's Server (its registry: bot.sandbox.api.oci)

    def name(self, base: str = "acme/app") -> str:
        return f"{base}{next(_NAMES)}"

    def with_credentials(self, user: str = USER, password: str = PASSWORD) -> OutboundPolicy:
        source = Endpoint(self.url, "source registry", trusted=True, basic_auth=(user, password))
        return OutboundPolicy(sources=(source,))
