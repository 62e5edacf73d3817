"""What the train changes, read through the GitHub adapter: the paths (base...head), and
the facts of the gates that judge changed files (`flags`, `migrations`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from fnmatch import fnmatchcase

from bot.adapters.github import GitHubPort
from bot.core.gates import flags, migrations
from bot.core.gates.policy import PolicyFacts
from bot.core.world import PullRequest


def changed_paths(client: GitHubPort, base: str, head: str) -> tuple[str, ...]:
    """The files the train changes: compare base...head (renames count both names)."""
    return compare(client, base, head)[0]


def compare(client: GitHubPort, base: str, head: str) -> tuple[tuple[str, ...], str | None]:
    """`changed_paths`, and the merge base's SHA (what the train changed *from*; None when
    GitHub does not say)."""
    status, body = client.get_json(f"/compare/{base}...{head}")
    if status != 200 or not isinstance(body, Mapping):
        return (), None
    paths: list[str] = []
    for item in body.get("files") or ():
        if isinstance(item, Mapping):
            paths += [str(item[k]) for k in ("filename", "previous_filename") if item.get(k)]
    merge_base = body.get("merge_base_commit")
    sha = merge_base.get("sha") if isinstance(merge_base, Mapping) else None
    return tuple(dict.fromkeys(paths)), str(sha) if sha else None


MAX_FLAG_FILES = 50  # flag files read per train (bounded work per untrusted input)


def gather_flags(
    client: GitHubPort, pr: PullRequest, settings: flags.FlagSettings
) -> flags.FlagFacts:
    """The flag files (`gates.flags.files`) the train changes, read at the merge base (not
    the base branch's tip, which may have moved since) and on the train PR head (a file
    absent on one side is None there)."""
    changed, merge_base = compare(client, pr.base, pr.head_sha)
    wanted = [p for p in changed if any(fnmatchcase(p, g) for g in settings.files)]
    base = merge_base or pr.base
    return flags.FlagFacts(
        files=tuple(
            flags.FlagFileTexts(
                p, client.read_file(p, ref=base), client.read_file(p, ref=pr.head_sha)
            )
            for p in wanted[:MAX_FLAG_FILES]
        )
    )


def gather_migrations(
    client: GitHubPort,
    pr: PullRequest,
    policy_facts: PolicyFacts,
    members: Mapping[str, frozenset[str]],
) -> migrations.MigrationFacts:
    """The paths the train changes, and the train PR's reviews (from the policy facts) with
    the migration approvers team's members (`members`)."""
    return migrations.MigrationFacts(
        changed_paths=changed_paths(client, pr.base, pr.head_sha),
        policy=replace(policy_facts, team_members={**policy_facts.team_members, **members}),
    )
