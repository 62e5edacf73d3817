"""Check runs, suites and commit statuses over HTTP through githubkit's ordinary client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from githubkit import GitHub
from githubkit.exception import RequestFailed

from bot.sandbox.runner import Sandbox

REPO = ("acme", "shop")


@pytest.fixture
def shop(sandbox: Sandbox) -> str:
    sandbox.scenario.demo()
    sha = sandbox.git.resolve("acme/shop", "main")
    assert sha is not None
    return sha


@pytest.fixture
def bot(sandbox: Sandbox) -> Iterator[GitHub[Any]]:
    with GitHub(sandbox.bot_token(), base_url=sandbox.base_url, auto_retry=False) as gh:
        yield gh


def notes(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {"path": "deploy/prod.yaml", "start_line": i + 1, "end_line": i + 1,
         "annotation_level": "warning", "message": f"problem {i}"}
        for i in range(start, start + n)
    ]  # fmt: skip


def create(gh: GitHub[Any], sha: str, **fields: Any) -> dict[str, Any]:
    data = {"name": "release-train/gate", "head_sha": sha, **fields}
    return gh.request("POST", "/repos/acme/shop/check-runs", json=data).json()


def test_create_update_get_and_list_a_check_run(bot: GitHub[Any], shop: str) -> None:
    created = gh_create = create(bot, shop, status="in_progress", external_id="t-1")
    assert created["status"] == "in_progress" and created["conclusion"] is None
    assert created["app"]["slug"] == "release-train"
    run_id = gh_create["id"]
    updated = bot.rest.checks.update(
        *REPO, run_id, data={"conclusion": "failure", "output": {"title": "Gate", "summary": "no"}}
    ).json()
    assert updated["status"] == "completed" and updated["conclusion"] == "failure"
    assert updated["completed_at"]
    got = bot.rest.checks.get(*REPO, run_id).json()
    assert got["output"]["title"] == "Gate"
    listed = bot.rest.checks.list_for_ref(*REPO, "main", check_name="release-train/gate").json()
    assert listed["total_count"] == 1 and listed["check_runs"][0]["id"] == run_id
    none = bot.rest.checks.list_for_ref(*REPO, shop, status="in_progress").json()
    assert none["total_count"] == 0


def test_annotations_in_several_patches_arrive_complete(bot: GitHub[Any], shop: str) -> None:
    run = create(bot, shop, output={"title": "t", "summary": "s", "annotations": notes(50)})
    for start in (50, 100):
        data: Any = {"output": {"title": "t", "summary": "s", "annotations": notes(50, start)}}
        bot.rest.checks.update(*REPO, run["id"], data=data)
    got = bot.rest.checks.get(*REPO, run["id"]).json()
    assert got["output"]["annotations_count"] == 150
    page1 = bot.rest.checks.list_annotations(*REPO, run["id"], per_page=100)
    page2 = bot.rest.checks.list_annotations(*REPO, run["id"], per_page=100, page=2)
    messages = [a["message"] for a in page1.json() + page2.json()]
    assert messages == [f"problem {i}" for i in range(150)]
    assert 'rel="next"' in page1.headers["link"]


def test_51_annotations_in_one_request_is_422_and_nothing_changes(
    bot: GitHub[Any], shop: str
) -> None:
    run = create(bot, shop, output={"title": "t", "summary": "s", "annotations": notes(3)})
    body = {"output": {"title": "t", "summary": "s", "annotations": notes(51)}}
    with pytest.raises(RequestFailed) as failed:  # githubkit's own models refuse 51 too
        bot.request("PATCH", f"/repos/acme/shop/check-runs/{run['id']}", json=body)
    assert failed.value.response.status_code == 422
    assert "50" in failed.value.response.json()["errors"][0]["message"]
    assert bot.rest.checks.get(*REPO, run["id"]).json()["output"]["annotations_count"] == 3
    with pytest.raises(RequestFailed) as on_create:
        create(bot, shop, output={"title": "t", "summary": "s", "annotations": notes(51)})
    assert on_create.value.response.status_code == 422


def test_output_longer_than_65535_characters_is_422(bot: GitHub[Any], shop: str) -> None:
    create(bot, shop, output={"title": "t", "summary": "x" * 65535})
    with pytest.raises(RequestFailed) as failed:
        create(bot, shop, output={"title": "t", "summary": "x" * 65536})
    assert failed.value.response.status_code == 422
    assert failed.value.response.json()["errors"][0]["field"] == "output.summary"


def test_bad_inputs(bot: GitHub[Any], shop: str) -> None:
    for fields, status in (
        ({"head_sha": "0" * 40}, 422),
        ({"status": "completed"}, 422),
        ({"conclusion": "great"}, 422),
    ):
        with pytest.raises(RequestFailed) as failed:
            create(bot, shop, **fields)
        assert failed.value.response.status_code == status, fields


def test_reader_cannot_create_and_a_developer_is_ci(sandbox: Sandbox, shop: str) -> None:
    with GitHub(sandbox.token("reader-erin"), base_url=sandbox.base_url) as reader:
        with pytest.raises(RequestFailed) as failed:
            create(reader, shop)
        assert failed.value.response.status_code == 403
    with GitHub(sandbox.token("dev-alice"), base_url=sandbox.base_url) as ci:
        run = create(ci, shop, conclusion="success")
    assert run["app"]["slug"].startswith("sandbox-ci")


def test_filter_latest_keeps_the_newest_run_per_name(bot: GitHub[Any], shop: str) -> None:
    create(bot, shop, conclusion="failure")
    newest = create(bot, shop, conclusion="success")
    latest = bot.rest.checks.list_for_ref(*REPO, shop).json()
    assert [r["id"] for r in latest["check_runs"]] == [newest["id"]]
    everything = bot.rest.checks.list_for_ref(*REPO, shop, filter_="all").json()
    assert everything["total_count"] == 2


def test_suite_is_created_with_runs_and_completes(bot: GitHub[Any], shop: str) -> None:
    run = create(bot, shop, status="queued")
    suites = bot.rest.checks.list_suites_for_ref(*REPO, shop).json()
    [suite] = suites["check_suites"]
    assert suite["id"] == run["check_suite"]["id"] and suite["status"] == "queued"
    bot.rest.checks.update(*REPO, run["id"], data={"conclusion": "success"})
    suite = bot.rest.checks.get_suite(*REPO, suite["id"]).json()
    assert (suite["status"], suite["conclusion"]) == ("completed", "success")
    assert suite["head_commit"]["id"] == shop
    runs = bot.rest.checks.list_for_suite(*REPO, suite["id"]).json()
    assert runs["total_count"] == 1
    assert bot.rest.checks.rerequest_run(*REPO, run["id"]).status_code == 201


def test_scenario_checks_are_listed(sandbox: Sandbox, bot: GitHub[Any], shop: str) -> None:
    sandbox.scenario.set_check("acme/shop", shop, "ci/build", conclusion="success")
    listed = bot.rest.checks.list_for_ref(*REPO, "main", check_name="ci/build").json()
    [run] = listed["check_runs"]
    assert run["conclusion"] == "success" and run["check_suite"] is None


def test_actions_are_limited_to_three_well_formed_buttons(bot: GitHub[Any], shop: str) -> None:
    button = {"label": "Hold", "description": "Hold the train", "identifier": "hold"}
    run = create(bot, shop, actions=[button])
    assert run["id"]
    for actions in ([button] * 4, [{**button, "label": "x" * 21}], [{"label": "Hold"}]):
        with pytest.raises(RequestFailed) as failed:
            create(bot, shop, actions=actions)
        assert failed.value.response.status_code == 422
