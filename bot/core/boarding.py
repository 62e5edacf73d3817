"""Boarding: which PRs ride which train, in label order, and whether each may ride.

Pure: the record, the world and `now` in; a new record and plain values out.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from fnmatch import fnmatchcase

from bot.config.model import BoardingRules, Train
from bot.core import untrusted
from bot.core.approvals import Approver, why_not_counted
from bot.core.gates.migrations import MigrationSettings
from bot.core.ledger import Boarded, Missed, TrainRecord
from bot.core.notes import code_span
from bot.core.world import CheckRun, PullRequest, Review, World, last_labeled

BOT_LOGIN = "release-train[bot]"
FAILING = frozenset({"failure", "cancelled", "timed_out", "action_required", "startup_failure"})


@dataclass(frozen=True)
class BoardingChange:
    boarded: tuple[int, ...] = ()
    deboarded: tuple[tuple[int, str], ...] = ()  # (PR, why)

    def __bool__(self) -> bool:
        return bool(self.boarded or self.deboarded)


def wants_train(pr: PullRequest, train: Train, label: str | None = None) -> bool:
    """An open PR against the train's base carrying the train's label."""
    return pr.state == "open" and pr.base == train.base and (label or train.label) in pr.labels


def labeled_at(pr: PullRequest, label: str, world: World, now: datetime) -> datetime:
    return last_labeled(world.label_events, pr.number, label) or now


def _entry(pr: PullRequest, at: datetime) -> Boarded:
    """A boarding entry; the head is recorded at departure (a PR may change until then)."""
    return Boarded(pr.number, at, pr.title, pr.author, pr.labels)


def sync_boarding(
    record: TrainRecord,
    train: Train,
    world: World,
    riding_elsewhere: Collection[int],
    now: datetime,
    *,
    label: str | None = None,
    pinned: Collection[int] = (),
    dropped: Collection[int] = (),
) -> tuple[TrainRecord, BoardingChange]:
    """Board newly labelled PRs (label order), drop PRs that lost the label or closed.

    Boarded PRs keep their place; a PR changed after boarding stays boarded with its new head.
    `pinned` PRs were just boarded by a command (their label is on its way) and `dropped`
    ones just deboarded (their label is being removed): the world does not show it yet.
    """
    label = label or train.label
    kept: list[Boarded] = []
    deboarded: list[tuple[int, str]] = []
    for entry in record.boarded:
        pr = world.pull(entry.number)
        if pr is None or pr.state != "open":
            deboarded.append((entry.number, "closed"))
        elif label not in pr.labels and entry.number not in pinned:
            deboarded.append((entry.number, "label removed"))
        else:
            kept.append(replace(_entry(pr, entry.labeled_at), head_sha=entry.head_sha))
    present = {b.number for b in kept} | {n for n, _ in deboarded} | set(dropped)
    new = [
        _entry(pr, labeled_at(pr, label, world, now))
        for pr in world.pulls.values()
        if wants_train(pr, train, label)
        and pr.number not in present
        and pr.number not in riding_elsewhere
    ]
    new.sort(key=lambda b: (b.labeled_at, b.number))
    boarded = tuple(sorted([*kept, *new], key=lambda b: (b.labeled_at, b.number)))
    change = BoardingChange(tuple(b.number for b in new), tuple(deboarded))
    return replace(record, boarded=boarded), change


def approved_by(reviews: tuple[Review, ...]) -> tuple[str, ...]:
    """Logins whose latest decisive review is an approval (whether it counts or not)."""
    return tuple(sorted(r.author for r in _latest_approvals(reviews)))


def _latest_approvals(reviews: tuple[Review, ...]) -> list[Review]:
    latest: dict[str, Review] = {}
    for review in reviews:
        if review.state in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
            latest[review.author.lower()] = review
    return [r for r in latest.values() if r.state == "APPROVED"]


def approval_verdicts(
    pr: PullRequest, reviews: tuple[Review, ...]
) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """(approvers that count, (approver, why not) for the others) on this PR: an approval
    counts on the PR's head commit, from a writer, not from its author (`bot.core.approvals`)."""
    counted: list[str] = []
    ignored: list[tuple[str, str]] = []
    for review in sorted(_latest_approvals(reviews), key=lambda r: r.author.lower()):
        approver = Approver(review.author, review.commit_id, review.permission or None)
        why = why_not_counted(approver, pr.head_sha, (pr.author,), BOT_LOGIN)
        if why:
            ignored.append((review.author, why))
        else:
            counted.append(review.author)
    return tuple(counted), tuple(ignored)


def _no_approval(pr: PullRequest, reviews: tuple[Review, ...]) -> Missed | None:
    counted, ignored = approval_verdicts(pr, reviews)
    if counted:
        return None
    if not ignored:
        return Missed(pr.number, "approval", "no approving review")
    why = "; ".join(f"@{login}: {reason}" for login, reason in ignored[:5])
    return Missed(pr.number, "approval", f"no approving review that counts ({why})")


