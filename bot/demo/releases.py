"""The demo's view of each train's GitHub Release: what `demo --json` lists per train (tag,
url, state, latest) and the line the narration says once a train completed or rolled back,
read over the sandbox API as a user would see it."""

from __future__ import annotations

from typing import Any

from bot.core import release
from bot.core.ledger import TrainRecord
from bot.sandbox.http import ApiError


def summary(world: Any, record: TrainRecord) -> dict[str, Any] | None:
    """{tag, url, state, draft, prerelease, latest} of the train's Release (None: none)."""
    known = release.recorded(record)
    if not known.get("id"):
        return None
    found = world.get(f"/releases/{known['id']}")
    try:
        latest = world.get("/releases/latest").get("id") == found["id"]
    except ApiError:  # no latest release yet (404)
        latest = False
    return {
        "tag": found["tag_name"],
        "url": found["html_url"],
        "state": known.get("state", ""),
        "draft": found["draft"],
        "prerelease": found["prerelease"],
        "latest": latest,
    }


def say(world: Any, train_id: str) -> None:
    """Narrate the train's Release: its tag, state, whether it is the latest, its url."""
    record = world.record(train_id)
    shown = summary(world, record) if record is not None else None
    if shown is None:
        world.say("demo", f"{train_id} has no GitHub Release", "note")
        return
    latest = "the latest" if shown["latest"] else "not the latest"
    kind = "draft" if shown["draft"] else "prerelease" if shown["prerelease"] else "published"
    world.say("demo", f"Release {shown['tag']}: {shown['state']} ({kind}, {latest}) {shown['url']}")
