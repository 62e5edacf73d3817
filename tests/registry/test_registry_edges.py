"""The registry adapter's failure paths and credential boundaries, against small real HTTP
servers on 127.0.0.1 that answer what a misbehaving registry would and record what
reached them."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from oci_images import OCI_MANIFEST, free_port

from bot.adapters.registry import Image, RegistryClient
from bot.config.imageref import parse_image
from bot.config.outbound import Endpoint, Mode, OutboundPolicy, OutboundRefused
from bot.errors import ExternalError

Answer = tuple[int, dict[str, str], bytes]


@dataclass
class Stub:
    port: int
    answer: Callable[[str, dict[str, str]], Answer]
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"


@contextmanager
def stub(answer: Callable[[str, dict[str, str]], Answer]) -> Iterator[Stub]:
    found = Stub(0, answer)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            found.seen.append((self.path, headers))
            status, extra, body = found.answer(self.path, headers)
            self.send_response(status)
            for key, value in extra.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_HEAD = do_GET

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    found.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        server.shutdown()
        server.server_close()


def _digest(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def test_unreachable_registry_is_an_external_failure() -> None:
    ref = parse_image(f"127.0.0.1:{free_port()}/acme/app:v1")
    with RegistryClient() as client, pytest.raises(ExternalError) as caught:
        client.resolve(ref)
    assert caught.value.exit_code == 4 and caught.value.retryable
    assert "unreachable" in caught.value.message


def test_5xx_is_an_external_failure() -> None:
    with (
        stub(lambda path, h: (503, {}, b"down")) as reg,
        RegistryClient() as client,
        pytest.raises(ExternalError) as caught,
    ):
        client.head(parse_image(f"{reg.host}/acme/app:v1"))
    assert caught.value.status == 503 and caught.value.exit_code == 4


def test_a_body_that_does_not_match_its_digest_is_refused() -> None:
    body = json.dumps({"mediaType": OCI_MANIFEST, "config": {"digest": "sha256:" + "0" * 64}})
    lie = {"Docker-Content-Digest": "sha256:" + "1" * 64, "Content-Type": OCI_MANIFEST}
    with (
        stub(lambda path, h: (200, lie, body.encode())) as reg,
        RegistryClient() as client,
        pytest.raises(ExternalError, match="hashes to"),
    ):
        client.resolve(parse_image(f"{reg.host}/acme/app:v1"))


def test_app_mode_refuses_a_loopback_registry_before_connecting() -> None:
    with stub(lambda path, h: (200, {}, b"{}")) as reg:
        policy = OutboundPolicy(mode=Mode.APP, allow_urls=("*",))
        with RegistryClient(policy) as client, pytest.raises(OutboundRefused):
            client.head(parse_image(f"{reg.host}/acme/app:v1"))
        assert reg.seen == []


def test_the_token_stays_on_the_registry_and_credentials_off_plain_http_realms() -> None:
    """The blob redirects to another origin (a CDN): no Authorization follows it. The
    realm is plain HTTP on another host (localhost, not 127.0.0.1): no password goes there."""
    config = json.dumps({"config": {"Labels": {"org.opencontainers.image.revision": "abc"}}})
    manifest = json.dumps(
        {"mediaType": OCI_MANIFEST, "config": {"digest": _digest(config.encode())}}
    )

    with (
        stub(lambda path, h: (200, {}, config.encode())) as cdn,
        stub(lambda path, h: (200, {}, b'{"token": "registry-token"}')) as realm,
    ):

        def registry(path: str, headers: dict[str, str]) -> Answer:
            if headers.get("authorization") != "Bearer registry-token":
                challenge = f'Bearer realm="http://localhost:{realm.port}/token",service="x"'
                return 401, {"WWW-Authenticate": challenge}, b""
            if "/blobs/" in path:
                return 307, {"Location": f"http://127.0.0.1:{cdn.port}/blob"}, b""
            return 200, {"Content-Type": OCI_MANIFEST}, manifest.encode()

        with stub(registry) as reg:
            source = Endpoint(f"http://{reg.host}", "source reg", trusted=True,
                              basic_auth=("user", "pa55word"))  # fmt: skip
            with RegistryClient(OutboundPolicy(sources=(source,))) as client:
                found = client.resolve(parse_image(f"{reg.host}/acme/app:v1"))
    assert isinstance(found, Image) and found.revision == "abc"
    assert [h.get("authorization") for _, h in cdn.seen] == [None]
    assert [h.get("authorization") for _, h in realm.seen] == [None]
    assert "scope=repository%3Aacme%2Fapp%3Apull" in realm.seen[0][0]


def test_a_refused_registry_among_expected_ones_is_refused_when_resolved() -> None:
    policy = OutboundPolicy(mode=Mode.APP, allow_urls=("*",))
    refused = parse_image("127.0.0.1:5000/acme/app:v1")
    with RegistryClient(policy) as client:
        client.expect([refused])
        with pytest.raises(OutboundRefused, match="loopback"):
            client.resolve(refused)
        assert client.requests == 0