def checks_failing(runs: tuple[CheckRun, ...]) -> tuple[str, ...]:
    return tuple(
        sorted(r.name for r in runs if r.status == "completed" and r.conclusion in FAILING)
    )


def miss_reason(
    pr: PullRequest | None,
    rules: BoardingRules,
    reviews: Mapping[int, tuple[Review, ...]],
    checks: Mapping[str, tuple[CheckRun, ...]],
    required: tuple[str, ...] = (),
    *,
    approved: Collection[int] = (),
    green: Collection[int] = (),
) -> Missed | None:
    """Why this PR cannot ride (before trying to merge it), or None when it may.

    `required` names (or fnmatch patterns of) checks that must have passed on its head.
    `green`: PRs a batch answer (GitHub search `status:success`) already showed with every
    check and status of its head successful; their checks are then not looked at (a
    required check that never reported on such a head is left to the train PR's CI gate).
    `approved` (a search `review:approved` answer) is not trusted: it says nothing of who
    approved or on which commit, so approvals are always judged from the reviews."""
    if pr is None or pr.state != "open":
        return Missed(pr.number if pr else 0, "closed", "the pull request is closed")
    if pr.draft and not rules.allow_drafts:
        return Missed(pr.number, "draft", "the pull request is a draft")
    if rules.require_checks and pr.number not in green:
        runs = checks.get(pr.head_sha, ())
        failing = checks_failing(runs)
        if failing:
            return Missed(pr.number, "checks", "failing checks: " + ", ".join(failing))
        waiting = required_not_passed(runs, required)
        if waiting:
            names = ", ".join(f"`{n}`" for n in waiting)
            return Missed(pr.number, "checks", f"required checks have not passed: {names}")
    if rules.require_approval:
        return _no_approval(pr, reviews.get(pr.number, ()))
    return None


def required_not_passed(runs: tuple[CheckRun, ...], required: tuple[str, ...]) -> tuple[str, ...]:
    """Required check names (or patterns) with no successful run."""
    ok = ("success", "neutral", "skipped")
    passed = [r.name for r in runs if r.status == "completed" and r.conclusion in ok]
    return tuple(p for p in required if not any(fnmatchcase(n, p) for n in passed))


def describe_delta(delta: timedelta) -> str:
    """'in 3h 5m' style relative time (or 'now' when due)."""
    seconds = int(delta.total_seconds())
    if seconds <= 0:
        return "now"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days}d"] if days else []
    parts += [f"{hours}h"] if hours else []
    parts += [f"{minutes}m"] if minutes and not days else []
    return "in " + " ".join(parts or ["<1m"])


def boarded_notice(
    train_id: str,
    departs_at: datetime | None,
    now: datetime,
    label: str,
    migrations: Sequence[str] = (),
    gate: MigrationSettings | None = None,
) -> str:
    """The comment on a PR that boarded. `migrations`: the migration paths the PR changes
    (`bot.core.gates.migrations.migration_paths`); then the comment says so, and what the
    migrations gate (`gate`: its settings) will ask of the train."""
    if departs_at is None:
        departs = "which has no departure in sight (a freeze covers every scheduled one)"
    else:
        when = departs_at.strftime("%Y-%m-%d %H:%M UTC")
        departs = f"which departs at **{when}** ({describe_delta(departs_at - now)})"
    text = f"🚆 This pull request boarded train **{train_id}**, {departs}.\n\n"
    if migrations:
        text += migration_note(migrations, gate) + "\n\n"
    return text + f"To leave the train, comment `/train deboard` or remove the `{label}` label."


def migration_note(
    paths: Sequence[str], gate: MigrationSettings | None = None, limit: int = 10
) -> str:
    """The boarding comment's mark for a PR carrying database migrations."""
    shown = ", ".join(code_span(p) for p in paths[:limit])
    more = f" and {len(paths) - limit} more" if len(paths) > limit else ""
    asks = []
    if gate is not None and gate.approvers:
        asks.append(f"{gate.required} approval(s) from {code_span(gate.approvers)}")
    if gate is not None and gate.windows:
        asks.append("a migration window (`release-train calendar` lists them)")
    head = f"🗄️ **It carries database migrations** ({shown}{more}): the train's "
    if not asks:
        return head + "`release-train/migrations` check lists them."
    return head + f"`release-train/migrations` check waits for {' and '.join(asks)} to merge."


def missed_notice(train_id: str, missed: Missed, label: str, author: str = "") -> str:
    who = f"@{author} " if author else ""
    return (
        f"⚠️ {who}This pull request missed train **{train_id}**: "
        f"{untrusted.markdown_line(missed.detail or missed.reason)}.\n\n"
        f"It keeps the `{label}` label and will board the next train once that is fixed."
    )
