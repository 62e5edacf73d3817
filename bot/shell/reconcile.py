"""The one reconcile loop: read config, ledger and world; decide; act; record.

Level-triggered and idempotent: every side effect is derived from the ledger and the world,
so running it again right after does nothing. Each train's side effects run first and its
ledger commit last (compare-and-swap); a lost swap means somebody else moved first, so the
loop re-reads and decides again. Side effects adopt what exists (branch, PR, comment by its
hidden key) so a crash between a side effect and its ledger commit never duplicates it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from bot.adapters.github import GitHubPort, LedgerMoved, LedgerTip
from bot.config.model import BoardingRules, Config
from bot.config.repo import CONFIG_PATH, load_repo_config
from bot.core import actions as act
from bot.core.chatops import commands_per_author, commenters, pending_commands
from bot.core.consent import OperatorPolicy
from bot.core.decide import decide, departs_at, next_due
from bot.core.ledger import (
    INDEX_PATH,
    Ledger,
    Missed,
    TrainRecord,
    commit_message,
    decode,
    decode_index,
    encode,
    encode_index,
    index_entry,
    record_path,
    transition_trailers,
)
from bot.core.train import ABORTED, BOARDING, DEPARTED, MERGED, PROMOTING, is_terminal
from bot.core.world import Comment, LabelEvent, PullRequest, World
from bot.errors import ConfigError, ExternalError
from bot.shell import ledger_trust
from bot.shell.consent import require_consent

MAX_ROUNDS = 6


@dataclass(frozen=True)
class ReconcileResult:
    actions_planned: tuple[str, ...] = ()
    actions_done: tuple[str, ...] = ()
    trains: tuple[tuple[str, str], ...] = ()  # (train id, state) of the loaded trains
    problems: tuple[str, ...] = ()
    requests: int = 0
    rounds: int = 0
    next_due: datetime | None = None  # when time alone will change a decision

    def as_json(self) -> dict[str, Any]:
        return {
            "actions_planned": list(self.actions_planned),
            "actions_done": list(self.actions_done),
            "trains": [{"id": i, "state": s} for i, s in self.trains],
            "problems": list(self.problems),
            "requests": self.requests,
            "next_due": self.next_due.isoformat() if self.next_due else None,
        }


@dataclass
class _Snapshot:
    tip: LedgerTip
    index: dict[str, dict[str, Any]]
    ledger: Ledger
    world: World


@dataclass
class _Run:
    planned: list[str] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    trains: tuple[tuple[str, str], ...] = ()
    due: datetime | None = None
    moved: bool = False
    gate_request: Any = None  # a re-run or check-run button (bot.core.gates.events), once
    repo: str = ""  # owner/name, for search queries
    commands_run: dict[str, int] = field(default_factory=dict)  # per author, this reconcile


# -- reading ------------------------------------------------------------------------------


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


def read_world(
    config: Config, client: GitHubPort, tip: LedgerTip, now: datetime, repo: str = ""
) -> _Snapshot:
    """Everything one round decides from. `repo` ("owner/name") lets departures ask GitHub
    search in batch instead of reading each PR's reviews and checks."""
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
    world = replace(world, **_git_state(config, client, open_records, due, pulls, repo))
    known = frozenset(index) | {r.id for r in records}
    return _Snapshot(tip, index, Ledger(tuple(records), known), world)


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
    repo: str = "",
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
    branches |= {config.train(r.train).base for r in due if _has_line(config, r)}
    branches |= {p.base for p in urgent}
    rules = {p.number: _rules(config, p.base) for p in urgent}
    for record in due:
        if _has_line(config, record):
            rules.update(
                dict.fromkeys(record.boarded_numbers(), config.train(record.train).boarding)
            )
    # search only for departures (GitHub allows 30 searches a minute), not for emergency
    # PRs waiting to be ready, which every reconcile looks at
    departing = {n: rules[n] for r in due for n in r.boarded_numbers() if n in rules}
    approved, green = _batch(config, client, repo, departing, pulls)
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


