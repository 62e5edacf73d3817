"""Deployments and deployment statuses over HTTP through githubkit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from githubkit import GitHub
from githubkit.exception import RequestFailed

from bot.sandbox.runner import Sandbox

REPO = ("acme", "shop")


@pytest.fixture
def bot(sandbox: Sandbox) -> Iterator[GitHub[Any]]:
    sandbox.scenario.demo()
    with GitHub(sandbox.bot_token(), base_url=sandbox.base_url, auto_retry=False) as gh:
        yield gh


def deploy(gh: GitHub[Any], environment: str, **fields: Any) -> dict[str, Any]:
    data = {"ref": "main", "environment": environment, "required_contexts": [], **fields}
    return gh.request("POST", "/repos/acme/shop/deployments", json=data).json()


def test_create_list_and_filter_deployments(bot: GitHub[Any], sandbox: Sandbox) -> None:
    staging = deploy(bot, "staging", payload={"train": "2024-01-02.1"}, description="train")
    prod = deploy(bot, "production-eu")
    assert staging["sha"] == sandbox.git.resolve("acme/shop", "main")
    assert staging["payload"] == {"train": "2024-01-02.1"}
    assert staging["creator"]["login"] == "release-train[bot]"
    assert staging["performed_via_github_app"]["slug"] == "release-train"
    assert staging["production_environment"] is False
    everything = bot.rest.repos.list_deployments(*REPO).json()
    assert [d["id"] for d in everything] == [prod["id"], staging["id"]]
    only = bot.rest.repos.list_deployments(*REPO, environment="staging").json()
    assert [d["id"] for d in only] == [staging["id"]]
    assert bot.rest.repos.list_deployments(*REPO, ref="nope").json() == []
    assert bot.rest.repos.get_deployment(*REPO, prod["id"]).json()["environment"] == (
        "production-eu"
    )


def test_statuses_and_auto_inactive(bot: GitHub[Any]) -> None:
    first = deploy(bot, "staging")
    bot.rest.repos.create_deployment_status(*REPO, first["id"], state="success")
    second = deploy(bot, "staging")
    created = bot.rest.repos.create_deployment_status(
        *REPO, second["id"], state="success", log_url="https://ci/1", environment_url="https://s"
    ).json()
    assert created["state"] == "success" and created["log_url"] == "https://ci/1"
    old = bot.rest.repos.list_deployment_statuses(*REPO, first["id"]).json()
    assert [s["state"] for s in old] == ["inactive", "success"]
    got = bot.rest.repos.get_deployment_status(*REPO, second["id"], created["id"]).json()
    assert got["environment_url"] == "https://s"


def test_required_contexts_must_be_green(bot: GitHub[Any], sandbox: Sandbox) -> None:
    sha = sandbox.git.resolve("acme/shop", "main")
    assert sha is not None
    sandbox.scenario.set_status("acme/shop", sha, "ci/test", "failure")
    with pytest.raises(RequestFailed) as failed:
        bot.rest.repos.create_deployment(*REPO, ref="main", environment="staging")
    assert failed.value.response.status_code == 409
    assert deploy(bot, "staging")["id"]  # required_contexts: [] skips the check
    sandbox.scenario.set_status("acme/shop", sha, "ci/test", "success")
    ok = bot.rest.repos.create_deployment(*REPO, ref="main", environment="staging")
    assert ok.status_code == 201


def test_bad_inputs(bot: GitHub[Any]) -> None:
    for data, status in (
        ({"ref": "no-such-branch"}, 422),
        ({"environment": "x"}, 422),
    ):
        with pytest.raises(RequestFailed) as failed:
            bot.request("POST", "/repos/acme/shop/deployments", json=data)
        assert failed.value.response.status_code == status, data
    dep = deploy(bot, "staging")
    with pytest.raises(RequestFailed) as failed:
        bot.request(
            "POST", f"/repos/acme/shop/deployments/{dep['id']}/statuses", json={"state": "great"}
        )
    assert failed.value.response.status_code == 422
    with pytest.raises(RequestFailed) as failed:
        bot.rest.repos.get_deployment(*REPO, 999999)
    assert failed.value.response.status_code == 404


def test_reader_cannot_deploy(sandbox: Sandbox, bot: GitHub[Any]) -> None:
    reader = GitHub(sandbox.token("reader-erin"), base_url=sandbox.base_url, auto_retry=False)
    with reader, pytest.raises(RequestFailed) as failed:
        deploy(reader, "staging")
    assert failed.value.response.status_code == 403
