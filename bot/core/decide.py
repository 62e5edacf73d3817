"""The pure heart: (config, ledger, world, now) -> the actions to take, as data.

`decide` dispatches each open train to a small function per state; each returns side-effect
actions followed by one `WriteLedger` when the record changed. `merged` returns no actions
beyond landing the boarded PRs: promotion is a later seam.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from bot.config.model import Config, Train
from bot.core import actions as act
from bot.core import untrusted
from bot.core.boarding import (
    boarded_notice,
    miss_reason,
    missed_notice,
    sync_boarding,
    wants_train,
)
from bot.core.calendar import active_freeze, cutover_open, next_departure
from bot.core.chatops import (
    Command,
    TrainCommand,
    apply_command,
    one_reply_per_comment,
    pending_commands,
)
from bot.core.ledger import Ledger, Missed, TrainRecord
from bot.core.notes import deadline_notice, generated_region, release_notes, render_body
from bot.core.notes import duration as notes_duration
from bot.core.train import (
    ABORTED,
    BOARDING,
    DEPARTED,
    MERGED,
    PROMOTING,
    is_terminal,
    new_train_id,
)
from bot.core.world import PullRequest, World

Action = act.Action


@dataclass(frozen=True)
class Verdict:
    may_merge: bool
    blocking: tuple[str, ...]
    approved_by: tuple[str, ...] = ()
    trailer: str = ""


@dataclass
class Ctx:
    """What every per-state function needs (built once per decide)."""

    config: Config
    train: Train
    world: World
    now: datetime
    riding: dict[int, str]  # PR -> id of the open train it rides
    commands: dict[str, list[TrainCommand]] = field(default_factory=dict)
    # train id -> facts by gate name, as `bot.shell.gate_facts` gathered them this reconcile
    gate_facts: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


# -- the merge rule: the gates' verdict -------------------------------------------------------


def merge_verdict(
    config: Config,
    record: TrainRecord,
    pr: PullRequest,
    world: World,
    now: datetime,
    extra: Mapping[str, Any] | None = None,
) -> Verdict:
    """The gates' verdict on the train PR head (`bot.core.gates`): every gate `success`, or
    `neutral` where `gates.allow_neutral` allows. `extra` holds the facts the shell gathered
    (`bot.shell.gate_facts`); without them CI and policy are judged from the World and the
    other gates report plainly that they checked nothing."""
    from bot.core.gates.lifecycle import gate_verdict

    judged = gate_verdict(config, record, pr, world, now, extra=extra)
    blocking = tuple(
        f"gate `{r.gate}` is {r.conclusion}: {r.title}"
        for r in judged.results
        if r.gate in judged.verdict.blocking
    )
    return Verdict(judged.verdict.may_merge, blocking, judged.approved_by, judged.verdict.trailer)


GATE_EVENT = "gate"
GATE_DETAIL_LIMIT = 2000


def gate_conclusions(record: TrainRecord) -> dict[str, str]:
    """The last recorded conclusion of each gate (ledger events ``gate``, detail
    ``<gate>=<conclusion>: <title>``)."""
    out: dict[str, str] = {}
    for event in record.history:
        if event.event == GATE_EVENT:
            head = event.detail.split(":", 1)[0]
            gate, _, conclusion = head.partition("=")
            out[gate.strip()] = conclusion.strip()
    return out


def record_gates(ctx: Ctx, record: TrainRecord, pr: PullRequest) -> TrainRecord:
    """Each gate whose conclusion changed since the ledger last recorded it, as a ledger
    event with its title and summary. Only with gathered facts (a real evaluation)."""
    from bot.core.gates.lifecycle import gate_verdict
    from bot.core.gates.verdict import transitions

    extra = ctx.gate_facts.get(record.id)
    if extra is None:
        return record
    judged = gate_verdict(ctx.config, record, pr, ctx.world, ctx.now, extra=extra)
    for change in transitions(gate_conclusions(record), judged.results):
        detail = f"{change.trailer()}: {change.title}\n\n{change.summary}"
        record = record.with_event(GATE_EVENT, ctx.now, detail=detail[:GATE_DETAIL_LIMIT])
    return record


# -- helpers ------------------------------------------------------------------------------


def required_checks(config: Config) -> tuple[str, ...]:
    """`gates.ci.required`: check names (or fnmatch patterns) that must pass."""
    required = config.gates.ci.get("required") or ()
    return tuple(str(n) for n in required) if isinstance(required, list | tuple) else ()


def departs_at(config: Config, train: Train, record: TrainRecord) -> datetime | None:
    """When this train departs: the first cadence time after it was created that no freeze
    cancels (at once for an emergency train); None when no departure is in sight."""
    created = record.created_at
    if created is None:
        return None
    if record.emergency:
        return created
    departure = next_departure(train, config.freezes, created)
    return departure.at if departure is not None else None


def _transition(
    record: TrainRecord, state: str, now: datetime, actor: str = "", detail: str = ""
) -> TrainRecord:
    return replace(record, state=state, state_since=now).with_event(state, now, actor, detail)


# The most telling event names the ledger commit; the others follow as trailers.
EVENT_ORDER = (
    "abort",
    "merge",
    "depart",
    "open-pr",
    "land",
    "hold",
    "resume",
    "depart-requested",
    "promote-requested",
    "rollback-requested",
    "board",
    "deboard",
    "notify",
    "chatops",
)


def _write(
    before: TrainRecord | None, after: TrainRecord, events: list[str], actor: str = ""
) -> list[Action]:
    if before == after:
        return []
    if before is None:
        events = ["create", *events]
    rank = {name: i for i, name in enumerate(("create", *EVENT_ORDER))}
    ordered = sorted(dict.fromkeys(events), key=lambda e: rank.get(e, len(rank)))
    return [act.WriteLedger(after.id, tuple(ordered) or ("update",), after, actor)]


def abort(
    record: TrainRecord, reason: str, now: datetime, actor: str = "", detail: str = ""
) -> TrainRecord:
    record = replace(record, end_reason=reason)
    return _transition(record, ABORTED, now, actor, detail)


def deadline_of(config: Config, train: Train, state: str) -> timedelta | None:
    """How long a train of `train` may stay in `state` (`trains[].deadlines`, else the
    defaults). `merged` and `promoting` have one only where promotion is configured:
    without it a merged train rests in `merged`, nothing left to do."""
    if state in (MERGED, PROMOTING):
        from bot.core.promotion import configured

        if not configured(config):
            return None
    return None if is_terminal(state) else train.deadline(state)


def _deadline_passed(config: Config, train: Train, record: TrainRecord, now: datetime) -> bool:
    limit = deadline_of(config, train, record.state)
    since = record.state_since or record.created_at
    return limit is not None and since is not None and now - since > limit


# -- boarding -----------------------------------------------------------------------------


def _new_record(ctx: Ctx, known: set[str], *, emergency: bool) -> TrainRecord:
    probe = TrainRecord(id="", train=ctx.train.name, created_at=ctx.now, emergency=emergency)
    day = (departs_at(ctx.config, ctx.train, probe) or ctx.now).date()
    train_id = new_train_id(ctx.train.name, day, known, emergency=emergency)
    known.add(train_id)
    record = replace(probe, id=train_id, state_since=ctx.now)
    return record.with_event("create", ctx.now)


def _notify_boarded(ctx: Ctx, record: TrainRecord) -> tuple[TrainRecord, list[Action]]:
    actions: list[Action] = []
    when = departs_at(ctx.config, ctx.train, record)
    label = ctx.train.emergency_label if record.emergency else ctx.train.label
    for entry in record.boarded:
        if entry.number in record.notified:
            continue
        body = boarded_notice(record.id, when, ctx.now, label)
        key = f"boarded:{record.id}:{entry.number}"
        actions.append(act.PostComment(record.id, entry.number, body, key))
        record = replace(record, notified=(*record.notified, entry.number))
    return record, actions


def _miss(ctx: Ctx, pr: PullRequest | None) -> Missed | None:
    world = ctx.world
    return miss_reason(
        pr,
        ctx.train.boarding,
        world.reviews,
        world.checks,
        required_checks(ctx.config),
        approved=world.approved,
        green=world.green,
    )


def _depart(ctx: Ctx, record: TrainRecord, actor: str) -> tuple[TrainRecord, list[Action]]:
    branch = ctx.train.release_branch.format(train=record.id)
    base_sha = ctx.world.branches.get(ctx.train.base, "")
    actions: list[Action] = []
    if branch not in ctx.world.branches:
        actions.append(act.CreateBranch(record.id, branch, base_sha))
    riding, missed = [], list(record.missed)
    for entry in record.boarded:
        pr = ctx.world.pull(entry.number)
        reason = _miss(ctx, pr)
        if reason is not None:
            missed.append(replace(reason, number=entry.number))
            continue
        assert pr is not None
        riding.append(replace(entry, head_sha=pr.head_sha))
        actions.append(act.MergeIntoBranch(record.id, branch, entry.number, pr.head_sha))
    record = replace(
        record,
        boarded=tuple(riding),
        missed=tuple(missed),
        base_sha=base_sha,
        release_branch=branch,
        release_sha=base_sha,
    )
    record = _transition(record, DEPARTED, ctx.now, actor)
    if riding:  # the train PR in the same step (the shell skips it when every merge fails)
        title = f"Release train {record.id}"
        body = render_body(record.id, release_notes(ctx.config, ctx.train, record, ctx.now))
        actions.append(act.OpenPullRequest(record.id, branch, ctx.train.base, title, body))
        record = record.with_event("open-pr", ctx.now)
    return record, actions


def decide_boarding(ctx: Ctx, record: TrainRecord, before: TrainRecord | None) -> list[Action]:
    riders = set(record.boarded_numbers())
    record, actions, events, actor = _run_commands(ctx, record)
    if record.state != BOARDING:
        return actions + _write(before, record, events, actor)
    elsewhere = {n for n, tid in ctx.riding.items() if tid != record.id}
    if record.emergency:
        elsewhere |= _unready_emergencies(ctx) - set(record.boarded_numbers())
    label = ctx.train.emergency_label if record.emergency else ctx.train.label
    now_riding = set(record.boarded_numbers())
    record, change = sync_boarding(
        record,
        ctx.train,
        ctx.world,
        elsewhere,
        ctx.now,
        label=label,
        pinned=now_riding - riders,
        dropped=riders - now_riding,
    )
    events += ["board"] * bool(change.boarded) + ["deboard"] * bool(change.deboarded)
    for number, why in change.deboarded:
        body = f"This pull request left train **{record.id}** ({why})."
        key = f"deboarded:{record.id}:{number}"
        actions.append(act.PostComment(record.id, number, body, key))
    record, notices = _notify_boarded(ctx, record)
    actions += notices
    events += ["notify"] * bool(notices)
    record, departure = _depart_or_end(ctx, record, events, actor)
    return actions + departure + _write(before, record, events, actor)


def _depart_or_end(
    ctx: Ctx, record: TrainRecord, events: list[str], actor: str
) -> tuple[TrainRecord, list[Action]]:
    """A boarding train past its deadline ends; one that is due (or asked to) departs;
    one due with nobody aboard ends."""
    when = departs_at(ctx.config, ctx.train, record)
    due = when is not None and ctx.now >= when
    if _deadline_passed(ctx.config, ctx.train, record, ctx.now):
        events.append("abort")
        return abort(record, "deadline", ctx.now), []
    if record.held:
        return record, []
    # the shell read the base head only when a departure was due
    if record.boarded and (due or record.depart_requested) and ctx.train.base in ctx.world.branches:
        events.append("depart")
        record, actions = _depart(ctx, record, actor or record.depart_requested)
        events += ["open-pr"] * any(isinstance(a, act.OpenPullRequest) for a in actions)
        return record, actions
    if due and not record.boarded:
        events.append("abort")
        return abort(record, "no pull requests boarded", ctx.now), []
    return record, []


# -- departed -----------------------------------------------------------------------------


def _train_pr(ctx: Ctx, record: TrainRecord) -> PullRequest | None:
    if record.train_pr:
        return ctx.world.pull(record.train_pr)
    found = ctx.world.pr_by_head(record.release_branch)
    return found if found is not None and found.base == ctx.train.base else None


def _body_actions(ctx: Ctx, record: TrainRecord, pr: PullRequest) -> list[Action]:
    generated = release_notes(ctx.config, ctx.train, record, ctx.now)
    if generated_region(pr.body) == generated.rstrip("\n"):
        return []
    return [act.UpdatePullRequest(record.id, pr.number, render_body(record.id, generated, pr.body))]


def _notify_missed(ctx: Ctx, record: TrainRecord) -> tuple[TrainRecord, list[Action]]:
    actions: list[Action] = []
    for missed in record.missed:
        if missed.number in record.missed_notified or not missed.number:
            continue
        pr = ctx.world.pull(missed.number)
        body = missed_notice(record.id, missed, ctx.train.label, pr.author if pr else "")
        key = f"missed:{record.id}:{missed.number}"
        actions.append(act.PostComment(record.id, missed.number, body, key))
        record = replace(record, missed_notified=(*record.missed_notified, missed.number))
    return record, actions


def merge_message(record: TrainRecord, approvers: Sequence[str], gates: str = "") -> str:
    lines = [
        f"Merge release train {record.id}",
        "",
        f"Train-Id: {record.id}",
        f"Approved-By: {' '.join(approvers)}",
        f"Boarded: {' '.join(f'#{n}' for n in record.boarded_numbers())}",
    ]
    if gates:
        lines.append(f"Gates: {gates}")
    return "\n".join(lines) + "\n"


def _try_merge(ctx: Ctx, record: TrainRecord, pr: PullRequest) -> tuple[TrainRecord, list[Action]]:
    if record.held or pr.state != "open" or not pr.head_sha:
        return record, []
    if not record.emergency:
        if active_freeze(ctx.config.freezes, ctx.now) is not None:
            return record, []
        if not cutover_open(ctx.config.cutover, ctx.config.freezes, ctx.now):
            return record, []
    extra = ctx.gate_facts.get(record.id)
    verdict = merge_verdict(ctx.config, record, pr, ctx.world, ctx.now, extra)
    if not verdict.may_merge:
        return record, []
    message = merge_message(record, verdict.approved_by, verdict.trailer)
    title = f"Release train {record.id} (#{pr.number})"
    merge = act.MergePullRequest(record.id, pr.number, pr.head_sha, title, message)
    record = replace(record, approved_by=verdict.approved_by, release_sha=pr.head_sha)
    return _transition(record, MERGED, ctx.now), [merge]


def _approvers(ctx: Ctx, record: TrainRecord, pr: PullRequest) -> tuple[str, ...]:
    """Who approved a train PR found already merged: the same reading of the reviews the
    merge rule makes, so a lost merge answer (or a crash right after the merge) still
    records who approved it."""
    extra = ctx.gate_facts.get(record.id)
    return merge_verdict(ctx.config, record, pr, ctx.world, ctx.now, extra).approved_by


def _departed_view(
    ctx: Ctx, record: TrainRecord, events: list[str]
) -> tuple[TrainRecord, list[Action]]:
    """The train PR exists, says the right thing, and merges when allowed."""
    if record.release_branch not in ctx.world.branches and not record.train_pr:
        events.append("abort")
        return abort(record, "release branch deleted", ctx.now), []
    pr = _train_pr(ctx, record)
    if pr is None and not record.boarded:
        events.append("abort")
        return abort(record, "no pull request could ride", ctx.now), []
    if pr is None:
        title = f"Release train {record.id}"
        body = render_body(record.id, release_notes(ctx.config, ctx.train, record, ctx.now))
        open_pr = act.OpenPullRequest(record.id, record.release_branch, ctx.train.base, title, body)
        events.append("open-pr")
        return record.with_event("open-pr", ctx.now), [open_pr]
    if record.train_pr != pr.number:
        record = replace(record, train_pr=pr.number)
        events.append("open-pr")
    if pr.state != "open":
        events.append("merge" if pr.merged else "abort")
        if pr.merged:
            merged = replace(record, merge_sha=pr.merge_commit_sha or pr.head_sha)
            if not merged.approved_by:  # our merge landed but its answer was lost
                merged = replace(merged, approved_by=_approvers(ctx, record, pr))
            return _transition(merged, MERGED, ctx.now), []
        return abort(record, "train PR closed by hand", ctx.now), []
    if record.release_branch not in ctx.world.branches:
        events.append("abort")
        return abort(record, "release branch deleted", ctx.now), []
    gated = record_gates(ctx, record, pr)
    if gated != record:
        events.append(GATE_EVENT)
        record = gated
    record, merge = _try_merge(ctx, record, pr)
    if merge:
        events.append("merge")
        return record, merge
    return record, _body_actions(ctx, record, pr)


def decide_departed(ctx: Ctx, record: TrainRecord, before: TrainRecord | None) -> list[Action]:
    record, actions, events, actor = _run_commands(ctx, record)
    if record.state == DEPARTED and _deadline_passed(ctx.config, ctx.train, record, ctx.now):
        record = abort(record, "deadline", ctx.now)
        events.append("abort")
    if record.state != DEPARTED:
        return actions + decide_aborted(ctx, record) + _write(before, record, events, actor)
    record, notices = _notify_missed(ctx, record)
    actions += notices
    events += ["notify"] * bool(notices)
    record, view = _departed_view(ctx, record, events)
    actions += view
    if record.state == ABORTED:
        actions += decide_aborted(ctx, record)
    return actions + _write(before, record, events, actor)


# -- merged (promotion seam) and ended -----------------------------------------------------


def decide_merged(ctx: Ctx, record: TrainRecord, before: TrainRecord | None) -> list[Action]:
    """Land each boarded PR (merged on GitHub, or closed with a link); promotion itself is
    `bot.shell.promote`. Past its deadline the train stops (`_stop_at_deadline`)."""
    record, actions, events, actor = _run_commands(ctx, record)
    actions += _land(ctx, record, events)
    record = _landed(record, actions)
    record, stop = _stop_at_deadline(ctx, record, events)
    return actions + stop + _write(before, record, events, actor) + _after(ctx, record, events)


def decide_promoting(ctx: Ctx, record: TrainRecord, before: TrainRecord | None) -> list[Action]:
    """ChatOps (hold, promote, rollback are read by `bot.shell.promote`) and the deadline."""
    record, actions, events, actor = _run_commands(ctx, record)
    record, stop = _stop_at_deadline(ctx, record, events)
    return actions + stop + _write(before, record, events, actor) + _after(ctx, record, events)


def _after(ctx: Ctx, record: TrainRecord, events: list[str]) -> list[Action]:
    """What follows the record of a train stopped at its deadline just now (at most once:
    `bot.core.promotion_check.deadline_effects`)."""
    from bot.core.promotion_check import deadline_effects

    return deadline_effects(ctx.config, record) if "abort" in events else []


def _landed(record: TrainRecord, actions: Sequence[Action]) -> TrainRecord:
    numbers = tuple(a.number for a in actions if isinstance(a, act.LandPullRequest))
    return replace(record, landed=(*record.landed, *numbers)) if numbers else record


def _land(ctx: Ctx, record: TrainRecord, events: list[str]) -> list[Action]:
    actions: list[Action] = []
    for entry in record.boarded:
        if entry.number in record.landed:
            continue
        link = f"#{record.train_pr}" if record.train_pr else record.id
        comment = f"🚆 Shipped in release train **{record.id}** ({link})."
        actions.append(act.LandPullRequest(record.id, entry.number, entry.head_sha, comment))
        events.append("land")
    return actions


def _stop_at_deadline(
    ctx: Ctx, record: TrainRecord, events: list[str]
) -> tuple[TrainRecord, list[Action]]:
    """A merged or promoting train past its deadline (a held stage too) ends `aborted`
    (reason `deadline`): no further stage is bumped, bumped stages stay as they are, and
    the train PR says so and what to do. A requested rollback is left to finish first."""
    if record.state not in (MERGED, PROMOTING) or record.rollback_requested:
        return record, []
    limit = deadline_of(ctx.config, ctx.train, record.state)
    if limit is None or not _deadline_passed(ctx.config, ctx.train, record, ctx.now):
        return record, []
    from bot.core import promotion as pm

    steps = pm.load(record).steps or tuple(pm.StepState(p.name) for p in pm.plan_steps(ctx.config))
    bumped = [(s.name, s.status, s.commit) for s in steps if s.commit]
    rest = [s.name for s in steps if not s.commit]
    left = ", ".join(name for name, _, _ in bumped) or "none"
    detail = f"{record.state} longer than {notes_duration(limit)}; stages left bumped: {left}"
    actions: list[Action] = []
    if record.train_pr:
        body = deadline_notice(record, record.state, limit, bumped, rest)
        actions.append(act.PostComment(record.id, record.train_pr, body, f"deadline:{record.id}"))
    events.append("abort")
    return abort(record, "deadline", ctx.now, detail=detail), actions


def decide_aborted(ctx: Ctx, record: TrainRecord) -> list[Action]:
    """An aborted train's PR (if still open) says so and is closed."""
    pr = ctx.world.pull(record.train_pr) if record.train_pr else None
    if pr is None or pr.state != "open":
        return []
    body = (
        f"🛑 Release train **{record.id}** was aborted: {untrusted.inline(record.end_reason)}. "
        f"Its pull requests board the next train."
    )
    return [
        *_body_actions(ctx, record, pr),
        act.PostComment(record.id, pr.number, body, f"aborted:{record.id}"),
        act.ClosePullRequest(record.id, pr.number),
    ]


