"""Registries to run the same tests against: the sandbox's OCI subset and the real CNCF
Distribution server, each anonymous and with credentials (Basic / htpasswd; Bearer via the
token realm on the sandbox). One registry per kind per session, a fresh repository name
per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from oci_images import PASSWORD, USER, DistributionServer, Oci, Pusher, registry_bin

from bot.sandbox.api.oci import registry
from bot.sandbox.runner import run_sandbox

KINDS = (
    "sandbox-anonymous",
    "sandbox-bearer",
    "sandbox-bearer-private",
    "sandbox-basic",
    "distribution-anonymous",
    "distribution-htpasswd",
    "distribution-token",
)


@pytest.fixture(scope="session")
def _sandbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    with run_sandbox(tmp_path_factory.mktemp("oci-sandbox"), durable=False) as sb:
        yield sb


@pytest.fixture(scope="session")
def _distribution(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    servers: dict[str, object] = {}
    if registry_bin() is None:
        yield servers
        return
    base: Path = tmp_path_factory.mktemp("distribution")
    users = {USER: PASSWORD}
    with (
        DistributionServer.start(base / "anon") as anon,
        DistributionServer.start(base / "basic", users=users) as basic,
        DistributionServer.start(base / "token", users=users, token=True) as token,
    ):
        servers["distribution-anonymous"] = anon
        servers["distribution-htpasswd"] = basic
        servers["distribution-token"] = token
        yield servers


@pytest.fixture(params=KINDS)
def oci(request: pytest.FixtureRequest) -> Iterator[Oci]:
    kind: str = request.param
    if kind.startswith("distribution"):
        servers = request.getfixturevalue("_distribution")
        if kind not in servers:
            pytest.skip("docker-registry is not installed (run .ci/install-system-deps.sh)")
        server = servers[kind]
        needs = kind.endswith("htpasswd")
        pushes_with = None if kind.endswith("anonymous") else (USER, PASSWORD)
        pusher = Pusher(server.url, pushes_with)  # type: ignore[attr-defined]
        yield Oci(kind, server.url, server.host, pusher, needs)  # type: ignore[attr-defined]
        pusher.close()
        return
    sb = request.getfixturevalue("_sandbox_server")
    reg = registry(sb.server)  # type: ignore[attr-defined]
    mode = kind.removeprefix("sandbox-")
    reg.auth = {"anonymous": "none", "bearer-private": "bearer"}.get(mode, mode)
    reg.private = mode == "bearer-private"
    reg.users = {USER: PASSWORD}
    needs = mode in ("basic", "bearer-private")
    url = sb.base_url  # type: ignore[attr-defined]
    pusher = Pusher(url, (USER, PASSWORD))
    yield Oci(kind, url, url.removeprefix("http://"), pusher, needs, server=sb.server)  # type: ignore[attr-defined]
    pusher.close()
