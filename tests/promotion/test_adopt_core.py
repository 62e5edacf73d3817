"""`landed_step` (pure): a promote commit of this train and step found in the branch's recent
history gives its sha and the tags it replaced; anything else gives nothing to adopt."""

from __future__ import annotations

from datetime import timedelta

from bot.core.promotion import BumpLine, StepPlan, landed_step, promote_message, revert_message

TRAIN = "web-2026-03-02"
STEP = StepPlan("production", "production", ("deploy/production/*",), timedelta(hours=1))
MADE = (
    BumpLine("web", "1.0.0", TRAIN, ("deploy/production/k.yaml",)),
    BumpLine("api", "", TRAIN, ("deploy/production/k.yaml",)),
)
# what a restart reads from files already at the tags
FOUND = tuple(BumpLine(b.service, b.new, b.new, b.files) for b in MADE)


def _other(subject: str) -> str:
    return f"{subject}\n\nSigned-off-by: someone\n"


def test_the_promote_commit_under_later_commits_is_adopted() -> None:
    commits = [
        ("c3", _other("docs: typo")),
        ("c2", promote_message(TRAIN, STEP, MADE)),
        ("c1", promote_message(TRAIN, StepPlan("staging", "staging", (), STEP.soak), MADE)),
    ]
    assert landed_step(commits, TRAIN, "production", FOUND) == ("c2", MADE)


def test_none_is_the_old_tag_of_a_service_the_files_did_not_name() -> None:
    message = promote_message(TRAIN, STEP, MADE)
    assert "Bump: api (none) -> " in message
    sha, bumps = landed_step([("c2", message)], TRAIN, "production", FOUND) or ("", ())
    assert sha == "c2" and {b.service: b.old for b in bumps} == {"web": "1.0.0", "api": ""}


def test_a_newer_revert_of_the_step_means_nothing_to_adopt() -> None:
    commits = [
        ("c3", revert_message(TRAIN, "production", "c2", ["error-rate 0.2 > 0.01 (5m)"])),
        ("c2", promote_message(TRAIN, STEP, MADE)),
    ]
    assert landed_step(commits, TRAIN, "production", FOUND) is None


def test_other_trains_and_steps_and_plain_commits_are_not_adopted() -> None:
    other = "web-2026-03-01"
    commits = [
        ("c4", promote_message(other, STEP, MADE)),
        ("c3", promote_message(TRAIN, StepPlan("staging", "staging", (), STEP.soak), MADE)),
        ("c2", _other(f"promote {TRAIN} to production (by hand, no trailers)")),
    ]
    assert landed_step(commits, TRAIN, "production", FOUND) is None
    assert landed_step([], TRAIN, "production", FOUND) is None


def test_only_bumps_read_as_tag_to_tag_and_to_the_same_target_change() -> None:
    """A bump already read with its old tag stays; a trailer to another tag is not taken."""
    elsewhere = (BumpLine("web", "1.0.0", "2.0.0"), BumpLine("api", "", TRAIN))
    message = promote_message(TRAIN, STEP, elsewhere)
    found = (BumpLine("web", TRAIN, TRAIN), BumpLine("api", "0.9", TRAIN))
    assert landed_step([("c2", message)], TRAIN, "production", found) == ("c2", found)


def test_a_merge_commit_of_a_stage_pull_request_is_adopted() -> None:
    """A stage that takes pull requests: the merge commit's message is the PR's title and
    body (the promote message's trailers)."""
    title, _, body = promote_message(TRAIN, STEP, MADE).partition("\n")
    merge = f"{title}\n\n{body.strip()}\n"
    assert landed_step([("m1", merge)], TRAIN, "production", FOUND) == ("m1", MADE)
