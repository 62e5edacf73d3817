"""Performing `bot.core.release.PublishRelease` (called by the one dispatcher,
`bot.shell.dispatch`): the body rendered from the train's record as it stands (folded: the
incident and the revert commits are known), the Release and the annotated tag adopted when
they exist, created otherwise. Outcome: the Release's {"id", "url", "state"}."""

from __future__ import annotations

from typing import Any

from bot.adapters.releases import Releases
from bot.config.model import Config
from bot.core import changelog, release
from bot.core.ledger import TrainRecord
from bot.errors import ExternalError


def _notes(config: Config, record: TrainRecord) -> str:
    from bot.core.notes import release_notes
    from bot.shell.read import has_line

    when = record.state_since or record.created_at
    if when is None or not has_line(config, record):
        return f"## Release train {record.id}\n"
    return release_notes(config, config.train(record.train), record, when)


def fields_for(config: Config, record: TrainRecord, state: str, tag: str) -> dict[str, Any]:
    """What the Release should say and be in `state`."""
    fields: dict[str, Any] = {
        "tag_name": tag,
        "name": release.title(record, state),
        "body": release.body(record, _notes(config, record), state),
    }
    if state == release.DRAFT:
        from bot.shell.read import has_line

        base = config.train(record.train).base if has_line(config, record) else "main"
        target = record.release_branch or base
        return {**fields, "draft": True, "prerelease": False, "target_commitish": target}
    rolled = state == release.ROLLED_BACK
    return {**fields, "draft": False, "prerelease": rolled, "target_commitish": record.merge_sha}


def _differs(found: dict[str, Any], fields: dict[str, Any]) -> bool:
    return any(found.get(k) != v for k, v in fields.items() if k != "target_commitish")


def perform(
    client: Any, config: Config, record: TrainRecord | None, action: release.PublishRelease
) -> dict[str, Any] | None:
    """Bring the Release to `action.state`; None when there is nothing to release (a
    departure whose every pull request missed the train). A failure that retrying cannot
    fix (a tag of that name on another commit, a rule, a missing permission) is recorded
    as the Release's `error` instead of holding up the train's move (a departure, a
    completion, a rollback must not wait on its Release); a passing one is raised, and the
    move is decided and performed again next round."""
    if record is None or (action.state == release.DRAFT and not record.boarded):
        return None
    try:
        return _perform(client, config, record, action)
    except ExternalError as exc:
        if exc.retryable:
            raise
        return {"error": f"{action.describe()}: {exc.message}"}


def _perform(
    client: Any, config: Config, record: TrainRecord, action: release.PublishRelease
) -> dict[str, Any]:
    api = Releases(client)
    fields = fields_for(config, record, action.state, action.tag)
    found = api.find(action.tag, int(release.recorded(record).get("id") or 0))
    if action.state == release.DRAFT and found is not None and not found.get("draft"):
        return {"id": found["id"], "url": found["html_url"], "state": release.PUBLISHED}
    if action.state != release.DRAFT:
        api.annotated_tag(action.tag, record.merge_sha, release.tag_message(record))
        latest = "true" if action.state == release.PUBLISHED else "false"
        fields = {**fields, "make_latest": latest}
    if found is None:
        done = api.create(fields)
    elif _differs(found, {k: v for k, v in fields.items() if k != "make_latest"}):
        done = api.update(int(found["id"]), fields)
    else:
        done = found
    return {"id": int(done["id"]), "url": str(done["html_url"]), "state": action.state,
            "error": ""}  # fmt: skip


def write_changelog(
    client: Any, config: Config, record: TrainRecord | None, action: changelog.WriteChangelog
) -> str | None:
    """One commit on the release branch adding the train's notes atop the changelog file;
    the branch's head (unchanged when the entry is already there). None: nothing rode."""
    from bot.adapters.gitdata import GitData

    if record is None or not record.boarded:
        return None
    git = GitData(client)
    message = f"Add the notes of {record.id} to {action.path}\n\nTrain-Id: {record.id}\n"
    for _ in range(3):  # the branch moved under us: read it again
        tip = git.tip(action.branch)
        old = git.read(tip, [action.path])[action.path] if action.path in tip.files else None
        new = changelog.with_entry(old, _notes(config, record), record.id)
        if new is None:
            return tip.commit
        sha = git.commit(action.branch, tip, {action.path: new}, message)
        if sha:
            return sha
    raise ExternalError("GitHub", f"{action.branch} kept moving: the changelog commit waits")