BATCH_MIN = 3  # a search (a request per page) pays off from this many per-PR reads


def _batch(
    config: Config,
    client: GitHubPort,
    repo: str,
    rules: dict[int, BoardingRules],
    pulls: dict[int, Any],
) -> tuple[frozenset[int], frozenset[int]]:
    """Which of the PRs about to ride GitHub search shows green (`status:success`), one
    search per train label instead of a read per PR (approved: always empty; reviews are
    always read). Only a positive answer stands in for the reads: a PR the search misses
    (red, pending, or not indexed yet) is read as before, and so is every PR when the
    server refuses the qualifier (422)."""
    labels = [label for t in config.trains for label in (t.label, t.emergency_label)]
    groups: dict[str, list[int]] = {}
    for number in sorted(rules):
        pr = pulls.get(number)
        label = next((x for x in labels if pr is not None and x in pr.labels), None)
        if label is not None:
            groups.setdefault(label, []).append(number)
    approved: set[int] = set()
    green: set[int] = set()
    for label, numbers in groups.items() if repo else ():
        # not `review:approved`: it cannot say who approved, or on which commit (issue 27)
        asks = (("status:success", [n for n in numbers if rules[n].require_checks], green),)
        for qualifier, wanted, found in asks:
            if len(wanted) < BATCH_MIN:
                continue
            query = f'repo:{repo} is:pr is:open label:"{label}" {qualifier}'
            answer = client.search_pulls(query)
            found |= set(answer or ()) & set(wanted)
    return frozenset(approved), frozenset(green)


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


def _has_line(config: Config, record: TrainRecord) -> bool:
    return any(t.name == record.train for t in config.trains)


# -- acting -------------------------------------------------------------------------------


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
    if when is None or not _has_line(config, record):
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


def _apply_group(
    client: GitHubPort,
    config: Config,
    snap: _Snapshot,
    group: list[act.Action],
    delivery: str | None,
    run: _Run,
) -> None:
    """Side effects of one train, then its ledger commit (CAS). Raises LedgerMoved."""
    write = group[-1] if isinstance(group[-1], act.WriteLedger) else None
    record = write.record if write else None
    base = config.train(record.train).base if record and _has_line(config, record) else "main"
    events = write.events if write else ()
    for action in group[:-1] if write else group:
        if isinstance(action, act.OpenPullRequest) and record is not None and not record.boarded:
            record = _no_train_pr(record)  # every merge failed: nothing to open
            events = tuple(e for e in events if e != "open-pr")
            continue
        if isinstance(action, act.OpenPullRequest) and record is not None:
            action = _with_notes(config, action, record)
        outcome = perform(client, action)
        run.done.append(action.describe())
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
    run.done.append(write.describe())
    if _stopped_promotion(write):
        run.done.append(_end_promotion_check(client, record))
        ended = _end_soaking_deployment(client, config, record)
        if ended:
            run.done.append(ended)


def _stopped_promotion(write: act.WriteLedger) -> bool:
    """A merged or promoting train just ended at its deadline (`decide._stop_at_deadline`)."""
    record = write.record
    return (
        record.state == ABORTED
        and record.end_reason == "deadline"
        and bool(record.merge_sha)
        and "abort" in write.events
    )


PROMOTION_CHECK = "release-train/promotion"  # the promotion's check run (bot.shell.stage_io)


def _end_promotion_check(client: GitHubPort, record: TrainRecord) -> str:
    """The merge commit's `release-train/promotion` check run says the promotion stopped:
    a newer run of that name, completed `timed_out` (GitHub shows the newest), not one left
    `in_progress` for ever."""
    body = {
        "name": PROMOTION_CHECK,
        "head_sha": record.merge_sha,
        "external_id": record.id,
        "status": "completed",
        "conclusion": "timed_out",
        "output": {
            "title": f"{record.id}: aborted (deadline)",
            "summary": (
                "The train passed its deadline: promotion stopped, no further stage is bumped "
                "and stages already bumped stay as they are. The train PR says what to do."
            ),
        },
    }
    client.publish_check_run(body)
    return f"end check run {PROMOTION_CHECK} for {record.id} (timed_out)"


