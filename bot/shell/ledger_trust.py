"""A ledger a writer cannot forge (issue #27.3).

Anyone who may push to the repository may push to the ledger branch too (unless it is
protected), and GitHub lets an App bypass protections it is exempt from. So the ledger is
read as the bot wrote it, and a record is checked against GitHub before it is acted on:

1. **Only the bot's commits** (`read_tip`): when the ledger's tip was not made by the bot
   (`GitHubPort.commit_is_ours`: its author is the bot and, for an App or workflow token,
   GitHub verified it), the chain is walked back to the bot's newest own commit and every
   file is read as that commit has it: what the other commits changed is not seen, and the
   bot's next ledger write (on that tree, CAS on the real tip) puts it back. `checked_tip`
   says so once, on the affected trains' PRs or in an issue, and as a problem of the run.
2. **Cross-check before promotion** (`may_promote`): a `merged` (or `promoting`) train must
   have a train PR that GitHub says is merged, by the bot, at the record's merge commit,
   with an APPROVED review from each approver the record names, as many as the approval
   rule wants; and every tag it would write must be the one its service's template gives
   for this train's merge commit. Anything else is not promoted and is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from bot.adapters.github import GitHubPort, LedgerTip
from bot.config.model import Config
from bot.core import promotion as pm
from bot.core.ledger import TrainRecord, decode
from bot.core.train import MERGED, PROMOTING
from bot.errors import ExternalError, Problem

MAX_WALK = 200  # foreign commits looked through before giving up on the ledger


@dataclass(frozen=True)
class Tampering:
    """Ledger commits the bot did not make, newest first, and the files they changed."""

    commits: tuple[str, ...]
    paths: tuple[str, ...]
    trusted: str | None  # the bot's newest own commit (None: it never wrote one)


def read_tip(client: GitHubPort, branch: str) -> tuple[LedgerTip, Tampering | None]:
    """The ledger tip as the bot wrote it: the real tip commit (to compare-and-swap on),
    with the tree and files of the bot's newest own commit when others came after it."""
    tip = client.ledger_tip(branch)
    if tip.commit is None or client.commit_is_ours(tip.commit):
        return tip, None
    foreign: list[str] = []
    sha: str | None = tip.commit
    while sha is not None and not client.commit_is_ours(sha):
        if len(foreign) >= MAX_WALK:
            raise ExternalError(
                "ledger",
                f"{branch}: more than {MAX_WALK} commits on top that the bot did not make; "
                "nothing done until a human restores the branch",
            )
        foreign.append(sha)
        parents = client.commit_parents(sha)
        sha = parents[0] if parents else None
    tree = client.commit_tree(sha) if sha else None
    files = client.tree_files(tree) if tree else {}
    changed = sorted(p for p in set(tip.files) | set(files) if tip.files.get(p) != files.get(p))
    return LedgerTip(tip.commit, tree, files), Tampering(tuple(foreign), tuple(changed), sha)


def checked_tip(
    client: GitHubPort, config: Config, *, dry_run: bool, problems: list[str]
) -> LedgerTip:
    """`read_tip`, and when others wrote on the ledger: a problem for this run and (once
    per foreign commit) a security notice where people will see it."""
    tip, tampering = read_tip(client, config.ledger_branch)
    if tampering is None:
        return tip
    newest = tampering.commits[0]
    trains = [p[len("trains/") : -len(".json")] for p in tampering.paths if p.startswith("trains/")]
    changed = ", ".join(tampering.paths) or "nothing"
    problem = (
        f"ledger: {len(tampering.commits)} commit(s) on {config.ledger_branch} not made by the "
        f"bot (newest {newest[:12]}) ignored; they changed {changed}"
    )
    if problem not in problems:  # once per reconcile, not once per round
        problems.append(problem)
    if not dry_run:
        _notify(client, config, tip, tampering, trains)
    return tip


def _notify(
    client: GitHubPort, config: Config, tip: LedgerTip, tampering: Tampering, trains: list[str]
) -> None:
    newest = tampering.commits[0]
    body = (
        f"🛡️ **Security notice**: the ledger branch `{config.ledger_branch}` has "
        f"{len(tampering.commits)} commit(s) the bot did not make (newest `{newest[:12]}`). "
        "The bot ignores them and goes on from its own last record: nothing they claim is "
        "acted on. Changed: " + ", ".join(f"`{p}`" for p in tampering.paths) + ".\n\n"
        "Protect the ledger branch so that only the App may push to it, and see "
        "`release-train audit verify` (finding `foreign-ledger-commit`)."
    )
    key = f"ledger-forged:{newest[:12]}"
    numbers = sorted({n for t in trains if (n := _train_pr(client, tip, t))})
    for number in numbers:
        client.post_comment(number, body, key)
    if not numbers:
        client.open_issue("Release train: the ledger was written by someone else", body, key)


def _train_pr(client: GitHubPort, tip: LedgerTip, train_id: str) -> int:
    sha = tip.files.get(f"trains/{train_id}.json")
    if not sha:
        return 0
    try:
        return decode(client.read_blob(sha)).train_pr
    except (ValueError, KeyError, TypeError):
        return 0


# -- the cross-check before promotion --------------------------------------------------------


