"""Connecting to the checked address keeps TLS honest: the certificate is still verified
against the URL's host name (SNI), not the IP the connection went to."""

from __future__ import annotations

import datetime as dt
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bot.adapters.prometheus import PrometheusClient
from bot.config.outbound import Endpoint, Mode, OutboundPolicy
from bot.errors import ExternalError

from .catcher import OK_BODY

AT = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)


def self_signed(tmp_path: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    cert, key = self_signed(tmp_path, "prom.test")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(OK_BODY)))
            self.end_headers()
            self.wfile.write(OK_BODY)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield server.server_address[1], cert
    finally:
        server.shutdown()
        server.server_close()


def client_for(host: str, port: int, cert: Path) -> PrometheusClient:
    endpoint = Endpoint(f"https://{host}:{port}", "source tls", trusted=True, verify=str(cert))
    policy = OutboundPolicy(Mode.APP, sources=(endpoint,), resolver=lambda h, p: ["127.0.0.1"])
    return PrometheusClient(endpoint.url, endpoint=endpoint, policy=policy, retries=0)


def test_the_certificate_is_checked_against_the_host_name(tls_server: tuple[int, Path]) -> None:
    port, cert = tls_server
    with client_for("prom.test", port, cert) as client:
        assert client.query("up", AT).values() == [0.25]


def test_a_certificate_for_another_name_is_refused(tls_server: tuple[int, Path]) -> None:
    port, cert = tls_server
    with (
        client_for("other.test", port, cert) as client,
        pytest.raises(ExternalError, match=r"CERTIFICATE_VERIFY_FAILED|hostname"),
    ):
        client.query("up", AT)