def _end_soaking_deployment(client: GitHubPort, config: Config, record: TrainRecord) -> str:
    """The deployment of the step that was soaking when the deadline stopped the train turns
    `failure` (as an `slo-inconclusive` abort's does), not one left `in_progress` for ever.
    The step's tags stay deployed; the train PR says what to do."""
    from bot.adapters.gitdata import GitData
    from bot.core import promotion as pm

    state = pm.load(record).current()
    if state is None or state.status != pm.SOAKING or not state.deployment:
        return ""
    step = next((s for s in pm.plan_steps(config) if s.name == state.name), None)
    stage = next((s for s in config.stages if step is not None and s.name == step.stage), None)
    other = stage.repository if stage is not None else ""
    text = f"{record.id} stopped at its deadline; the stage stays as it is"
    if not other or other == getattr(client, "repo", other):
        GitData(client).deployment_status(state.deployment, "failure", text)
    else:
        from bot.adapters.github import GitHubClient

        c: Any = client
        with GitHubClient(
            other, c.token, api_url=c.api_url, cache=c.cache, bot_login=c.bot_login()
        ) as gitops:
            GitData(gitops).deployment_status(state.deployment, "failure", text)
    return f"mark the {state.name} deployment of {record.id} failed (deadline)"


def _next_step(
    config: Config,
    snap: _Snapshot,
    actions: Sequence[act.Action],
    now: datetime,
    gate_facts: dict[str, dict[str, Any]] | None = None,
) -> list[act.Action]:
    """For `plan`: what the following round would do if every action succeeded (merges
    clean, branches made, labels set, train PRs opened). Pure simulation; nothing is read
    or written."""
    records = {r.id: r for r in snap.ledger.records}
    branches = dict(snap.world.branches)
    pulls = dict(snap.world.pulls)
    opened: dict[str, int] = {}
    for action in actions:
        if isinstance(action, act.WriteLedger):
            records[action.record.id] = action.record
        elif isinstance(action, act.CreateBranch):
            branches[action.branch] = action.sha
        elif isinstance(action, act.OpenPullRequest):
            number = max(pulls, default=0) + 1
            pulls[number] = PullRequest(
                number, action.title, snap.world.bot_login, base=action.base,
                head_ref=action.head, head_sha=branches.get(action.head, ""), body=action.body,
            )  # fmt: skip
            opened[action.train_id] = number
        elif isinstance(action, act.AddLabel | act.RemoveLabel) and action.issue in pulls:
            pr = pulls[action.issue]
            labels = tuple(x for x in pr.labels if x != action.label)
            if isinstance(action, act.AddLabel):
                labels += (action.label,)
            pulls[action.issue] = replace(pr, labels=labels)
    for train_id, number in opened.items():
        if train_id in records and not records[train_id].train_pr:
            records[train_id] = replace(records[train_id], train_pr=number)
    ledger = Ledger(tuple(records.values()), snap.ledger.known_ids | set(records))
    world = replace(snap.world, branches=branches, pulls=pulls)
    return decide(config, ledger, world, now, gate_facts)


# -- the loop -----------------------------------------------------------------------------


