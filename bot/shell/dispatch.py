"""Acting: the one dispatcher that performs the actions the core decided (`bot.core.actions`),
the lifecycle's and promotion's alike, one train's group at a time: its side effects, then
its ledger commit (compare-and-swap, `write_record`: the one ledger writer), then what must
follow the record. Side effects adopt what exists (branch, PR, comment by its hidden key,
deployment, incident) so a crash between a side effect and its ledger commit never
duplicates it.

Dependent writes: each side effect's outcome is folded into the train's record (`_fold`)
before the next action of the group is performed, and an action that needs an earlier one's
result (the deployment needs the bump commit's sha; the incident, the revert commits) reads
it from that folded record by its key (the step's name). The ledger commit writes the folded
record, with the trailers the outcomes earned (`_earned`). So the decided actions are whole
before any write, and `plan` lists exactly what `reconcile` performs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from bot.adapters.github import GitHubPort, LedgerMoved
from bot.config.model import Config
from bot.core import actions as act
from bot.core import culprit_actions as ca
from bot.core import promotion as pm
from bot.core import promotion_actions as pa
from bot.core import release
from bot.core.changelog import WriteChangelog
from bot.core.ledger import (
    INDEX_PATH,
    Missed,
    TrainRecord,
    commit_message,
    decode_index,
    encode,
    encode_index,
    index_entry,
    record_path,
    transition_trailers,
)
from bot.core.promotion_check import CHECK_RUN_ID
from bot.core.release import PublishRelease
from bot.core.retry_actions import OpenRetryPR
from bot.shell.culprit_io import merged_at
from bot.shell.read import Snapshot, has_line

RETRIES = 5  # a promotion record retried on a ledger that moved only elsewhere


def _fold(record: TrainRecord, action: act.Action, outcome: Any, base: str) -> TrainRecord | None:
    """The record after an action's outcome; None abandons the transition."""
    if isinstance(action, act.CreateBranch) and outcome:
        return replace(record, release_sha=str(outcome))
    if isinstance(action, ca.RecutRelease | act.MergeIntoBranch):  # culprit: the merges' commits
        record = merged_at(record, action, outcome)
    if isinstance(action, ca.RecutRelease):
        return record
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
    if isinstance(action, PublishRelease):
        return release.folded(record, outcome)
    if isinstance(action, WriteChangelog):  # the release branch's new head
        return replace(record, release_sha=str(outcome)) if outcome else record
    return _fold_step(record, action, outcome)


def _fold_step(record: TrainRecord, action: act.Action, outcome: Any) -> TrainRecord:
    """A promotion write's outcome, kept in the train's record under its key."""
    promotion = pm.load(record)
    if isinstance(action, pa.BumpStage):
        sha, bumps = outcome
        return pm.store(record, _step(promotion, action.step, commit=sha, bumps=tuple(bumps)))
    if isinstance(action, pa.StartDeployment):
        return pm.store(record, _step(promotion, action.step, deployment=int(outcome)))
    if isinstance(action, pa.RevertChain):
        for name, sha in outcome[0]:
            promotion = _step(promotion, name, status=pm.REVERTED, revert_commit=sha)
        return pm.store(record, promotion)
    if isinstance(action, pa.OpenIncident):
        return pm.store(record, replace(promotion, incident=int(outcome)))
    if isinstance(action, pa.PublishPromotionCheck) and outcome:
        return replace(record, extra={**record.extra, CHECK_RUN_ID: int(outcome)})
    return record


def _step(promotion: pm.Promotion, name: str, **changes: Any) -> pm.Promotion:
    state = next(s for s in promotion.steps if s.name == name)
    return promotion.with_step(replace(state, **changes))


