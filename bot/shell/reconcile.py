"""The one reconcile loop: read config, ledger and world; decide; act; record.

Level-triggered and idempotent: every side effect is derived from the ledger and the world,
so running it again right after does nothing. Each round reads the world
(`bot.shell.read`), gathers the gates' facts, asks the pure core for the actions
(`bot.core.decide`, the gates' check runs from `bot.core.gates.lifecycle`), and hands them
to the one dispatcher (`bot.shell.dispatch`): each train's side effects first and its ledger
commit last (compare-and-swap); a lost swap means somebody else moved first, so the loop
re-reads and decides again. `plan` runs the same round with `dry_run` and lists the same
actions, performing none.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bot.adapters.github import GitHubPort, LedgerMoved
from bot.config.model import Config
from bot.config.repo import CONFIG_PATH, load_repo_config
from bot.core import actions as act
from bot.core import promotion as pm
from bot.core.chatops import commands_per_author, pending_commands
from bot.core.consent import OperatorPolicy
from bot.core.decide import decide, next_due
from bot.core.ledger import Ledger
from bot.errors import ConfigError, ExternalError
from bot.shell import ledger_trust
from bot.shell.consent import require_consent
from bot.shell.dispatch import _fold, _groups, apply_group, perform
from bot.shell.planning import next_step
from bot.shell.read import Snapshot, read_world

__all__ = [
    "CONFIG_PATH",
    "ReconcileResult",
    "_fold",
    "_groups",
    "load_repo_config",
    "perform",
    "read_world",
    "reconcile",
]

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
    # as data: the first round's decided actions, and the actions each round performed
    planned: tuple[act.Action, ...] = ()
    performed: tuple[tuple[act.Action, ...], ...] = ()
    waiting: str = ""  # a held promotion waits on `evidence` or `prometheus`
    records: tuple[Any, ...] = ()  # the train records the last round read (TrainRecord)

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
class _Run:
    planned: list[str] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    trains: tuple[tuple[str, str], ...] = ()
    records: tuple[Any, ...] = ()
    due: datetime | None = None
    moved: bool = False
    gate_request: Any = None  # a re-run or check-run button (bot.core.gates.events), once
    commands_run: dict[str, int] = field(default_factory=dict)  # per author, this reconcile
    decided: list[act.Action] = field(default_factory=list)  # the first round's
    performed: list[list[act.Action]] = field(default_factory=list)  # per round
    outbound: Any = (
        None  # the operator's OutboundPolicy (promotion reads the registry and Argo CD under it)
    )

    def note(self, action: act.Action) -> None:
        """The dispatcher performed `action` (as decided)."""
        self.done.append(action.describe())
        if self.performed:
            self.performed[-1].append(action)


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
    `outbound`: the operator's `bot.config.outbound.OutboundPolicy`; a configuration
    pointing where it refuses is a configuration error (None: not checked here); a stage's
    Argo CD is read under it (None: the operator's settings from the environment).
    `cross_repo`: the operator's allowlist of writes into other repositories (App mode);
    each needs the other repository's consent too (`bot.shell.consent`)."""
    run = _Run(gate_request=gate_request, outbound=outbound)
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
        if exc.status == 401:
            problem = f"{exc.system}: the token was refused (401); nothing done"
        return ReconcileResult(problems=(problem,), requests=client.requests)
    if config is None:
        return ReconcileResult(
            problems=(_absent(client, repo, config_path),), requests=client.requests
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
        planned=tuple(run.decided),
        performed=tuple(tuple(r) for r in run.performed),
        waiting=_waiting(run.decided if dry_run else [a for r in run.performed for a in r]),
        records=run.records,
    )


def _waiting(actions: list[act.Action]) -> str:
    """What a held promotion waits on: Prometheus (it did not answer) before evidence."""
    waits = {a.move.waits_on for a in actions if isinstance(a, act.Promote)}
    return next((w for w in (pm.PROMETHEUS, pm.EVIDENCE) if w in waits), "")


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
    run.performed.append([])
    tip = ledger_trust.checked_tip(client, config, dry_run=dry_run, problems=run.problems)
    snap = read_world(config, client, tip, now)
    snap.world = replace(snap.world, commands_run=dict(run.commands_run))
    gate_facts, checks = _gates(client, config, snap, now, dry_run, run, prometheus)
    decided = decide(config, snap.ledger, snap.world, now, gate_facts)
    ran = commands_per_author(pending_commands(snap.ledger.records, snap.world))
    run.commands_run = {
        u: run.commands_run.get(u, 0) + ran.get(u, 0) for u in {*run.commands_run, *ran}
    }
    actions = checks + decided
    run.trains = tuple((r.id, r.state) for r in snap.ledger.records)
    run.due = next_due(config, snap.ledger.records, now)
    run.records = tuple(snap.ledger.records)
    run.planned += [a.describe() for a in actions]
    if len(run.performed) == 1:
        run.decided = list(actions)
    if dry_run:
        then = next_step(config, snap, decided, now, gate_facts) if decided else []
        run.planned += [f"then: {a.describe()}" for a in then]
        _advance(snap, decided)  # promotion sees the records the round would write
        # as reconcile: promotion comes in this round only when the lifecycle's actions
        # leave the world as read and decide nothing more; else it is shown as "then"
        now_too = not then and all(
            isinstance(a, act.WriteLedger | act.PublishCheckRun) for a in actions
        )
        return _promote(client, config, snap, now, dry_run, run, prometheus, later=not now_too)
    if not actions:
        return _promote(client, config, snap, now, dry_run, run, prometheus)
    for group in _groups(actions):
        apply_group(client, config, snap, group, delivery, run.note)
    if not all(isinstance(a, act.WriteLedger | act.PublishCheckRun) for a in actions):
        return True  # side effects changed what we read: read it again
    # only ledger writes and our check runs (which no gate counts): the world is as read,
    # so the next round's decision is known without reading it again; when it is
    # "nothing", go straight to promotion
    if next_step(config, snap, decided, now, gate_facts):
        return True
    _advance(snap, decided)
    run.trains = tuple((r.id, r.state) for r in snap.ledger.records)
    run.due = next_due(config, snap.ledger.records, now)
    run.records = tuple(snap.ledger.records)
    return _promote(client, config, snap, now, dry_run, run, prometheus)