def reconcile(
    repo: str,
    now: datetime,
    *,
    client: GitHubPort,
    delivery: str | None = None,
    dry_run: bool = False,
    max_rounds: int = MAX_ROUNDS,
    prometheus: Any = None,
    gate_request: Any = None,
    config_path: str = CONFIG_PATH,
    outbound: Any = None,
    cross_repo: OperatorPolicy | None = None,
) -> ReconcileResult:
    """Bring `repo` to where its config, ledger and GitHub state say it should be.

    `prometheus`: the SLO judge's query client (`bot.adapters.prometheus.PrometheusClient`)
    or a factory ``(config) -> client``; None builds one from the config's `prometheus`
    section (credentials from the environment) when it names a URL.
    `gate_request`: what a `check_run` delivery asked of the gates
    (`bot.core.gates.events.gate_request`): re-evaluate gates afresh, or hold the train.
    `config_path`: where the configuration lives on the default branch (a checked,
    repository-relative path: `bot.transports.settings.checked_config_path`).
    `outbound`: the operator's `bot.adapters.outbound.OutboundPolicy`; a configuration
    pointing where it refuses is a configuration error (None: not checked here).
    `cross_repo`: the operator's allowlist of writes into other repositories (App mode);
    each needs the other repository's consent too (`bot.shell.consent`)."""
    run = _Run(gate_request=gate_request, repo=repo)
    try:
        config = load_repo_config(client, config_path, repo=repo, outbound=outbound)
        if config is not None:
            require_consent(client, config, repo, config_path, cross_repo)
    except ConfigError as exc:
        return _config_error(client, exc, dry_run, run)
    except ExternalError as exc:
        # unreadable is not invalid: no comment, no stop; the next reconcile reads again
        # (the problem names no path, so a transport never takes it for "no config")
        problem = f"{exc.system}: the configuration could not be read ({_why(exc)}); nothing done"
        return ReconcileResult(problems=(problem,), requests=client.requests)
    if config is None:
        return ReconcileResult(
            problems=(f"no {config_path} on the default branch",), requests=client.requests
        )
    rounds = 0
    for rounds in range(1, max_rounds + 1):  # noqa: B007
        try:
            if not _round(client, config, now, delivery, dry_run, run, prometheus):
                break
            run.moved = False
        except LedgerMoved:
            run.moved = True  # somebody else wrote first: read again and decide again
        except ExternalError as exc:
            run.problems.append(exc.message)
            break
    if run.moved:
        run.problems.append("the ledger kept moving under us; the next reconcile goes on")
    return ReconcileResult(
        tuple(run.planned),
        tuple(run.done),
        run.trains,
        tuple(run.problems),
        client.requests,
        rounds,
        run.due,
    )


def _round(
    client: GitHubPort,
    config: Config,
    now: datetime,
    delivery: str | None,
    dry_run: bool,
    run: _Run,
    prometheus: Any = None,
) -> bool:
    """Read, decide, act once; False when there is nothing (more) to do this reconcile."""
    run.moved = False
    tip = ledger_trust.checked_tip(client, config, dry_run=dry_run, problems=run.problems)
    snap = read_world(config, client, tip, now, run.repo)
    snap.world = replace(snap.world, commands_run=dict(run.commands_run))
    gate_facts = _gates(client, config, snap, now, dry_run, run, prometheus)
    actions = decide(config, snap.ledger, snap.world, now, gate_facts)
    ran = commands_per_author(pending_commands(snap.ledger.records, snap.world))
    run.commands_run = {
        u: run.commands_run.get(u, 0) + ran.get(u, 0) for u in {*run.commands_run, *ran}
    }
    run.trains = tuple((r.id, r.state) for r in snap.ledger.records)
    run.due = next_due(config, snap.ledger.records, now)
    run.planned += [a.describe() for a in actions]
    if dry_run and actions:
        then = _next_step(config, snap, actions, now, gate_facts)
        run.planned += [f"then: {a.describe()}" for a in then]
    if dry_run or not actions:
        return _promote(client, config, snap, now, dry_run, run, prometheus)
    for group in _groups(actions):
        _apply_group(client, config, snap, group, delivery, run)
    if not all(isinstance(a, act.WriteLedger) for a in actions):
        return True  # side effects changed GitHub: read it again
    # only ledger writes: the world is as read, so the next round's decision is known
    # without reading it again; when it is "nothing", go straight to promotion
    if _next_step(config, snap, actions, now, gate_facts):
        return True
    records = {r.id: r for r in snap.ledger.records}
    records.update({a.record.id: a.record for a in actions if isinstance(a, act.WriteLedger)})
    snap.ledger = Ledger(tuple(records.values()), snap.ledger.known_ids | set(records))
    run.trains = tuple((r.id, r.state) for r in snap.ledger.records)
    run.due = next_due(config, snap.ledger.records, now)
    return _promote(client, config, snap, now, dry_run, run, prometheus)