def _earned(action: act.Action, outcome: Any) -> list[tuple[str, str]]:
    """The trailers a promotion write's outcome adds to the ledger commit."""
    if isinstance(action, pa.BumpStage):
        sha, bumps = outcome
        return [("Commit", sha), *(("Bump", b.trailer()) for b in bumps)]
    if isinstance(action, pa.RevertChain):
        return [("Commit", sha) for _, sha in outcome[0]]
    if isinstance(action, pa.OpenIncident):
        return [("Incident", f"#{outcome}")]
    return []


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
    if isinstance(action, pa.RequestReviewers):  # a stage's pull request held by a review
        return client.request_reviewers(action.number, list(action.reviewers))
    if isinstance(action, act.Promote):
        return None  # the heading of a move: its steps follow as actions of their own
    if isinstance(action, ca.CULPRIT_ACTIONS):
        from bot.shell.culprit_io import perform_culprit

        return perform_culprit(client, action)
    if isinstance(action, OpenRetryPR):
        from bot.shell.retry_io import perform_retry

        return perform_retry(client, action)
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
            and not isinstance(action, act.Promote)  # a move starts its own group
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
    stage: Any = None,
) -> None:
    """Side effects of one train, then its ledger commit (CAS). Raises LedgerMoved.
    `note` hears of each action performed, as it was decided. `stage`: the promotion
    pass's context (`bot.shell.stage_io.StageCtx`), for promotion's writes."""
    write = group[-1] if isinstance(group[-1], act.WriteLedger) else None
    record = write.record if write else None
    base = config.train(record.train).base if record and has_line(config, record) else "main"
    events = write.events if write else ()
    current = record or (_as_recorded(stage, snap, group[0].train_id) if stage else None)
    earned: list[tuple[str, str]] = []
    moved = False
    for action in group[:-1] if write else group:
        if isinstance(action, act.OpenPullRequest) and record is not None and not record.boarded:
            record = _no_train_pr(record)  # every merge failed: nothing to open
            events = tuple(e for e in events if e != "open-pr")
            continue
        done = action
        if isinstance(action, act.OpenPullRequest) and record is not None:
            action = _with_notes(config, action, record)
        if stage is not None and _is_step(action):
            from bot.shell.stage_io import perform_step

            assert current is not None
            outcome = perform_step(stage, action, record or current, moved)
            moved = moved or (isinstance(action, pa.RevertChain) and bool(outcome[1]))
            earned += _earned(action, outcome)
        elif isinstance(action, PublishRelease):
            from bot.shell import release_io

            outcome = release_io.perform(client, config, record or current, action)
        elif isinstance(action, WriteChangelog):
            from bot.shell import release_io

            outcome = release_io.write_changelog(client, config, record, action)
        else:
            outcome = perform(client, action)
        note(done)
        if record is not None:
            record = _fold(record, action, outcome, base)
            if record is None:
                return  # e.g. the merge was refused: judge again next time
    if write is None or record is None:
        return
    if stage is not None and stage.check_runs.get(record.id):  # later rounds need not look
        record = _fold_step(
            record, pa.PublishPromotionCheck(record.id), stage.check_runs[record.id]
        )
    trailers = [*write.trailers, *earned]
    write_record(client, config, snap, replace(write, events=events, record=record), delivery,
                 trailers)  # fmt: skip
    if stage is not None:
        stage.written[record.id] = record
    note(write)


def _is_step(action: act.Action) -> bool:
    return isinstance(
        action,
        pa.BumpStage | pa.StartDeployment | pa.RevertChain | pa.OpenIncident
        | pa.AnnounceRollback | pa.PublishPromotionCheck | pa.UpdateStageTable
        | act.SetDeploymentStatus,
    )  # fmt: skip


def _as_recorded(stage: Any, snap: Snapshot, train_id: str) -> TrainRecord | None:
    """The train's record after this pass's last write (effects that follow the record)."""
    return stage.written.get(train_id) or snap.ledger.record(train_id)


def write_record(
    client: GitHubPort,
    config: Config,
    snap: Snapshot,
    write: act.WriteLedger,
    delivery: str | None,
    trailers: list[tuple[str, str]],
) -> None:
    """The one ledger writer: the train's record (and `write.files`) in one commit on the
    tip read, compare-and-swap. A lost swap raises `LedgerMoved` (read again, decide again),
    except for a promotion record when the write that won touched neither this train's
    file nor the other files written here (another train moved): it is retried on the new
    tip, so a base-branch commit already made is never left out of the ledger."""
    from bot.shell import ledger_trust

    record = write.record
    base = transition_trailers(write.events, record, actor=write.actor, delivery=delivery)
    message = commit_message(write.events[0], record.id, base + trailers)
    own = [record_path(record.id), *write.files]
    for attempt in range(RETRIES):
        snap.index[record.id] = index_entry(record)
        files = {
            record_path(record.id): encode(record),
            INDEX_PATH: encode_index(snap.index),
            **write.files,
        }
        try:
            snap.tip = client.write_ledger(config.ledger_branch, snap.tip, files, message)
            return
        except LedgerMoved:
            if not write.promotion or attempt == RETRIES - 1:
                raise
            fresh, _ = ledger_trust.read_tip(client, config.ledger_branch)
            if any(fresh.files.get(p) != snap.tip.files.get(p) for p in own):
                raise
            index_sha = fresh.files.get(INDEX_PATH)
            snap.index = decode_index(client.read_blob(index_sha)) if index_sha else {}
            snap.tip = fresh


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
