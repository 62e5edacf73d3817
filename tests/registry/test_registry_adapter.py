"""The registry adapter against real registries (the sandbox's OCI subset and CNCF
Distribution), with the same expectations for each."""

from __future__ import annotations

import re

import pytest
from oci_images import DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, PASSWORD, USER, Oci

from bot.adapters.registry import Image, Missing, RegistryClient
from bot.config.imageref import parse_image
from bot.config.outbound import OutboundPolicy
from bot.errors import ExternalError

SHA = "a" * 40
OTHER = "b" * 40
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def _policy(oci: Oci) -> OutboundPolicy:
    return oci.with_credentials() if oci.needs_credentials else oci.policy


def test_resolves_digest_and_revision(oci: Oci) -> None:
    name = oci.name()
    pushed = oci.pusher.image(name, SHA[:7], revision=SHA)
    ref = parse_image(f"{oci.host}/{name}:{SHA[:7]}")
    with RegistryClient(_policy(oci)) as client:
        found = client.resolve(ref)
        assert isinstance(found, Image)
        assert found.digest == pushed and DIGEST.match(found.digest)
        assert found.media_type == OCI_MANIFEST
        assert found.revision == SHA
        assert client.head(ref) == pushed


def test_few_requests_per_resolve(oci: Oci) -> None:
    name = oci.name()
    oci.pusher.image(name, "v1", revision=SHA)
    ref = parse_image(f"{oci.host}/{name}:v1")
    with RegistryClient(_policy(oci)) as client:
        client.resolve(ref)
        first = client.requests
        client.resolve(ref)
        again = client.requests - first
        client.head(ref)
        head = client.requests - first - again
    # manifest + config blob; the first request's 401 costs a retry, and a Bearer
    # challenge one token request (reused afterwards)
    challenge = {"anonymous": 0, "basic": 1, "htpasswd": 1}.get(oci.kind.split("-", 1)[1], 2)
    assert first == 2 + challenge
    assert again == 2 and head == 1


def test_a_train_of_repositories_shares_one_token_request(oci: Oci) -> None:
    names = [oci.name("acme/svc") for _ in range(3)]
    refs = [parse_image(f"{oci.host}/{n}:v1") for n in names]
    for name in names:
        oci.pusher.image(name, "v1", revision=SHA)
    with RegistryClient(_policy(oci)) as client:
        client.expect(refs)
        assert all(isinstance(client.resolve(ref), Image) for ref in refs)
        challenge = {"anonymous": 0, "basic": 1, "htpasswd": 1}.get(oci.kind.split("-", 1)[1], 2)
        assert client.requests == 2 * len(refs) + challenge
    with RegistryClient(_policy(oci)) as client:  # not told: a token per repository, no 401
        assert all(isinstance(client.resolve(ref), Image) for ref in refs)
        per_repo = 1 if challenge == 2 else 0
        assert client.requests == 2 * len(refs) + challenge + per_repo * (len(refs) - 1)


def test_unknown_tag_and_repository_are_missing_values(oci: Oci) -> None:
    name = oci.name()
    oci.pusher.image(name, "v1", revision=SHA)
    with RegistryClient(_policy(oci)) as client:
        tag = client.resolve(parse_image(f"{oci.host}/{name}:nope"))
        repo = client.resolve(parse_image(f"{oci.host}/{name}-none:v1"))
        head = client.head(parse_image(f"{oci.host}/{name}:nope"))
    assert isinstance(tag, Missing) and "nope" in tag.reason
    assert isinstance(repo, Missing) and isinstance(head, Missing)


def test_repushed_tag_points_to_another_digest(oci: Oci) -> None:
    name = oci.name()
    first = oci.pusher.image(name, "v1", revision=SHA)
    ref = parse_image(f"{oci.host}/{name}:v1")
    with RegistryClient(_policy(oci)) as client:
        assert client.head(ref) == first
        second = oci.pusher.image(name, "v1", revision=OTHER)
        assert second != first
        assert client.head(ref) == second
        pinned = client.resolve(parse_image(f"{oci.host}/{name}@{first}"))
    assert isinstance(pinned, Image) and pinned.revision == SHA


def test_index_picks_the_platform(oci: Oci) -> None:
    name = oci.name()
    digest = oci.pusher.index(name, "multi", {"linux/arm64": OTHER, "linux/amd64": SHA})
    ref = parse_image(f"{oci.host}/{name}:multi")
    with RegistryClient(_policy(oci)) as client:
        amd = client.resolve(ref)
    with RegistryClient(_policy(oci), platform="linux/arm64") as client:
        arm = client.resolve(ref)
    assert isinstance(amd, Image) and isinstance(arm, Image)
    assert amd.digest == arm.digest == digest and amd.media_type == OCI_INDEX
    assert (amd.revision, arm.revision) == (SHA, OTHER)
    assert amd.manifest_digest != arm.manifest_digest
    windows = RegistryClient(_policy(oci), platform="windows/amd64")
    with windows, pytest.raises(ExternalError, match="no windows/amd64 manifest"):
        windows.resolve(ref)


def test_docker_v2_manifest_and_annotation_revision(oci: Oci) -> None:
    name = oci.name()
    oci.pusher.image(name, "docker", media_type=DOCKER_MANIFEST, revision=SHA)
    oci.pusher.image(name, "annotated", annotations={"org.opencontainers.image.revision": OTHER})
    with RegistryClient(_policy(oci)) as client:
        docker = client.resolve(parse_image(f"{oci.host}/{name}:docker"))
        annotated = client.resolve(parse_image(f"{oci.host}/{name}:annotated"))
    assert isinstance(docker, Image) and docker.media_type == DOCKER_MANIFEST
    assert docker.revision == SHA
    assert isinstance(annotated, Image) and annotated.revision == OTHER


def test_credentials_missing_or_wrong_name_what_to_set(oci: Oci) -> None:
    if not oci.needs_credentials:
        pytest.skip("this registry serves anonymous pulls")
    name = oci.name()
    oci.pusher.image(name, "v1", revision=SHA)
    ref = parse_image(f"{oci.host}/{name}:v1")
    with RegistryClient(oci.policy) as client, pytest.raises(ExternalError) as anonymous:
        client.resolve(ref)
    assert anonymous.value.status == 401 and anonymous.value.exit_code == 4
    assert "RELEASE_TRAIN_SOURCES" in anonymous.value.message
    assert "username_env" in anonymous.value.message
    wrong = oci.with_credentials(USER, PASSWORD + "x")
    with RegistryClient(wrong) as client, pytest.raises(ExternalError) as refused:
        client.head(ref)
    assert "source registry" in refused.value.message
    assert PASSWORD not in refused.value.message


def test_the_sandbox_ci_stand_in_pushes_what_the_adapter_reads(oci: Oci) -> None:
    if not oci.kind.startswith("sandbox"):
        pytest.skip("push_image is the sandbox's in-process push")
    from bot.sandbox.api.oci import push_image

    name = oci.name()
    digest = push_image(oci.server, name, SHA[:7], revision=SHA)
    with RegistryClient(_policy(oci)) as client:
        found = client.resolve(parse_image(f"{oci.host}/{name}:{SHA[:7]}"))
    assert isinstance(found, Image) and (found.digest, found.revision) == (digest, SHA)