def _decide_ended(ctx: Ctx, record: TrainRecord, before: TrainRecord | None) -> list[Action]:
    record, actions, events, actor = _run_commands(ctx, record)
    extra = decide_aborted(ctx, record) if record.state == ABORTED else []
    return actions + extra + _write(before, record, events, actor)


Handler = Callable[[Ctx, TrainRecord, "TrainRecord | None"], list[Action]]

HANDLERS: dict[str, Handler] = {
    BOARDING: decide_boarding,
    DEPARTED: decide_departed,
    MERGED: decide_merged,
    PROMOTING: decide_promoting,
}


# -- commands -----------------------------------------------------------------------------


def _run_commands(
    ctx: Ctx, record: TrainRecord
) -> tuple[TrainRecord, list[Action], list[str], str]:
    actions: list[Action] = []
    events: list[str] = []
    actor = ""
    for command in ctx.commands.get(record.id, ()):
        status = status_text(ctx, record)
        record, more, event = apply_command(
            ctx.config, ctx.train, record, command, ctx.world, ctx.now, status
        )
        actions += more
        events.append(event)
        if event != "chatops":
            actor = actor or command.comment.author
    return record, one_reply_per_comment(actions), events, actor


def status_text(ctx: Ctx, record: TrainRecord) -> str:
    """The answer to `/train status`: state, riders, and what the train waits for."""
    lines = [f"**{record.id}** is `{record.state}`" + (" (held)" if record.held else "") + "."]
    riders = " ".join(f"#{n}" for n in record.boarded_numbers()) or "none"
    lines.append(f"Boarded: {riders}.")
    when = departs_at(ctx.config, ctx.train, record)
    if record.state == BOARDING and when is not None:
        lines.append(f"Departs at {when.strftime('%Y-%m-%d %H:%M UTC')}.")
    pr = ctx.world.pull(record.train_pr) if record.train_pr else None
    if record.state == DEPARTED and pr is not None:
        extra = ctx.gate_facts.get(record.id)
        verdict = merge_verdict(ctx.config, record, pr, ctx.world, ctx.now, extra)
        waits = list(verdict.blocking)
        if active_freeze(ctx.config.freezes, ctx.now) is not None:
            waits.append("a freeze is in force")
        if not cutover_open(ctx.config.cutover, ctx.config.freezes, ctx.now):
            waits.append("no cutover window is open")
        lines.append("Waiting for: " + ("; ".join(waits) if waits else "nothing (merging)") + ".")
    return "\n".join(lines)


