"""Reading the world for one reconcile round: the ledger's open trains, the pull requests
they name, new label events, ChatOps comments, the people who wrote them, and the git state
a departure or a merge decides from. Read only; `bot.core.decide` decides from the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from bot.adapters.github import GitHubPort, LedgerTip
from bot.config.model import BoardingRules, Config
from bot.core.chatops import commenters, pending_commands
from bot.core.decide import departs_at
from bot.core.ledger import INDEX_PATH, Ledger, TrainRecord, decode, decode_index, record_path
from bot.core.train import BOARDING, DEPARTED, MERGED, PROMOTING, is_terminal
from bot.core.world import Comment, LabelEvent, World


@dataclass
class Snapshot:
    """What one round decides from (the promotion pass advances `tip` and `index`)."""

    tip: LedgerTip
    index: dict[str, dict[str, Any]]
    ledger: Ledger
    world: World


def _records(
    client: GitHubPort, tip: LedgerTip, index: dict[str, dict[str, Any]], open_numbers: set[int]
) -> list[TrainRecord]:
    wanted = [
        tid
        for tid, entry in sorted(index.items())
        if not is_terminal(str(entry.get("state")))
        or (entry.get("train_pr") and int(entry["train_pr"]) in open_numbers)
    ]
    if not index:  # an index-less ledger: read every record
        wanted = [p[len("trains/") : -len(".json")] for p in tip.files if p.startswith("trains/")]
    records = []
    for tid in wanted:
        sha = tip.files.get(record_path(tid))
        if sha:
            records.append(decode(client.read_blob(sha)))
    return records


def _referenced(records: Sequence[TrainRecord]) -> set[int]:
    numbers: set[int] = set()
    for record in records:
        if record.state == BOARDING:
            numbers |= set(record.boarded_numbers())
        if record.train_pr:
            numbers.add(record.train_pr)
        if record.state == MERGED:
            numbers |= set(record.boarded_numbers()) - set(record.landed)
    return numbers


def _due(config: Config, record: TrainRecord, now: datetime) -> bool:
    train = next((t for t in config.trains if t.name == record.train), None)
    if train is None or record.state != BOARDING:
        return False
    when = departs_at(config, train, record)
    return record.emergency or bool(record.depart_requested) or (when is not None and now >= when)


def read_world(config: Config, client: GitHubPort, tip: LedgerTip, now: datetime) -> Snapshot:
    """Everything one round decides from."""
    index_sha = tip.files.get(INDEX_PATH)
    index = decode_index(client.read_blob(index_sha)) if index_sha else {}
    pulls = {p.number: p for p in client.open_pulls()}
    records = _records(client, tip, index, set(pulls))
    open_records = [r for r in records if not is_terminal(r.state)]
    for number in sorted(_referenced(open_records) - set(pulls)):
        found = client.pull(number)
        if found is not None:
            pulls[number] = found
    world = World(
        bot_login=client.bot_login(),
        pulls=pulls,
        label_events=_new_label_events(config, client, open_records, pulls),
    )
    world = replace(world, comments=_chat_comments(client, open_records, pulls))
    commands = pending_commands(records, world)
    depart_asked = {
        tid for tid, tcs in commands.items() if any(tc.command.name == "depart" for tc in tcs)
    }
    world = replace(world, **_people(config, client, commenters(commands)))
    due = [r for r in open_records if _due(config, r, now) or r.id in depart_asked]
    world = replace(world, **_git_state(config, client, open_records, due, pulls))
    known = frozenset(index) | {r.id for r in records}
    return Snapshot(tip, index, Ledger(tuple(records), known), world)


def _new_label_events(
    config: Config, client: GitHubPort, records: Sequence[TrainRecord], pulls: dict[int, Any]
) -> tuple[LabelEvent, ...]:
    """Label events of PRs about to board, to board them in the order they were labelled.

    Only needed when two or more board at once: a single newcomer was labelled after every
    PR already boarded (or it would have boarded with them), so it goes last."""
    labels = {t.label for t in config.trains} | {t.emergency_label for t in config.trains}
    bases = {t.base for t in config.trains}
    riding = {n for r in records for n in r.boarded_numbers()}
    newcomers = [
        number
        for number, pr in sorted(pulls.items())
        if pr.state == "open"
        and pr.base in bases
        and labels & set(pr.labels)
        and number not in riding
    ]
    if len(newcomers) < 2:
        return ()
    return tuple(e for number in newcomers for e in client.label_events(number))


def _chat_comments(
    client: GitHubPort, records: Sequence[TrainRecord], pulls: dict[int, Any]
) -> tuple[Comment, ...]:
    """Comments on the open trains' PRs (train PR and boarded PRs), in one listing; a
    merged train's PR still takes `/train promote`, `/train rollback` and `/train hold`."""
    promoting = {r.train_pr for r in records if r.state in (MERGED, PROMOTING) and r.train_pr}
    issues = {
        n
        for n in _chat_issues(records)
        if n in pulls and (pulls[n].state == "open" or n in promoting)
    }
    if not issues:
        return ()
    since = min(r.created_at for r in records if r.created_at is not None)
    stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    fingerprint = tuple((n, str(pulls[n].updated_at)) for n in sorted(issues))
    return tuple(c for c in client.repo_comments(stamp, fingerprint) if c.issue in issues)


