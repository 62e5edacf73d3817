"""Read the same history through GitHub's REST API (githubkit): the commits of the ledger
and base branches (paginated lists) and the ledger files at the tip (one tree, their blobs).

The commit lists carry no changed files, so the History says `changes_known=False`; verify
then checks the state path from the trailers and the cross-branch agreement only.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote

from bot.core.identity import BotIdentity
from bot.errors import ExternalError, UsageError
from bot.insights.gitlog import DEFAULT_LEDGER
from bot.insights.model import Commit, History
from bot.insights.trust import own_history

PER_PAGE = 100


def _get(gh: Any, url: str, params: dict[str, Any] | None = None) -> tuple[int, Any, str]:
    from githubkit.exception import RequestFailed

    try:
        response = gh.request("GET", url, params=params)
    except RequestFailed as exc:
        return exc.response.status_code, None, ""
    except Exception as exc:  # transport errors: httpx raises its own hierarchy
        raise ExternalError("GitHub", f"GET {url}: {exc}", retryable=True) from exc
    raw = response.raw_response
    return raw.status_code, raw.json(), raw.headers.get("link", "")


def _next(link: str) -> str:
    for part in link.split(","):
        if 'rel="next"' in part:
            return part.split(";")[0].strip().strip("<>")
    return ""


def _pages(gh: Any, url: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    status, body, link = _get(gh, url, params)
    while True:
        if status >= 400 or not isinstance(body, list):
            raise ExternalError("GitHub", f"GET {url}: {status}", status=status)
        yield from body
        url = _next(link)
        if not url:
            return
        status, body, link = _get(gh, url)


def parse_commit(item: dict[str, Any]) -> Commit:
    """One entry of ``GET /repos/{owner}/{repo}/commits`` as a Commit."""
    inner = item.get("commit", {})
    author = inner.get("author") or {}
    verification = inner.get("verification")
    verified = bool(verification.get("verified")) if isinstance(verification, dict) else None
    return Commit(
        sha=str(item["sha"]),
        parents=tuple(str(p["sha"]) for p in item.get("parents", [])),
        author=str(author.get("name", "")),
        at=datetime.fromisoformat(str(author.get("date", "")).replace("Z", "+00:00")),
        message=str(inner.get("message", "")).strip() + "\n",
        email=str(author.get("email", "")),
        verified=verified,
    )


def _commits(gh: Any, repo: str, branch: str) -> list[Commit]:
    url = f"/repos/{repo}/commits"
    items = _pages(gh, url, {"sha": branch, "per_page": PER_PAGE})
    return [parse_commit(item) for item in items][::-1]


def _ok(gh: Any, url: str, what: str) -> Any:
    status, body, _ = _get(gh, url)
    if status >= 400:
        raise ExternalError("GitHub", f"{what}: {status}", status=status)
    return body


def _tip_files(gh: Any, repo: str, tip: str) -> dict[str, str]:
    """The ledger's JSON files at commit `tip`: its tree (recursive), then each blob."""
    tree_sha = _ok(gh, f"/repos/{repo}/git/commits/{tip}", "ledger tip")["tree"]["sha"]
    status, tree, _ = _get(gh, f"/repos/{repo}/git/trees/{tree_sha}", {"recursive": 1})
    if status >= 400:
        raise ExternalError("GitHub", f"ledger tree: {status}", status=status)
    files: dict[str, str] = {}
    for entry in tree.get("tree", []):
        path = str(entry.get("path", ""))
        if entry.get("type") != "blob" or not path.endswith(".json"):
            continue
        blob = _ok(gh, f"/repos/{repo}/git/blobs/{entry['sha']}", f"blob {path}")
        files[path] = base64.b64decode(blob.get("content", "")).decode("utf-8")
    return files


def read_history_api(
    repo: str,
    token: str,
    *,
    api_url: str = "https://api.github.com",
    ledger_branch: str = DEFAULT_LEDGER,
    base: str | None = None,
    bot: BotIdentity | None = None,
) -> History:
    """The History of `repo` (``owner/name``) over the REST API, split into the bot's own
    commits (identity and GitHub's verification) and the rest (`bot.insights.trust`)."""
    from githubkit import GitHub

    if repo.count("/") != 1:
        raise UsageError(f"--repo {repo!r}: expected OWNER/NAME or a local path")
    with GitHub(token, base_url=api_url.rstrip("/") + "/", http_cache=False) as gh:
        status, meta, _ = _get(gh, f"/repos/{repo}")
        if status >= 400:
            raise ExternalError("GitHub", f"repository {repo}: {status}", status=status)
        base_name = base or str(meta.get("default_branch", "main"))
        ref = quote(ledger_branch, safe="/")
        status, found, _ = _get(gh, f"/repos/{repo}/git/ref/heads/{ref}")
        if status == 404:
            raise UsageError(f"no ledger branch {ledger_branch!r} in {repo}")
        if status >= 400:
            raise ExternalError("GitHub", f"ledger ref: {status}", status=status)
        tip = str(found["object"]["sha"])
        ledger = _commits(gh, repo, tip)
        base_commits = [c for c in _commits(gh, repo, base_name) if c.trailer("Train-Id")]
        files = _tip_files(gh, repo, tip)
    html = str(meta.get("html_url", ""))
    read = History(
        ledger=tuple(ledger),
        base=tuple(base_commits),
        tip_files=files,
        changes_known=False,
        ledger_ref=ledger_branch,
        base_ref=base_name,
        repo_url=html,
    )
    return own_history(read, bot or BotIdentity())


def read_file_api(
    repo: str, token: str, path: str, ref: str, *, api_url: str = "https://api.github.com"
) -> str | None:
    """A file's text at `ref` through the contents API (None when it is not there)."""
    from githubkit import GitHub

    with GitHub(token, base_url=api_url.rstrip("/") + "/", http_cache=False) as gh:
        status, body, _ = _get(gh, f"/repos/{repo}/contents/{quote(path)}", {"ref": ref})
    if status == 404 or not isinstance(body, dict):
        return None
    if status >= 400:
        raise ExternalError("GitHub", f"{path}: {status}", status=status)
    return base64.b64decode(body.get("content", "")).decode("utf-8")
