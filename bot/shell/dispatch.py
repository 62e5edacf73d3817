"""Acting: the one dispatcher that performs the actions the core decided (`bot.core.actions`),
one train's group at a time: its side effects, then its ledger commit (compare-and-swap),
then what must follow the record. Side effects adopt what exists (branch, PR, comment by its
hidden key) so a crash between a side effect and its ledger commit never duplicates it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from bot.adapters.github import GitHubPort
from bot.config.model import Config
from bot.core import actions as act
from bot.core.ledger import (
    INDEX_PATH,
    Missed,
    TrainRecord,
    commit_message,
    encode,
    encode_index,
    index_entry,
    record_path,
    transition_trailers,
)
from bot.shell.read import Snapshot, has_line


def _fold(record: TrainRecord, action: act.Action, outcome: Any, base: str) -> TrainRecord | None:
    """The record after an action's outcome; None abandons the transition."""
    if isinstance(action, act.CreateBranch) and outcome:
        return replace(record, release_sha=str(outcome))
    if isinstance(action, act.MergeIntoBranch):
        if outcome is None:
            missed = Missed(
                action.pr,
                "conflict",
                f"merge conflict with `{base}` or an earlier pull request on the train",
            )
            left = tuple(b for b in record.boarded if b.number != action.pr)
            return replace(record, boarded=left, missed=(*record.missed, missed))
        return replace(record, release_sha=str(outcome)) if outcome else record
    if isinstance(action, act.OpenPullRequest):
        return replace(record, train_pr=int(outcome))
    if isinstance(action, act.MergePullRequest):
        return None if outcome is None else replace(record, merge_sha=str(outcome))
    return record


def _with_notes(
    config: Config, action: act.OpenPullRequest, record: TrainRecord
) -> act.OpenPullRequest:
    """The train PR opened in the departure step says what the merges made of the train
    (who rode, who missed, the release branch head), not what was planned."""
    from bot.core.notes import release_notes, render_body

    when = record.state_since or record.created_at
    if when is None or not has_line(config, record):
        return action
    notes = release_notes(config, config.train(record.train), record, when)
    return replace(action, body=render_body(record.id, notes))


def _no_train_pr(record: TrainRecord) -> TrainRecord:
    """A departure whose every PR failed to merge opens no train PR (the next round ends
    the train, telling each why): its history does not claim one was opened."""
    return replace(record, history=tuple(e for e in record.history if e.event != "open-pr"))


def perform(client: GitHubPort, action: act.Action) -> Any:
    """Do one side effect; its outcome (see `_fold`)."""
    if isinstance(action, act.CreateBranch):
        return client.create_branch(action.branch, action.sha)
    if isinstance(action, act.MergeIntoBranch):
        message = f"Board #{action.pr} on {action.train_id}\n\nTrain-Id: {action.train_id}\n"
        return client.merge_into(action.branch, action.head_sha, message)
    if isinstance(action, act.OpenPullRequest):
        return client.open_pull(action.head, action.base, action.title, action.body).number
    if isinstance(action, act.UpdatePullRequest):
        return client.update_pull(action.number, body=action.body)
    if isinstance(action, act.MergePullRequest):
        return client.merge_pull(action.number, action.sha, action.title, action.message)
    if isinstance(action, act.ClosePullRequest):
        return client.update_pull(action.number, state="closed")
    if isinstance(action, act.PostComment):
        return client.post_comment(action.issue, action.body, action.key)
    if isinstance(action, act.AddLabel):
        return client.add_labels(action.issue, [action.label])
    if isinstance(action, act.RemoveLabel):
        return client.remove_label(action.issue, action.label)
    if isinstance(action, act.React):
        return client.react(action.comment_id, action.content)
    if isinstance(action, act.LandPullRequest):
        return _land(client, action)
    if isinstance(action, act.PublishCheckRun):
        rest = tuple(dict(b) for b in action.rest)
        return client.publish_check_run(dict(action.body), action.run_id, rest)
    if isinstance(action, act.SetDeploymentStatus):
        return _set_deployment_status(client, action)
    raise TypeError(f"not a side effect: {action!r}")


def _land(client: GitHubPort, action: act.LandPullRequest) -> None:
    pr = client.pull(action.number)
    if pr is not None and pr.state == "open":
        title = f"Merged in release train {action.train_id}"
        message = f"Train-Id: {action.train_id}\nLanded: #{action.number}\n"
        if client.merge_pull(action.number, pr.head_sha, title, message) is None:
            client.update_pull(action.number, state="closed")
    client.post_comment(action.number, action.comment, f"landed:{action.train_id}:{action.number}")


def _groups(actions: Sequence[act.Action]) -> list[list[act.Action]]:
    groups: list[list[act.Action]] = []
    for action in actions:
        if (
            groups
            and groups[-1][-1].train_id == action.train_id
            and not isinstance(groups[-1][-1], act.WriteLedger)
        ):
            groups[-1].append(action)
        else:
            groups.append([action])
    return groups


def apply_group(
    client: GitHubPort,
    config: Config,
    snap: Snapshot,
    group: list[act.Action],
    delivery: str | None,
    note: Callable[[act.Action], None],
) -> None:
    """Side effects of one train, then its ledger commit (CAS). Raises LedgerMoved.
    `note` hears of each action performed, as it was decided."""
    write = group[-1] if isinstance(group[-1], act.WriteLedger) else None
    record = write.record if write else None
    base = config.train(record.train).base if record and has_line(config, record) else "main"
    events = write.events if write else ()
    for action in group[:-1] if write else group:
        if isinstance(action, act.OpenPullRequest) and record is not None and not record.boarded:
            record = _no_train_pr(record)  # every merge failed: nothing to open
            events = tuple(e for e in events if e != "open-pr")
            continue
        done = action
        if isinstance(action, act.OpenPullRequest) and record is not None:
            action = _with_notes(config, action, record)
        outcome = perform(client, action)
        note(done)
        if record is not None:
            record = _fold(record, action, outcome, base)
            if record is None:
                return  # e.g. the merge was refused: judge again next time
    if write is None or record is None:
        return
    trailers = transition_trailers(events, record, actor=write.actor, delivery=delivery)
    message = commit_message(events[0], record.id, trailers)
    snap.index[record.id] = index_entry(record)
    files = {record_path(record.id): encode(record), INDEX_PATH: encode_index(snap.index)}
    snap.tip = client.write_ledger(config.ledger_branch, snap.tip, files, message)
    note(write)


def _set_deployment_status(client: GitHubPort, action: act.SetDeploymentStatus) -> None:
    """A deployment status, in the stage's GitOps repository when it has its own."""
    from bot.adapters.gitdata import GitData

    other = action.repository
    if not other or other == getattr(client, "repo", other):
        GitData(client).deployment_status(action.deployment, action.state, action.description)
        return
    from bot.adapters.github import GitHubClient

    c: Any = client
    with GitHubClient(
        other, c.token, api_url=c.api_url, cache=c.cache, bot_login=c.bot_login()
    ) as gitops:
        GitData(gitops).deployment_status(action.deployment, action.state, action.description)
