"""Gather each gate's facts for a departed train through the GitHub adapter, and publish each
gate's result as the check run ``release-train/<gate>`` on the train PR head.

Only departed trains with an open train PR are read. Every GET is conditional (the adapter's
ETag cache), so an unchanged repository answers with 304s; facts a gate's settings do not
need (CODEOWNERS when `codeowners` is off, team members without `teams`) are not fetched.
A source that has nothing to say (code scanning not enabled: 403 "Advanced Security must be
enabled", no analysis: 404) becomes the gate's own plain `unavailable` reason, never a
success. A token that lacks the permission to read it (403 "Resource not accessible by
integration": `security_events` for code scanning, `members` for a team) is not that: the
adapter raises `PermissionMissing` (`bot.adapters.refusals`), the round stops with the
permission named and the train waits — never a neutral gate, never a team of nobody.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot.adapters.github import GitHubPort
from bot.config.model import ApprovalRule, Config
from bot.core.gates import ci, manifests, policy
from bot.core.gates.checkrun import PREFIX, ExistingCheckRun, button_nonce
from bot.core.gates.error_budget import ErrorBudgetFacts
from bot.core.gates.events import GateRequest
from bot.core.gates.from_github import (
    check_runs_from_api,
    code_scanning_unavailable,
    commit_statuses_from_api,
    existing_check_run_from_api,
    open_alerts_from_api,
    parse_time,
)
from bot.core.gates.lifecycle import departed_at, policy_facts
from bot.core.gates.registry import gate_names, load_settings
from bot.core.gates.security import SecurityFacts, SecuritySettings
from bot.core.ledger import TrainRecord
from bot.core.world import CheckRun, PullRequest, World
from bot.errors import ConfigError
from bot.shell.changed_files import changed_paths, gather_flags, gather_migrations

CODEOWNERS_PATHS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")


@dataclass(frozen=True)
class TrainGates:
    """What was read for one train: facts by gate name, and our check runs on its head."""

    facts: dict[str, Any]
    existing: dict[str, ExistingCheckRun]
    runs: tuple[CheckRun, ...] = ()  # every check run on the head, as the World holds them


def departed_trains(
    records: Sequence[TrainRecord], world: World
) -> list[tuple[TrainRecord, PullRequest]]:
    """The departed trains whose train PR is open (the only ones the gates judge)."""
    out = []
    for record in records:
        pr = world.pulls.get(record.train_pr) if record.train_pr else None
        if record.state == "departed" and pr is not None and pr.state == "open" and pr.head_sha:
            out.append((record, pr))
    return out


def gather(
    config: Config,
    client: GitHubPort,
    record: TrainRecord,
    pr: PullRequest,
    world: World,
    now: datetime,
    prometheus: Any = None,
) -> TrainGates:
    """Every gate's facts for one departed train, and our existing check runs on its head.
    `prometheus`: the SLO query client (`bot.shell.promote.prometheus_for`), or None."""
    settings, _ = load_settings(config.gates)
    raw_runs = client.get_pages(f"/commits/{pr.head_sha}/check-runs", {}, "check_runs")
    statuses = client.get_pages(f"/commits/{pr.head_sha}/statuses", {})
    facts: dict[str, Any] = {
        "ci": ci.CIFacts(
            head_sha=pr.head_sha,
            departed_at=departed_at(record, now),
            check_runs=check_runs_from_api(raw_runs),
            statuses=_latest_statuses(commit_statuses_from_api(statuses)),
        ),
        "policy": gather_policy(config, client, record, pr, world, now),
        "security": gather_security(client, record, settings.get("security")),
        "error-budget": gather_error_budget(
            config, record, settings.get("error-budget"), prometheus, now
        ),
    }
    facts["manifests"] = manifests.ManifestFacts()  # invalid settings: the gate says so
    if "manifests" in settings:
        facts["manifests"] = gather_manifests(
            config, client, record, pr, settings["manifests"], now
        )
    if "flags" in settings:
        facts["flags"] = gather_flags(client, pr, settings["flags"])
    if "migrations" in settings:
        team = settings["migrations"].approvers
        members = {team: team_members(client, team)} if team else {}
        facts["migrations"] = gather_migrations(client, pr, facts["policy"], members)
    if record.extra.get("culprit"):  # a bisection under way: CI on its candidates
        from bot.shell.culprit_io import gather_candidates

        facts["culprit"] = gather_candidates(config, client, record)
    runs = tuple(CheckRun.from_json(r) for r in raw_runs if isinstance(r, Mapping))
    return TrainGates(facts, our_check_runs(raw_runs), runs)


def _latest_statuses(statuses: Sequence[ci.CommitStatus]) -> tuple[ci.CommitStatus, ...]:
    """GitHub lists every status ever set, newest first: keep the newest per context."""
    seen: dict[str, ci.CommitStatus] = {}
    for status in statuses:
        seen.setdefault(status.context, status)
    return tuple(seen.values())


def our_check_runs(raw_runs: Sequence[Any]) -> dict[str, ExistingCheckRun]:
    """The newest `release-train/<gate>` run of each name (GitHub shows the newest)."""
    found: dict[str, ExistingCheckRun] = {}
    for raw in raw_runs:
        run = existing_check_run_from_api(raw if isinstance(raw, Mapping) else {})
        if run.name.startswith(PREFIX) and run.id >= getattr(found.get(run.name), "id", 0):
            found[run.name] = run
    return found


# -- policy -------------------------------------------------------------------------------


def approval_rule(config: Config, record: TrainRecord) -> ApprovalRule:
    settings, _ = load_settings(config.gates)
    found = settings.get("policy")
    if not isinstance(found, policy.PolicySettings):
        return config.gates.emergency_approvals if record.emergency else config.gates.approvals
    return found.emergency_approvals if record.emergency else found.approvals


def gather_policy(
    config: Config,
    client: GitHubPort,
    record: TrainRecord,
    pr: PullRequest,
    world: World,
    now: datetime,
) -> policy.PolicyFacts:
    """Reviews (from the World), approvers' permissions, team members, CODEOWNERS of the
    base branch, the paths the train changes, and when the release branch last changed."""
    rule = approval_rule(config, record)
    approvers = sorted(
        {
            r.author
            for r in world.reviews.get(pr.number, ())
            if r.state == "APPROVED" and not r.permission
        }
        - set(world.permissions)
    )
    found = {login: client.permission(login) for login in approvers}
    world = replace(world, permissions={**world.permissions, **found})
    codeowners_text, codeowners_path = None, CODEOWNERS_PATHS[0]
    changed: tuple[str, ...] = ()
    if rule.codeowners:
        codeowners_text, codeowners_path = read_codeowners(client, pr.base)
        changed = changed_paths(client, pr.base, pr.head_sha)
    facts = policy_facts(
        config,
        record,
        pr,
        world,
        now,
        branch_changed_at=branch_changed_at(client, record, pr.head_sha, now),
        codeowners_text=codeowners_text,
        changed_paths=changed,
        team_members={team: team_members(client, team) for team in rule.teams},
    )
    return replace(facts, codeowners_path=codeowners_path)


def read_codeowners(client: GitHubPort, base: str) -> tuple[str | None, str]:
    """CODEOWNERS from the base branch, where GitHub looks for it, in its order."""
    for path in CODEOWNERS_PATHS:
        text = client.read_file(path, ref=base)
        if text is not None:
            return text, path
    return None, CODEOWNERS_PATHS[0]


def team_members(client: GitHubPort, team: str) -> frozenset[str]:
    """Logins of a team (`org/slug`); an unknown team (404) has no members. A token without
    `members: read` raises `PermissionMissing` (it must not count nobody)."""
    org, _, slug = team.rpartition("/")
    status, _ = client.get_json(f"/orgs/{org}/teams/{slug}")
    if status != 200:
        return frozenset()
    members = client.get_pages(f"/orgs/{org}/teams/{slug}/members", {})
    return frozenset(str(m.get("login")) for m in members if isinstance(m, Mapping))


def branch_changed_at(
    client: GitHubPort, record: TrainRecord, head_sha: str, now: datetime
) -> datetime:
    """When the release branch last changed: its head commit's committer date, but never
    before departure (boarding merges made the branch; approvals come after)."""
    since = departed_at(record, now)
    when = parse_time((client.git_commit(head_sha).get("committer") or {}).get("date"))
    return max(since, when) if when is not None else since


# -- security, manifests, error budget ------------------------------------------------------


def gather_security(client: GitHubPort, record: TrainRecord, settings: Any) -> SecurityFacts:
    """Open code-scanning alerts on the release branch, or the configured SARIF file."""
    ref = f"refs/heads/{record.release_branch}"
    if isinstance(settings, SecuritySettings) and settings.source == "sarif":
        text = client.read_file(settings.sarif_path, ref=record.release_branch)
        if text is None:
            why = f"the SARIF file `{settings.sarif_path}` is not on the release branch"
            return SecurityFacts(unavailable=why, ref=ref)
        return SecurityFacts(sarif_text=text, sarif_path=settings.sarif_path, ref=ref)
    params = {"state": "open", "ref": ref, "per_page": 100}
    status, body = client.get_json("/code-scanning/alerts", params)
    unavailable = code_scanning_unavailable(status)
    if unavailable is not None:
        return SecurityFacts(unavailable=unavailable, ref=ref)
    if status != 200:
        return SecurityFacts(unavailable=f"GitHub answered {status} for code scanning", ref=ref)
    return SecurityFacts(alerts=open_alerts_from_api(body), ref=ref)


def gather_error_budget(
    config: Config, record: TrainRecord, settings: Any, prometheus: Any, now: datetime
) -> ErrorBudgetFacts:
    """Each SLO's error budget left over its window, read from Prometheus: the worst over
    the train's services in the last stage (where users are; earlier stages are judged
    while promoting). Without a Prometheus the gate says so plainly (neutral)."""
    from bot.core import promotion

    if prometheus is None:
        return ErrorBudgetFacts(unavailable="no Prometheus is configured (`prometheus.url`)")
    wanted = getattr(settings, "slos", ()) or tuple(s.name for s in config.slos)
    train = config.train(record.train)
    services = promotion.services_for(config, train, None) or ("",)
    stage = config.stages[-1].name if config.stages else ""
    remaining: dict[str, float | None] = {}
    for name in wanted:
        slo = next((s for s in config.slos if s.name == name), None)
        found = [
            _budget_left(prometheus, slo, stage, service, now)
            for service in services
            if slo is not None
        ]
        known = [v for v in found if v is not None]
        remaining[name] = min(known) if known else None
    return ErrorBudgetFacts(remaining=remaining)


def _budget_left(client: Any, slo: Any, stage: str, service: str, now: datetime) -> float | None:
    """One SLO's budget left for one stage and service; None without an answer (latency
    SLOs have no error budget; an unreachable Prometheus is no data)."""
    from bot.core.gates.error_budget import budget_left
    from bot.core.slo.promql import render_query
    from bot.errors import ExternalError

    def value(template: str) -> float | None:
        try:
            found = client.query(render_query(template, stage, service, slo.window), now)
        except ExternalError:
            return None
        values = found.values()
        return float(values[0]) if values else None

    if slo.error_ratio:
        ratio = value(slo.error_ratio)
    elif slo.good and slo.total:
        good, total = value(slo.good), value(slo.total)
        ratio = None if good is None or not total else max(0.0, 1.0 - good / total)
    else:
        return None
    return None if ratio is None or ratio != ratio else budget_left(ratio, slo.objective)


def gather_manifests(
    config: Config,
    client: GitHubPort,
    record: TrainRecord,
    pr: PullRequest,
    settings: manifests.ManifestSettings,
    now: datetime,
) -> manifests.ManifestFacts:
    """The manifests the train's first promotion step in this repository will bump, read
    from the release branch with the bump each gets (tag rendered from the train PR head),
    plus schemas. Stages in a separate GitOps repository are checked when promoted."""
    from bot.core import promotion
    from bot.core.promotion_artifacts import trial_bump

    this = getattr(client, "repo", "")
    here = {st.name for st in config.stages if st.repository in ("", this)}  # this repository's
    steps = [s for s in promotion.plan_steps(config) if s.stage in here]
    if not promotion.configured(config) or not steps:
        return manifests.ManifestFacts()
    branch = record.release_branch
    status, tree = client.get_json(f"/git/trees/{pr.head_sha}", {"recursive": 1})
    paths = [
        str(e.get("path"))
        for e in (tree or {}).get("tree", ()) if status == 200 and e.get("type") == "blob"
    ]  # fmt: skip
    train = config.train(record.train)
    services = promotion.services_for(config, train, None)
    try:
        files = promotion.step_files(config, steps[0], paths, services)
    except ConfigError as exc:
        return manifests.ManifestFacts(
            files=tuple(manifests.ManifestFile(p.file or p.message, None) for p in exc.problems)
        )
    tags = promotion.target_tags(config, services, pr.head_sha, record.id, now)
    out = []
    for path, names in sorted(files.items()):
        bumps = tuple(trial_bump(config, n, tags[n]) for n in names if n in tags)
        schema_text, schema_path = _values_schema(client, path, branch, paths)
        text = client.read_file(path, ref=branch)
        out.append(manifests.ManifestFile(path, text, bumps, (), schema_text, schema_path))
    schemas = {
        p: client.read_file(p, ref=branch) for p in manifests.configured_schema_paths(settings)
    }
    return manifests.ManifestFacts(files=tuple(out), schemas=schemas)


def _values_schema(
    client: GitHubPort, path: str, branch: str, tree: Sequence[str]
) -> tuple[str | None, str]:
    if not posixpath.basename(path).startswith("values"):
        return None, ""
    present = set(tree)
    for candidate in manifests.values_schema_candidates(path):
        if candidate in present:
            return client.read_file(candidate, ref=branch), candidate
    return None, ""


# -- re-runs and buttons ------------------------------------------------------------------


def forced_gates(
    request: GateRequest | None,
    pr: PullRequest,
    record: TrainRecord | None = None,
    existing: Mapping[str, ExistingCheckRun] | None = None,
) -> frozenset[str]:
    """The gates a `Re-run` or `Re-evaluate` asks to evaluate afresh on this train PR head
    (each gets a new check run); none when the request is about another commit, or is a
    button press that is stale (`fresh_press`)."""
    if request is None or request.action != "reevaluate" or request.head_sha != pr.head_sha:
        return frozenset()
    if record is not None and not fresh_press(request, record, existing or {}):
        return frozenset()
    return frozenset(request.gates or gate_names())


def fresh_press(
    request: GateRequest, record: TrainRecord, existing: Mapping[str, ExistingCheckRun]
) -> bool:
    """Whether a check-run button press or Re-run still applies: a button's nonce is the
    train's current one and, when the runs are known, the pressed run is still the newest
    of its gate (a re-evaluation replaces it, so the same press replayed is stale). Other
    requests (a check suite's Re-run, a push) always apply."""
    if request.source not in ("check_run.requested_action", "check_run.rerequested"):
        return True
    if request.source == "check_run.requested_action" and request.nonce != button_nonce(record):
        return False
    newest = {run.id for run in existing.values()}
    return not existing or request.run_id in newest


def hold_from_button(
    config: Config,
    client: GitHubPort,
    request: GateRequest | None,
    record: TrainRecord,
    pr: PullRequest,
    now: datetime,
) -> TrainRecord | None:
    """The train held by a `Hold train` button on one of its check runs, as `/train hold`
    would hold it (same permission: maintain, admin or the release team); None when the
    request is not that, or the presser may not hold trains."""
    from bot.core.chatops import permitted

    if request is None or request.action != "hold" or request.head_sha != pr.head_sha:
        return None
    if record.held or not request.actor or not fresh_press(request, record, {}):
        return None
    team = config.chatops.release_team
    in_team = bool(team) and client.team_member(team, request.actor)
    if not permitted("hold", client.permission(request.actor), in_team):
        return None
    held = replace(record, held=True, hold_reason=f"held by @{request.actor} from a check run")
    return held.with_event("hold", now, request.actor, f"{request.source}: Hold train")