def _advance(snap: Snapshot, decided: list[act.Action]) -> None:
    """The snapshot's ledger with the records `decided` writes (what the next round reads)."""
    records = {r.id: r for r in snap.ledger.records}
    records.update({a.record.id: a.record for a in decided if isinstance(a, act.WriteLedger)})
    snap.ledger = Ledger(tuple(records.values()), snap.ledger.known_ids | set(records))


def _gates(
    client: GitHubPort,
    config: Config,
    snap: Snapshot,
    now: datetime,
    dry_run: bool,
    run: _Run,
    prometheus: Any = None,
) -> tuple[dict[str, dict[str, Any]], list[act.Action]]:
    """Each departed train's gate facts (for the merge verdict), and the check runs that
    show them on its train PR head (`bot.core.gates.lifecycle.check_run_actions`): only
    what changed, except the gates a re-run asks for. A `Hold train` button holds the
    train first."""
    from bot.core.gates.lifecycle import check_run_actions
    from bot.shell import gate_facts as gf
    from bot.shell.promote import prometheus_for

    trains = gf.departed_trains(snap.ledger.records, snap.world)
    request, run.gate_request = run.gate_request, None  # acted on in the first round only
    facts: dict[str, dict[str, Any]] = {}
    checks: list[act.Action] = []
    query = prometheus_for(config, prometheus) if trains else None
    for record, pr in trains:
        held = gf.hold_from_button(config, client, request, record, pr, now)
        if held is not None:  # the button's ledger write, planned (first) or performed now
            write = act.WriteLedger(record.id, ("hold",), held, request.actor)
            if dry_run:
                checks.append(write)
            else:
                apply_group(client, config, snap, [write], None, run.note)
            records = tuple(held if r.id == held.id else r for r in snap.ledger.records)
            snap.ledger = replace(snap.ledger, records=records)
            record = held
        gathered = gf.gather(config, client, record, pr, snap.world, now, query)
        facts[record.id] = gathered.facts
        snap.world = replace(snap.world, checks={**snap.world.checks, pr.head_sha: gathered.runs})
        force = gf.forced_gates(request, pr, record, gathered.existing)
        checks += check_run_actions(
            config, record, pr, snap.world, now, gathered.facts, gathered.existing, force
        )
    return facts, checks


def _promote(
    client: GitHubPort,
    config: Config,
    snap: Snapshot,
    now: datetime,
    dry_run: bool,
    run: _Run,
    prometheus: Any,
    later: bool = False,
) -> bool:
    """Promotion and revert of merged trains (`bot.shell.promote`) once the lifecycle has
    nothing left to do this round; True when it wrote something (look again). `later`
    (a dry run): the round's lifecycle actions come first, so promotion is shown as what
    a following round would do, not as this round's actions."""
    from bot.shell.promote import prometheus_for, promote_round, wanted

    if not wanted(config, snap):
        return False
    query = prometheus_for(config, prometheus)
    moved = promote_round(
        client, config, snap, now, prometheus=query, dry_run=dry_run, outbound=run.outbound
    )
    run.problems += [p for p in moved.problems if p not in run.problems]  # once a reconcile
    if moved.due is not None and (run.due is None or moved.due < run.due):
        run.due = moved.due
    if dry_run:
        run.planned += [f"{'then: ' if later else ''}promotion: {d}" for d in moved.done]
        run.decided += [] if later else moved.moves
        return False
    run.done += moved.done
    if run.performed:
        run.performed[-1] += moved.performed
    return any(isinstance(a, act.WriteLedger) for a in moved.performed)  # look again


def _absent(client: GitHubPort, repo: str, config_path: str) -> str:
    """Why no configuration was read: none on the default branch, or no repository to read
    it from (missing, invisible to the token, or `--api-url` is not GitHub's API)."""
    status, body = client.get_json("")
    if status == 200 and isinstance(body, dict) and body.get("full_name"):
        return f"no {config_path} on the default branch"
    api = str(getattr(client, "api_url", "") or "")
    where = f" at {api}" if api else ""
    if status == 404:
        return (
            f"repository {repo} not found{where}, or the token cannot see it (404; is the "
            "API URL GitHub's?); nothing done"
        )
    return (
        f"repository {repo}: the API{where} answered {status} without a repository "
        "(is the API URL GitHub's?); nothing done"
    )


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
