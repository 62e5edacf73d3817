"""Read a local clone: the ledger branch and the base branch, a constant number of `git` runs.

One ``git log --raw`` over the ledger branch (messages plus the blobs each commit changed),
one ``git cat-file --batch`` for those blobs, one ``git log`` over the base branch's commits
that carry a ``Train-Id`` trailer. No process per commit.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from bot.core.holds import HOLDS_PATH
from bot.core.identity import BotIdentity
from bot.core.ledger import INDEX_PATH
from bot.errors import ExternalError, UsageError
from bot.insights.model import DEFAULT_LEDGER, NULL_BLOB, Change, Commit, History
from bot.insights.trust import own_history

_RS, _US = "\x1e", "\x1f"
_FORMAT = f"--format={_RS}%H{_US}%P{_US}%an{_US}%ae{_US}%aI{_US}%B{_US}"


def _git(repo: Path, args: Sequence[str], stdin: bytes | None = None) -> bytes:
    cmd = ["git", "-C", str(repo), "-c", "core.quotePath=false", *args]
    try:
        done = subprocess.run(cmd, input=stdin, capture_output=True, check=False)
    except OSError as exc:
        raise ExternalError("git", f"cannot run git: {exc}") from exc
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip()
        raise ExternalError("git", f"git {args[0]} failed in {repo}: {detail}")
    return done.stdout


def resolve_ref(repo: Path, names: Iterable[str]) -> str | None:
    """The first of `names` that names a commit (local branch, remote-tracking, ...)."""
    for name in names:
        done = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"{name}^{{commit}}"],
            capture_output=True,
            check=False,
        )
        if done.returncode == 0:
            return name
    return None


def _candidates(name: str) -> list[str]:
    if name.startswith(("refs/", "origin/")):
        return [name]
    return [name, f"origin/{name}", f"refs/remotes/origin/{name}"]


def default_base(repo: Path) -> str:
    """The repository's HEAD branch: origin/HEAD's target if a clone, else the checked-out one."""
    for args in (
        ["symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD"],
        ["symbolic-ref", "--quiet", "--short", "HEAD"],
    ):
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.decode().strip()
    return "main"


def read_file_at(repo: Path, ref: str, path: str) -> str | None:
    """A file's text at `ref` (None when it is not there)."""
    done = subprocess.run(
        ["git", "-C", str(repo), "show", f"{ref}:{path}"], capture_output=True, check=False
    )
    return done.stdout.decode("utf-8", errors="replace") if done.returncode == 0 else None


def parse_log(raw: str) -> list[Commit]:
    """Parse `_FORMAT` output (with or without ``--raw`` lines), newest first as git prints."""
    commits: list[Commit] = []
    for chunk in raw.split(_RS)[1:]:
        sha, parents, author, email, date, message, tail = chunk.split(_US, 6)
        commits.append(
            Commit(
                sha=sha,
                parents=tuple(parents.split()),
                author=author,
                at=datetime.fromisoformat(date),
                message=message.strip() + "\n",
                changes=tuple(_raw_changes(tail)),
                email=email,
            )
        )
    return commits


def _raw_changes(tail: str) -> Iterable[Change]:
    for line in tail.splitlines():
        if not line.startswith(":"):
            continue
        meta, _, path = line.partition("\t")
        parts = meta.split()
        if len(parts) >= 5:
            yield Change(path.split("\t")[-1], parts[2], parts[3])


def read_blobs(repo: Path, shas: Iterable[str]) -> dict[str, str]:
    """Blob texts by sha, all in one ``git cat-file --batch``."""
    wanted = sorted({s for s in shas if s and s != NULL_BLOB})
    if not wanted:
        return {}
    out = _git(repo, ["cat-file", "--batch"], ("\n".join(wanted) + "\n").encode())
    blobs: dict[str, str] = {}
    pos = 0
    for sha in wanted:
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        pos = end + 1
        if len(header) < 3 or header[1] == b"missing":
            continue
        size = int(header[2])
        blobs[sha] = out[pos : pos + size].decode("utf-8", errors="replace")
        pos += size + 1
    return blobs


def _log(repo: Path, ref: str, extra: Sequence[str], since: str | None) -> list[Commit]:
    args = ["log", _FORMAT, *extra]
    if since:
        args.append(f"--since={since}")
    raw = _git(repo, [*args, ref, "--"]).decode("utf-8", errors="replace")
    return parse_log(raw)[::-1]


def read_history(
    repo: Path,
    *,
    ledger_branch: str = DEFAULT_LEDGER,
    base: str | None = None,
    repo_url: str = "",
    bot: BotIdentity | None = None,
) -> History:
    """Both branches of the clone at `repo` (the ledger in full: verify needs every commit),
    split into the bot's own commits and the rest (`bot.insights.trust`). A clone cannot
    show GitHub's verification: here the bot's commits are known by their git identity."""
    if not (repo / ".git").exists() and not (repo / "HEAD").exists():
        raise UsageError(f"{repo} is not a git repository")
    ledger_ref = resolve_ref(repo, _candidates(ledger_branch))
    if ledger_ref is None:
        raise UsageError(f"no ledger branch {ledger_branch!r} in {repo} (fetch it first?)")
    base_name = base or default_base(repo)
    base_ref = resolve_ref(repo, _candidates(base_name))
    if base_ref is None:
        raise UsageError(f"no base branch {base_name!r} in {repo}")
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:  # the base log runs alongside
        base_job = pool.submit(_log, repo, base_ref, ["--grep=^Train-Id: "], None)
        ledger = _log(repo, ledger_ref, ["--raw", "--no-abbrev", "--root", "--no-renames"], None)
        base_commits = base_job.result()
    blobs = read_blobs(repo, _wanted_blobs(ledger))
    read = History(
        ledger=tuple(ledger),
        base=tuple(base_commits),
        blobs=blobs,
        tip_files=tip_files(ledger, blobs),
        changes_known=True,
        ledger_ref=ledger_ref,
        base_ref=base_ref,
        repo_url=repo_url,
    )
    return own_history(read, bot or BotIdentity())


def _wanted_blobs(ledger: Sequence[Commit]) -> set[str]:
    """Every version of each train file (old and new sides), and the index and the held
    services (`holds.json`) at the tip only."""
    wanted: set[str] = set()
    tip: dict[str, str] = {}
    for commit in ledger:
        for change in commit.changes:
            if change.path.startswith("trains/"):
                wanted.update((change.old_blob, change.new_blob))
            elif change.path in (INDEX_PATH, HOLDS_PATH):
                tip[change.path] = change.new_blob
    return wanted | {sha for sha in tip.values() if sha}


def tip_files(ledger: Sequence[Commit], blobs: dict[str, str]) -> dict[str, str]:
    """Path -> text at the ledger's tip, replayed from each commit's changes."""
    current: dict[str, str] = {}
    for commit in ledger:
        for change in commit.changes:
            current[change.path] = change.new_blob
    return {p: blobs[s] for p, s in current.items() if s != NULL_BLOB and s in blobs}