def _chat_issues(records: Sequence[TrainRecord]) -> set[int]:
    issues: set[int] = set()
    for record in records:
        issues |= set(record.boarded_numbers())
        if record.train_pr:
            issues.add(record.train_pr)
    return issues


def _people(config: Config, client: GitHubPort, logins: set[str]) -> dict[str, Any]:
    permissions = {login: client.permission(login) for login in sorted(logins)}
    team = config.chatops.release_team
    members = frozenset(
        login for login in sorted(logins) if team and client.team_member(team, login)
    )
    return {"permissions": permissions, "release_team": members}


def _git_state(
    config: Config,
    client: GitHubPort,
    records: Sequence[TrainRecord],
    due: Sequence[TrainRecord],
    pulls: dict[int, Any],
) -> dict[str, Any]:
    branches: set[str] = set()
    reviews: dict[int, Any] = {}
    checks: dict[str, Any] = {}
    urgent = [
        p
        for t in config.trains
        for p in pulls.values()
        if t.emergency_label in p.labels and p.state == "open" and p.base == t.base
    ]
    branches |= {config.train(r.train).base for r in due if has_line(config, r)}
    branches |= {p.base for p in urgent}
    rules = {p.number: _rules(config, p.base) for p in urgent}
    for record in due:
        if has_line(config, record):
            rules.update(
                dict.fromkeys(record.boarded_numbers(), config.train(record.train).boarding)
            )
    # Every PR about to ride is read (reviews, check runs): a search hit cannot stand in for
    # the read. `review:approved` cannot say who approved or on which commit (issue 27), and
    # GitHub's index lags: `status:success` still matched a PR whose CI had turned red a
    # moment ago, and it boarded (issue 23, measured with the sandbox's search lag).
    approved: frozenset[int] = frozenset()
    green: frozenset[int] = frozenset()
    for number, rule in sorted(rules.items()):
        pr = pulls.get(number)
        if pr is None:
            continue
        if rule.require_approval and number not in approved:
            reviews[number] = client.reviews(number)
        if rule.require_checks and number not in green:
            checks[pr.head_sha] = client.check_runs(pr.head_sha)
    known: dict[str, str] = {}
    for record in records:
        if record.state != DEPARTED:
            continue
        pr = pulls.get(record.train_pr) if record.train_pr else None
        if pr is not None and _open_train_pr(record, pr):
            # GitHub closes a PR whose head branch is deleted: open, its head is the branch's
            # (and `bot.shell.gate_facts` reads the head's check runs for the gates)
            known[record.release_branch] = pr.head_sha
        else:
            branches.add(record.release_branch)  # deleted by hand?
        # a merged one too: its merge answer may have been lost, and the record still
        # has to say who approved it
        if pr is not None and (pr.state == "open" or pr.merged):
            reviews[pr.number] = client.reviews(pr.number)
        if pr is not None and pr.merged:
            checks[pr.head_sha] = client.check_runs(pr.head_sha)
    heads = {**client.branch_heads({b for b in branches if b}), **known}
    return {
        "branches": heads,
        "reviews": reviews,
        "checks": checks,
        "approved": approved,
        "green": green,
    }


def _open_train_pr(record: TrainRecord, pr: Any) -> bool:
    return bool(
        pr is not None
        and pr.state == "open"
        and pr.head_sha
        and record.release_branch
        and pr.head_ref == record.release_branch
    )


def _rules(config: Config, base: str) -> BoardingRules:
    return next((t.boarding for t in config.trains if t.base == base), BoardingRules())


def has_line(config: Config, record: TrainRecord) -> bool:
    return any(t.name == record.train for t in config.trains)