# -- when to look again --------------------------------------------------------------------


def next_due(config: Config, records: Sequence[TrainRecord], now: datetime) -> datetime | None:
    """The next instant at which time alone changes a decision: a departure, a deadline,
    a cutover window opening for a departed train. None when only events matter."""
    from bot.core.calendar import next_cutover

    times: list[datetime] = []
    for record in records:
        train = next((t for t in config.trains if t.name == record.train), None)
        if train is None or is_terminal(record.state):
            continue
        since = record.state_since or record.created_at
        limit = deadline_of(config, train, record.state)
        if since is not None and limit is not None:
            times.append(since + limit)
        when = departs_at(config, train, record) if record.state == BOARDING else None
        if when is not None:
            times.append(when)
        if record.state == DEPARTED and not cutover_open(config.cutover, config.freezes, now):
            window = next_cutover(config.cutover, config.freezes, now)
            if window is not None:
                times.append(window[0])
    future = [t for t in times if t > now]
    return min(future) if future else None


# -- the whole repository -----------------------------------------------------------------


def riding_map(records: Sequence[TrainRecord]) -> dict[int, str]:
    riding: dict[int, str] = {}
    for record in records:
        if not is_terminal(record.state):
            for number in record.boarded_numbers():
                riding.setdefault(number, record.id)
    return riding