def may_promote(client: GitHubPort, config: Config, record: TrainRecord) -> str:
    """Why `record` must not be promoted ("" when GitHub agrees with it). Facts about a
    merged PR never change, so a train PR found sound is remembered for this process; the
    tags are checked every time (the record may change, the check costs nothing)."""
    if record.state not in (MERGED, PROMOTING):
        return ""
    return _merge_problem_once(client, config, record) or _tag_problem(config, record)


def _merge_problem_once(client: GitHubPort, config: Config, record: TrainRecord) -> str:
    cache = getattr(client, "cache", None)
    key = f"sound-merge:{getattr(client, 'repo', '')}:{record.id}:{record.merge_sha}:" + ",".join(
        sorted(record.approved_by)
    )
    if cache is not None and cache.objects.get(key):
        return ""
    why = _merge_problem(client, config, record)
    if not why and cache is not None:
        with cache.lock:
            cache.objects[key] = True
    return why


def _merge_problem(client: GitHubPort, config: Config, record: TrainRecord) -> str:
    if not record.train_pr or not record.merge_sha:
        return "the record names no merged train PR"
    status, raw = client.get_json(f"/pulls/{record.train_pr}")
    if status != 200 or not isinstance(raw, dict):
        raise ExternalError("GitHub", f"train PR #{record.train_pr}: {status}", status=status)
    if not raw.get("merged"):
        return f"train PR #{record.train_pr} is not merged"
    if raw.get("merge_commit_sha") != record.merge_sha:
        return f"train PR #{record.train_pr} was merged at another commit than the record says"
    merger = str((raw.get("merged_by") or {}).get("login") or "")
    if not client.identity().is_login(merger):
        return f"train PR #{record.train_pr} was merged by {merger or 'someone'}, not the bot"
    return _approval_problem(client, config, record)


def _approval_problem(client: GitHubPort, config: Config, record: TrainRecord) -> str:
    from bot.core.gates import policy  # the rule the policy gate applies (gates.policy wins)

    settings = policy.settings_from_config(config.gates.policy, config.gates)
    rule = settings.emergency_approvals if record.emergency else settings.approvals
    approved = {r.author.lower() for r in client.reviews(record.train_pr) if r.state == "APPROVED"}
    named = {a.lower() for a in record.approved_by}
    if not named <= approved:
        return f"the record names approvers with no approval on #{record.train_pr}"
    if len(named) < rule.required:
        return f"{len(named)} approval(s) recorded, the policy wants {rule.required}"
    return ""


def _tag_problem(config: Config, record: TrainRecord) -> str:
    promotion = pm.load(record)
    days = {e.at for e in record.history} | {d for d in (record.state_since,) if d}
    for service, tag in promotion.tags.items():
        try:
            template = config.service(service).tag
        except StopIteration:
            return f"tag for unknown service {service!r}"
        wanted = {pm.render_tag(template, record.merge_sha, record.id, d) for d in days}
        if tag.partition("@")[0] not in wanted:  # `tag@sha256:…`: pinned by digest
            return f"tag {tag!r} for {service} is not this train's"
    return ""


def refused(
    client: GitHubPort, config: Config, record: TrainRecord, problems: list[str], dry_run: bool
) -> bool:
    """The hook before a train is promoted: True (and reported) when it must not be. Fails
    closed: when GitHub cannot be asked, the train waits for the next reconcile."""
    try:
        why = may_promote(client, config, record)
    except ExternalError as exc:
        problems.append(f"{record.id}: not promoted until its train PR can be checked: {exc}")
        return True
    if not why:
        return False
    problems.append(f"{record.id}: not promoted: {why}")
    if not dry_run:
        stop_notice(client, record, why)
    return True


def stop_notice(client: GitHubPort, record: TrainRecord, why: str) -> None:
    """Say once on the train PR (or in an issue) that the train is not promoted, and why."""
    body = (
        f"🛡️ **Security notice**: release train **{record.id}** is not promoted: {why}. "
        "Its ledger record does not agree with GitHub, so the bot does not act on it. "
        "See `release-train audit verify`."
    )
    key = f"ledger-untrusted:{record.id}"
    if record.train_pr:
        client.post_comment(record.train_pr, body, key)
    else:
        client.open_issue(f"Release train {record.id}: not promoted", body, key)


# -- is the ledger branch protected? -------------------------------------------------------


def protection_problem(client: GitHubPort, branch: str, where: str = "") -> Problem | None:
    """A warning when the ledger branch is not protected (branch protection, or a ruleset
    restricting updates): then anyone with write access may push to it. The bot ignores
    what it did not write, but the branch should let only the App push."""
    found, body = client.get_json(f"/branches/{quote(branch, safe='')}")
    if found >= 400 and found != 404:
        raise ExternalError("GitHub", f"branch {branch}: {found}", status=found)
    if found == 200 and isinstance(body, dict) and body.get("protected"):
        return None
    status, rules = client.get_json(f"/rules/branches/{quote(branch, safe='')}")
    if status == 200 and isinstance(rules, list) and any(r.get("type") == "update" for r in rules):
        return None
    state = "does not exist yet" if found == 404 else "is not protected"
    return Problem(
        f"the ledger branch {branch!r} {state}: anyone with write access can push to it. "
        "The bot ignores ledger commits it did not make, but protect the branch (branch "
        "protection or a ruleset restricting updates) so that only the App may push",
        file=where,
        severity="warning",
    )
