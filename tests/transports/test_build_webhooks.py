"""A build that finished or an image that was pushed makes the bot look at the repository
again (a train waiting for its artifact set settles it in that reconcile): GitHub's own
example payloads in, a Route to their repository out."""

from __future__ import annotations

import pytest
from transport_kit import example

from bot.transports.routing import route

BOT = "release-train[bot]"


@pytest.mark.parametrize(
    ("event", "action"),
    [("check_run", "completed"), ("workflow_run", "completed"), ("package", "published")],
)
def test_a_finished_build_or_a_pushed_image_reconciles_its_repository(
    event: str, action: str
) -> None:
    payload = example(event, action)
    r = route(event, payload, bot_login=BOT)
    assert not r.ignored, r.reason
    assert r.repo == payload["repository"]["full_name"]


def test_registry_package_published_reconciles_its_repository() -> None:
    # GitHub sends `registry_package` beside `package` for a container image; the examples
    # package has no `registry_package` payload, so this is the `package` one under the
    # key GitHub's registry_package payload uses (routing reads action and repository)
    payload = dict(example("package", "published"))
    payload["registry_package"] = payload.pop("package")
    r = route("registry_package", payload, bot_login=BOT)
    assert not r.ignored, r.reason
    assert r.repo == payload["repository"]["full_name"]


def test_a_package_deleted_changes_no_train() -> None:
    payload = dict(example("package", "published"), action="deleted")
    assert route("package", payload, bot_login=BOT).ignored