def _unready_emergencies(ctx: Ctx) -> set[int]:
    """Emergency-labelled PRs that could not ride now (a fork, unapproved, red, draft):
    they wait for an emergency train until ready, instead of missing one after another."""
    label = ctx.train.emergency_label
    return {
        pr.number
        for pr in ctx.world.pulls.values()
        if wants_train(pr, ctx.train, label) and (pr.fork or _miss(ctx, pr) is not None)
    }


def _new_trains(ctx: Ctx, records: list[TrainRecord], known: set[str]) -> list[TrainRecord]:
    line = [r for r in records if r.train == ctx.train.name and r.state == BOARDING]
    created = []
    for emergency, label in ((False, ctx.train.label), (True, ctx.train.emergency_label)):
        if any(r.emergency == emergency for r in line):
            continue
        wanting = [
            pr
            for pr in ctx.world.pulls.values()
            if wants_train(pr, ctx.train, label) and pr.number not in ctx.riding
        ]
        if emergency:
            unready = _unready_emergencies(ctx)
            wanting = [pr for pr in wanting if pr.number not in unready]
        if wanting:
            created.append(_new_record(ctx, known, emergency=emergency))
    return created


def decide(
    config: Config,
    ledger: Ledger,
    world: World,
    now: datetime,
    gate_facts: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Action]:
    """Every action the bot should take now, grouped per train, ledger writes last.
    `gate_facts`: train id -> facts by gate (`bot.shell.gate_facts.gather`)."""
    records = list(ledger.records)
    known = set(ledger.known_ids) | {r.id for r in records}
    riding = riding_map(records)
    commands = pending_commands(records, world)
    actions: list[Action] = []
    for train in config.trains:
        ctx = Ctx(config, train, world, now, riding, commands, gate_facts or {})
        fresh = _new_trains(ctx, records, known)
        for record in [r for r in records if r.train == train.name] + fresh:
            before = None if record in fresh else record
            handler = HANDLERS.get(record.state, _decide_ended)
            planned = handler(ctx, record, before)
            _note_riders(riding, planned)
            actions += planned
    return actions


def _note_riders(riding: dict[int, str], planned: list[Action]) -> None:
    """Keep "one PR rides one train" true within one decide, across train lines."""
    for action in planned:
        if isinstance(action, act.WriteLedger) and not is_terminal(action.record.state):
            for number in action.record.boarded_numbers():
                riding.setdefault(number, action.record.id)


__all__ = [
    "Command",
    "Ctx",
    "Missed",
    "Verdict",
    "abort",
    "decide",
    "departs_at",
    "merge_message",
    "merge_verdict",
    "next_due",
    "riding_map",
]