def _gates(
    client: GitHubPort,
    config: Config,
    snap: _Snapshot,
    now: datetime,
    dry_run: bool,
    run: _Run,
    prometheus: Any = None,
) -> dict[str, dict[str, Any]]:
    """Each departed train's gate facts (for the merge verdict), shown as check runs on
    its train PR head (`bot.shell.gate_facts`); only what changed is written, except the
    gates a re-run asks for. A `Hold train` button holds the train first."""
    from bot.shell import gate_facts as gf
    from bot.shell.promote import prometheus_for

    trains = gf.departed_trains(snap.ledger.records, snap.world)
    request, run.gate_request = run.gate_request, None  # acted on in the first round only
    facts: dict[str, dict[str, Any]] = {}
    query = prometheus_for(config, prometheus) if trains else None
    for record, pr in trains:
        held = None if dry_run else gf.hold_from_button(config, client, request, record, pr, now)
        if held is not None:
            _apply_group(client, config, snap, [act.WriteLedger(record.id, ("hold",), held,
                         request.actor)], None, run)  # fmt: skip
            records = tuple(held if r.id == held.id else r for r in snap.ledger.records)
            snap.ledger = replace(snap.ledger, records=records)
            record = held
        gathered = gf.gather(config, client, record, pr, snap.world, now, query)
        facts[record.id] = gathered.facts
        snap.world = replace(snap.world, checks={**snap.world.checks, pr.head_sha: gathered.runs})
        if not dry_run:
            force = gf.forced_gates(request, pr, record, gathered.existing)
            run.done += gf.publish(config, client, record, pr, snap.world, gathered, now,
                                   force=force)  # fmt: skip
    return facts


def _promote(
    client: GitHubPort,
    config: Config,
    snap: _Snapshot,
    now: datetime,
    dry_run: bool,
    run: _Run,
    prometheus: Any,
) -> bool:
    """Promotion and revert of merged trains (`bot.shell.promote`) once the lifecycle has
    nothing left to do this round; True when it wrote something (look again)."""
    from bot.shell.promote import prometheus_for, promote_round, wanted

    if not wanted(config, snap):
        return False
    moved = promote_round(
        client, config, snap, now, prometheus=prometheus_for(config, prometheus), dry_run=dry_run
    )
    run.problems += moved.problems
    if moved.due is not None and (run.due is None or moved.due < run.due):
        run.due = moved.due
    if dry_run:
        run.planned += [f"promotion: {d}" for d in moved.done]
        return False
    run.done += moved.done
    return bool(moved.done)


def _why(exc: ExternalError) -> str:
    return str(exc.status) if exc.status else "no answer"


def _config_error(
    client: GitHubPort, exc: ConfigError, dry_run: bool, run: _Run
) -> ReconcileResult:
    """Stop this repository's trains and say why on each open train PR (or, with none
    open, in an issue), once per distinct set of problems."""
    problems = tuple(p.render() for p in exc.problems)
    body = (
        "🛑 Release train is stopped: the configuration on the default branch is invalid.\n\n"
        + "\n".join(f"- `{p}`" for p in problems)
    )
    key = "config-error:" + hashlib.sha256("\n".join(problems).encode()).hexdigest()[:16]
    train_prs = [
        pr
        for pr in client.open_pulls()
        if pr.head_ref.startswith("release/")
        and "release-train:train-id=" in pr.body
        and client.identity().is_login(pr.author)  # a stranger's PR is no train PR
    ]
    for pr in train_prs:
        run.planned.append(f"comment on #{pr.number}: configuration error")
        if not dry_run and client.post_comment(pr.number, body, key):
            run.done.append(f"comment on #{pr.number}: configuration error")
    if not train_prs:
        run.planned.append("open an issue: configuration error")
        if not dry_run and client.open_issue("Release train: invalid configuration", body, key):
            run.done.append("open an issue: configuration error")
    return ReconcileResult(tuple(run.planned), tuple(run.done), (), problems, client.requests)
