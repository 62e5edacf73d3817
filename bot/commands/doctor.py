"""`release-train doctor --repo OWNER/NAME [--json]`: before any train runs, can it finish?

Reads the configuration (default branch), each stage's branch protection and ruleset rules
(and whether the bot may bypass them), and probes the permissions the configured gates
need; says per stage whether the bot writes it directly, needs pull-request mode, or cannot
write it at all, and which permissions are missing. Exit 1 when a train could not complete.
The judging is pure (`bot.core.preflight`); this module reads and prints.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from bot.commands._common import print_json, render_table
from bot.commands.reconcile import add_repo_arguments, open_client
from bot.core import preflight as pf
from bot.errors import EXIT_CHECK_FAILED, EXIT_OK, ConfigError, ExternalError, PermissionMissing

PAT_PREFIXES = ("ghp_", "github_pat_", "gho_", "ghu_")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="say whether trains can complete: branch rules, stage modes, token permissions",
        description=(
            "Preflight for a repository: read its configuration, each stage's branch\n"
            "protection and rulesets (and whether the bot may bypass them), and probe the\n"
            "permissions the configured gates need (code scanning: security_events; team\n"
            "approvals: members; check runs: an App token). Per stage it says `direct`,\n"
            "`needs pull-request mode` or `cannot be written`, with the rules that decide.\n"
            "Exits 1 when a train could not complete (a stage that cannot be written the\n"
            "way it is configured, or a missing permission), 0 otherwise."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_repo_arguments(parser)
    parser.set_defaults(func=run)


# -- reads ---------------------------------------------------------------------------------


def _status_body(client: Any, path: str) -> tuple[int, Any]:
    """A GET answered as (status, body); a refusal for a permission answers 403."""
    try:
        status, body = client.get_json(path)
        return int(status), body
    except PermissionMissing:
        return 403, None


def branch_rules(client: Any, repo: str, branch: str) -> pf.BranchRules:
    """Classic protection and the ruleset rules on `branch` of `repo`, as the bot sees them."""
    base = f"/repos/{repo}"
    status, head = _status_body(client, f"{base}/branches/{quote(branch, safe='')}")
    if status == 404:
        return pf.BranchRules(repo, branch, exists=False)
    classic, unreadable = None, False
    if isinstance(head, dict) and head.get("protected"):  # how: needs `administration: read`
        status, prot = _status_body(client, f"{base}/branches/{quote(branch, safe='')}/protection")
        classic = prot if status == 200 and isinstance(prot, dict) else None
        unreadable = status == 403
    status, found = _status_body(client, f"{base}/rules/branches/{quote(branch, safe='')}")
    rules: list[tuple[str, dict[str, Any]]] = []
    pr_bypass: set[str] = set()
    names: dict[int, tuple[str, str]] = {}
    for rule in found if status == 200 and isinstance(found, list) else []:
        ident = int(rule.get("ruleset_id") or 0)
        if ident not in names:
            _, ruleset = _status_body(client, f"{base}/rulesets/{ident}")
            ruleset = ruleset if isinstance(ruleset, dict) else {}
            names[ident] = (str(ruleset.get("name") or ident), str(
                ruleset.get("current_user_can_bypass") or "never"))  # fmt: skip
        name, bypass = names[ident]
        if bypass == "always":
            continue
        if bypass == "pull_requests_only":
            pr_bypass.add(name)
        rules.append((name, rule))
    return pf.BranchRules(
        repo, branch, True, classic, unreadable, tuple(rules), frozenset(pr_bypass)
    )


def _probe(client: Any, path: str, permission: str, level: str, why: str) -> str:
    """ "permission: level (why)" when GitHub refuses the read for that permission."""
    try:
        client.get_json(path)
    except PermissionMissing as exc:
        return f"{exc.permission}: {exc.level} ({why})"
    return ""


def missing_permissions(client: Any, config: Any, repo: str) -> list[str]:
    """Probe (one GET each) the permissions the configured gates need."""
    out = []
    security = config.gates.security
    if str(security.get("source", "code-scanning")) != "sarif":
        path = f"/repos/{repo}/code-scanning/alerts?per_page=1"
        why = "the security gate reads code scanning"
        out.append(_probe(client, path, "security_events", "read", why))
    teams = {*config.gates.approvals.teams, *config.gates.emergency_approvals.teams}
    teams |= {config.chatops.release_team} if config.chatops.release_team else set()
    for team in sorted(teams):
        org, _, slug = team.rpartition("/")
        path = f"/orgs/{org or repo.split('/')[0]}/teams/{slug}"
        out.append(_probe(client, path, "members", "read", f"team {team} approves or commands"))
    return [m for m in out if m]


def token_kind(token: str) -> str:
    if token.startswith(PAT_PREFIXES):
        return "personal access token"
    if token.startswith("ghs_"):
        return "installation token (an App or the workflow's GITHUB_TOKEN)"
    return "token of unknown kind"


# -- the report ----------------------------------------------------------------------------


ACTIONS_TOKEN_NOTE = (
    "the token is the workflow's GITHUB_TOKEN: the pull requests and pushes it makes start "
    "no workflows (no CI runs on the train PR or a stage PR; only the bot's own check runs "
    "report there) — use an App installation token (actions/create-github-app-token)"
)


def without_ci(stages: list[pf.StageReport]) -> list[pf.StageReport]:
    """With the workflow's GITHUB_TOKEN: a stage pull request that waits for CI checks
    waits forever (no workflow runs on it), a problem of that stage."""
    out = []
    for s in stages:
        checks = [w for w in s.verdict.waits_for if w.startswith("checks ")]
        if s.mode == "pull_request" and checks and not s.problem:
            why = (
                f"stage {s.stage}: its pull request waits for {checks[0]}, which no workflow "
                "runs on a pull request GITHUB_TOKEN opened — fix: give the Action an App token"
            )
            s = replace(s, problem=why)
        out.append(s)
    return out


def examine(
    client: Any, repo: str, config: Any, me: str, *, actions_token: bool = False
) -> pf.Report:
    stages = []
    for stage in config.stages:
        target = stage.repository or repo
        branch = stage.branch or (config.trains[0].base if config.trains else "") or "main"
        verdict = pf.judge(branch_rules(client, target, branch), me)
        problem = pf.stage_problem(stage.name, stage.mode, f"{target} {branch}", verdict)
        stages.append(pf.StageReport(stage.name, target, branch, stage.mode, verdict, problem))
    found = branch_rules(client, repo, config.ledger_branch)  # absent: the bot creates it
    ledger = pf.judge(found, me) if found.exists else pf.Verdict(pf.DIRECT)
    notes = []
    if ledger.how in (pf.NEEDS_PR, pf.CANNOT):
        why = "; ".join(ledger.reasons)
        stages.append(pf.StageReport("(ledger)", repo, config.ledger_branch, "commit", ledger,
                      f"the ledger branch {config.ledger_branch} refuses the bot's commits "
                      f"({why}) — fix: exempt it from the rule or add the App to the bypass "
                      "list"))  # fmt: skip
    missing = list(missing_permissions(client, config, repo))
    kind = token_kind(client.token)
    if kind == "personal access token":
        missing.append("checks: write (the Checks API accepts only App tokens; this is a PAT)")
    if any(s.verdict.waits_for for s in stages):
        notes.append("stage pull requests wait for what their branch requires (listed)")
    if actions_token:  # the Action knows; a token alone does not say
        notes.append(ACTIONS_TOKEN_NOTE)
        stages = without_ci(stages)
    return pf.Report(repo, kind, tuple(stages), tuple(missing), tuple(notes))


def as_json(report: pf.Report) -> dict[str, Any]:
    return {
        "repo": report.repo,
        "token": report.token,
        "ok": report.ok,
        "stages": [
            {
                "stage": s.stage,
                "repository": s.repo,
                "branch": s.branch,
                "mode": s.mode,
                "verdict": s.verdict.how,
                "reasons": list(s.verdict.reasons),
                "waits_for": list(s.verdict.waits_for),
                "problem": s.problem,
            }
            for s in report.stages
        ],
        "missing_permissions": list(report.missing),
        "problems": list(report.problems),
        "notes": list(report.notes),
    }


def as_text(report: pf.Report) -> str:
    rows = [
        [s.stage, s.repo, s.branch, s.mode, s.verdict.how,
         "; ".join(s.verdict.reasons + tuple(f"waits for {w}" for w in s.verdict.waits_for))]
        for s in report.stages
    ]  # fmt: skip
    lines = [f"repository: {report.repo}", f"token: {report.token}", ""]
    lines.append(render_table(["stage", "repository", "branch", "mode", "verdict", "why"], rows))
    for missing in report.missing:
        lines.append(f"missing permission: {missing}")
    lines += [f"problem: {p}" for p in report.problems if not p.startswith("missing permission")]
    lines += [f"note: {n}" for n in report.notes]
    lines.append("ok: a train can complete" if report.ok else "not ok: a train could not complete")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from bot.config.repo import load_repo_config
    from bot.transports.settings import checked_config_path

    path = checked_config_path(args.config_path)
    with open_client(args) as client:
        try:
            config = load_repo_config(client, path, repo=args.repo)
        except ExternalError as exc:
            raise ExternalError("GitHub", f"the configuration could not be read: {exc.message}",
                                status=exc.status) from None  # fmt: skip
        if config is None:
            raise ConfigError(f"no configuration at {path} on the default branch", file=path)
        login = client.bot_login()
        report = examine(client, args.repo, config, login.removesuffix("[bot]"))
    if args.json:
        print_json(as_json(report))
    else:
        print(as_text(report))
    return EXIT_OK if report.ok else EXIT_CHECK_FAILED
