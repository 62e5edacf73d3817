"""GitHub adapter (githubkit): read the world, perform actions, compare-and-swap the ledger.

Responses are parsed once, here, into the bot's own dataclasses (`bot.core.world`).
GETs are conditional (``If-None-Match``) against a `ResponseCache` that may outlive one
client, so a quiet reconcile is answered mostly by 304s; git objects are cached by sha.
Writes are paced under GitHub's content-creation limit.
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Protocol
from urllib.parse import quote

from bot.adapters import refusals
from bot.adapters.ratelimit import RateLimiter, limiter_for
from bot.core.identity import BotIdentity
from bot.core.world import CheckRun, Comment, LabelEvent, PullRequest, Review, parse_time
from bot.errors import ExternalError

ROLES = ("admin", "maintain", "write", "triage", "read")
_KEY = re.compile(r"<!-- release-train:key=(\S+?) -->")


class LedgerMoved(Exception):
    """Compare-and-swap lost: somebody else moved the ledger first. Re-read and decide."""


@dataclass(frozen=True)
class LedgerTip:
    """The ledger branch as read: tip commit (None: no ledger yet) and path -> blob sha."""

    commit: str | None = None
    tree: str | None = None
    files: dict[str, str] = field(default_factory=dict)


@dataclass
class ResponseCache:
    """ETags and bodies of GET responses, plus immutable git objects by sha. Thread-safe."""

    etags: dict[str, tuple[str, Any, str]] = field(default_factory=dict)  # url -> etag, body, next
    objects: dict[str, Any] = field(default_factory=dict)
    comments_seen: dict[tuple[str, int], str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    limit: int = 20_000  # entries per map; a long-running server starts afresh past it

    def remember(self, key: str, value: tuple[str, Any, str]) -> None:
        """Store an ETagged response (call with `lock` held)."""
        if len(self.etags) >= self.limit:
            self.etags.clear()
        if len(self.objects) >= self.limit:
            self.objects.clear()
        self.etags[key] = value


SHARED_CACHE = ResponseCache()


class GitHubPort(Protocol):
    """What the shell needs from GitHub. `GitHubClient` is the real one."""

    requests: int

    def read_file(self, path: str, ref: str | None = None) -> str | None: ...
    def ledger_tip(self, branch: str) -> LedgerTip: ...
    def read_blob(self, sha: str) -> str: ...
    def write_ledger(
        self, branch: str, tip: LedgerTip, files: dict[str, str], message: str
    ) -> LedgerTip: ...
    def open_pulls(self) -> list[PullRequest]: ...
    def pull(self, number: int) -> PullRequest | None: ...
    def branch_heads(self, names: set[str]) -> dict[str, str]: ...
    def reviews(self, number: int) -> tuple[Review, ...]: ...
    def check_runs(self, sha: str) -> tuple[CheckRun, ...]: ...
    def search_pulls(self, query: str) -> frozenset[int] | None: ...
    def comments(self, issue: int, updated_at: str = "") -> tuple[Comment, ...]: ...
    def repo_comments(
        self, since: str, fingerprint: tuple[tuple[int, str], ...] = ()
    ) -> tuple[Comment, ...]: ...
    def label_events(self, issue: int) -> tuple[LabelEvent, ...]: ...
    def permission(self, login: str) -> str: ...
    def team_member(self, team: str, login: str) -> bool: ...
    def bot_login(self) -> str: ...
    def identity(self) -> BotIdentity: ...
    def made_by_bot(self, raw: Any) -> bool: ...
    def commit_is_ours(self, sha: str) -> bool: ...
    def commit_parents(self, sha: str) -> list[str]: ...
    def commit_tree(self, sha: str) -> str: ...
    def tree_files(self, tree_sha: str) -> dict[str, str]: ...
    def create_branch(self, branch: str, sha: str) -> str: ...
    def merge_into(self, branch: str, head: str, message: str) -> str | None: ...
    def open_pull(self, head: str, base: str, title: str, body: str) -> PullRequest: ...
    def update_pull(self, number: int, **fields: Any) -> None: ...
    def merge_pull(self, number: int, sha: str, title: str, message: str) -> str | None: ...
    def post_comment(self, issue: int, body: str, key: str) -> bool: ...
    def add_labels(self, issue: int, labels: list[str]) -> None: ...
    def remove_label(self, issue: int, label: str) -> None: ...
    def react(self, comment_id: int, content: str) -> None: ...
    def open_issue(self, title: str, body: str, key: str) -> bool: ...
    def get_json(self, path: str, params: dict[str, Any] | None = None) -> tuple[int, Any]: ...
    def get_pages(self, path: str, params: dict[str, Any], item_key: str = "") -> list[Any]: ...
    def git_commit(self, sha: str) -> dict[str, Any]: ...
    def publish_check_run(
        self, body: dict[str, Any], run_id: int = 0, more: tuple[dict[str, Any], ...] = ()
    ) -> int: ...


RETRIES = 3
MAX_WAIT = 5.0


def _retry_after(response: Any) -> float | None:
    """Seconds to wait before retrying a 5xx, or None when the answer is final (rate-limit
    refusals are the `RateLimiter`'s: it waits for them before the next request)."""
    status = int(response.status_code)
    if status in (500, 502, 503, 504):
        return 0.2
    return None


def _loaded(response: Any) -> Any:
    """`response` with its body read (a streamed one, e.g. an archive, is read here)."""
    raw = getattr(response, "raw_response", None)
    if raw is not None:
        raw.read()
    return response


def _discard(response: Any) -> None:
    """Give back the connection of a response not used (a streamed one holds it)."""
    raw = getattr(response, "raw_response", None)
    if raw is not None:
        raw.close()


def _message(response: Any) -> str:
    """The error body's message of a 403/429 (where a rate limit says which one it is)."""
    if int(response.status_code) not in (403, 429):
        return ""
    _loaded(response)
    try:
        return str(response.json().get("message", ""))
    except Exception:
        return str(response.text[:200])


def blob_sha(text: str) -> str:
    """Git's object id of a blob with this UTF-8 content."""
    data = text.encode("utf-8")
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _next_link(link: str) -> str:
    for part in link.split(","):
        if 'rel="next"' in part:
            return part.split(";")[0].strip().strip("<>")
    return ""


class GitHubClient:
    """`GitHubPort` over githubkit for one repository. Use as a context manager."""

    def __init__(
        self,
        repo: str,
        token: str,
        *,
        api_url: str = "https://api.github.com",
        cache: ResponseCache | None = None,
        bot_login: str = "",
        app_id: int = 0,
        writes_per_minute: int = 80,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.repo = repo
        self.owner = repo.split("/", 1)[0]
        self.token = token
        self.api_url = api_url.rstrip("/")
        self.cache = cache if cache is not None else SHARED_CACHE
        self._bot_login = bot_login
        self._app_id = app_id
        self._git_emails: tuple[str, ...] = ()
        self.requests = 0
        self.writes = 0
        self._writes_per_minute = writes_per_minute
        self._recent: deque[float] = deque()
        self._clock = clock
        self._sleep = sleep
        self._events_supported = True
        self._keys: set[str] | None = None
        self._roles: dict[str, str] = {}  # login -> role, read for approvals
        self._gh: Any = None
        # shared by every client of this installation (token) in the process
        self.limiter = limiter if limiter is not None else limiter_for(self.api_url, token)

    def __enter__(self) -> GitHubClient:
        from githubkit import GitHub

        self._gh = GitHub(
            self.token, base_url=self.api_url, http_cache=False, auto_retry=False, timeout=30
        )
        self._gh.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._gh.__exit__(*exc)

    # -- transport ---------------------------------------------------------------------

    def _call(self, method: str, url: str, *, retry: bool = True, **kwargs: Any) -> Any:
        """One request; 5xx are retried (a few times) unless `retry` is False (a write that
        must not be repeated blindly). A rate-limit refusal was not carried out, so it is
        sent again once the limiter allows (it waits out Retry-After or the reset, or
        raises `RateLimited` when that is longer than it may wait)."""
        for attempt in range(RETRIES + 1):
            self.limiter.acquire()
            response = self._once(method, url, **kwargs)
            status = int(response.status_code)
            if self.limiter.observe(status, response.headers, _message(response)):
                if attempt == RETRIES:
                    return response
                _discard(response)
                continue
            wait = _retry_after(response)
            if wait is None or not retry or attempt == RETRIES:
                return response
            _discard(response)
            self._sleep(min(wait, MAX_WAIT) * (attempt + 1))
        return response  # pragma: no cover - the loop always returns

    def _once(self, method: str, url: str, **kwargs: Any) -> Any:
        from githubkit.exception import GitHubException, RequestFailed

        if method != "GET":
            self._pace()
        self.requests += 1
        try:
            return self._gh.request(method, url, **kwargs)
        except RequestFailed as exc:  # a rule or a missing permission: typed, never a race
            return refusals.raise_for(self.repo, method, url, exc.response)
        except GitHubException as exc:
            raise ExternalError("GitHub", f"{method} {url}: {exc}", retryable=True) from exc

    def _pace(self) -> None:
        now = self._clock()
        while self._recent and now - self._recent[0] >= 60:
            self._recent.popleft()
        if len(self._recent) >= self._writes_per_minute:
            self._sleep(60 - (now - self._recent[0]))
        self._recent.append(self._clock())
        self.writes += 1

    def _fail(self, response: Any, what: str) -> ExternalError:
        status = int(response.status_code)
        _loaded(response)
        try:
            detail = response.json().get("message", "")
        except Exception:
            detail = response.text[:200]
        return ExternalError(
            "GitHub", f"{what}: {status} {detail}", status=status, retryable=status >= 500
        )

    def _repo_url(self, path: str) -> str:
        return f"/repos/{self.repo}{path}"

    def _get(self, url: str, params: dict[str, Any] | None = None) -> tuple[int, Any, str]:
        """A conditional GET: (status, body, next page url); 304s answer from the cache."""
        key = url + (
            "?" + "&".join(f"{k}={v}" for k, v in sorted(params.items())) if params else ""
        )
        with self.cache.lock:
            cached = self.cache.etags.get(key)
        headers = {"If-None-Match": cached[0]} if cached else {}
        response = self._call("GET", url, params=params, headers=headers)
        status = int(response.status_code)
        if status == 304 and cached:
            return 200, cached[1], cached[2]
        if status >= 400:
            return status, None, ""
        body = response.json() if response.content else None
        nxt = _next_link(response.headers.get("link", ""))
        etag = response.headers.get("etag")
        if etag:
            with self.cache.lock:
                self.cache.remember(key, (etag, body, nxt))
        return status, body, nxt

    def _get_ok(self, url: str, params: dict[str, Any] | None = None, what: str = "") -> Any:
        status, body, _ = self._get(url, params)
        if status >= 400:
            raise ExternalError("GitHub", f"{what or url}: {status}", status=status)
        return body

    def _pages(self, url: str, params: dict[str, Any], item_key: str = "") -> Iterator[Any]:
        status, body, nxt = self._get(url, {**params, "per_page": 100})
        while True:
            if status >= 400:
                raise ExternalError("GitHub", f"GET {url}: {status}", status=status)
            yield from (body or {}).get(item_key, []) if item_key else (body or [])
            if not nxt:
                return
            status, body, nxt = self._get(nxt)

    def _object(self, kind: str, sha: str) -> Any:
        with self.cache.lock:
            if sha in self.cache.objects:
                return self.cache.objects[sha]
        body = self._get_ok(self._repo_url(f"/git/{kind}/{sha}"), what=f"git {kind} {sha}")
        with self.cache.lock:
            self.cache.objects[sha] = body
        return body

    # -- reads -------------------------------------------------------------------------

    def read_file(self, path: str, ref: str | None = None) -> str | None:
        params = {"ref": ref} if ref else None
        status, body, _ = self._get(self._repo_url(f"/contents/{quote(path)}"), params)
        if status == 404:
            return None
        if status >= 400 or not isinstance(body, dict):
            raise ExternalError("GitHub", f"read {path}: {status}", status=status)
        return base64.b64decode(body.get("content", "")).decode("utf-8")

    def ledger_tip(self, branch: str) -> LedgerTip:
        status, body, _ = self._get(self._repo_url(f"/git/ref/heads/{quote(branch)}"))
        if status == 404:
            return LedgerTip()
        if status >= 400:
            raise ExternalError("GitHub", f"ledger ref: {status}", status=status)
        commit = str(body["object"]["sha"])
        tree_sha = str(self._object("commits", commit)["tree"]["sha"])
        return LedgerTip(commit, tree_sha, self.tree_files(tree_sha))

    def tree_files(self, tree_sha: str) -> dict[str, str]:
        """path -> blob sha of every file in a tree (one recursive read, cached by sha)."""
        with self.cache.lock:
            tree = self.cache.objects.get("tree:" + tree_sha)
        if tree is None:
            url = self._repo_url(f"/git/trees/{tree_sha}")
            tree = self._get_ok(url, {"recursive": 1}, "ledger tree")
            with self.cache.lock:
                self.cache.objects["tree:" + tree_sha] = tree
        return {e["path"]: e["sha"] for e in tree.get("tree", []) if e.get("type") == "blob"}

    def commit_is_ours(self, sha: str) -> bool:
        """Whether the bot made commit `sha` (`bot.core.identity`): a commit this process
        wrote is known to be; any other by its author and GitHub's verification."""
        raw = self._object("commits", sha)
        if raw.get("_ours"):
            return True
        author = raw.get("author") or {}
        verification = raw.get("verification")
        verified = bool(verification.get("verified")) if isinstance(verification, dict) else None
        return self.identity().made_commit(
            str(author.get("name") or ""), str(author.get("email") or ""), verified
        )

    def commit_parents(self, sha: str) -> list[str]:
        return [str(p["sha"]) for p in self._object("commits", sha).get("parents") or []]

    def commit_tree(self, sha: str) -> str:
        return str(self._object("commits", sha)["tree"]["sha"])

    def read_blob(self, sha: str) -> str:
        body = self._object("blobs", sha)
        if body.get("encoding") == "base64":
            return base64.b64decode(body.get("content", "")).decode("utf-8")
        return str(body.get("content", ""))

    def open_pulls(self) -> list[PullRequest]:
        url = self._repo_url("/pulls")
        return [PullRequest.from_json(p) for p in self._pages(url, {"state": "open"})]

    def pull(self, number: int) -> PullRequest | None:
        status, body, _ = self._get(self._repo_url(f"/pulls/{number}"))
        if status == 404:
            return None
        if status >= 400:
            raise ExternalError("GitHub", f"pull #{number}: {status}", status=status)
        return PullRequest.from_json(body)

    def branch_heads(self, names: set[str]) -> dict[str, str]:
        heads: dict[str, str] = {}
        for name in sorted(names):
            status, body, _ = self._get(self._repo_url(f"/git/ref/heads/{quote(name)}"))
            if status == 200 and isinstance(body, dict) and "object" in body:
                heads[name] = str(body["object"]["sha"])
            elif status >= 400 and status != 404:
                raise ExternalError("GitHub", f"branch {name}: {status}", status=status)
        return heads

    def reviews(self, number: int) -> tuple[Review, ...]:
        """The PR's reviews, each approval with its author's role on the repository (read
        once per login and client), so that whoever judges it can fail closed."""
        url = self._repo_url(f"/pulls/{number}/reviews")
        found = [Review.from_json(r) for r in self._pages(url, {})]
        for login in sorted({r.author for r in found if r.state == "APPROVED" and r.author}):
            if login not in self._roles:
                self._roles[login] = self.permission(login)
        return tuple(
            replace(r, permission=self._roles[r.author]) if r.author in self._roles else r
            for r in found
        )

    def check_runs(self, sha: str) -> tuple[CheckRun, ...]:
        url = self._repo_url(f"/commits/{sha}/check-runs")
        return tuple(CheckRun.from_json(r) for r in self._pages(url, {}, "check_runs"))

    def search_pulls(self, query: str) -> frozenset[int] | None:
        """Numbers of the pull requests `GET /search/issues` finds for `query` (which names
        the repository), every page; None when there is no answer to rely on: the server
        refuses the query (422: a qualifier it lacks, as some GitHub Enterprise versions
        do), the search rate limit (30 a minute) is spent, or the server fails. The caller
        then reads each PR instead.

        Search has its own rate-limit window: its ``X-RateLimit-*`` headers are not the core
        budget, so its answers bypass the shared limiter (which would otherwise pace every
        later request as if 30 were all that is left); a block the limiter already knows
        of is still respected."""
        url: str | None = "/search/issues"
        params: dict[str, Any] | None = {"q": query, "per_page": 100}
        found: set[int] = set()
        while url:
            self.limiter.acquire()
            response = self._once("GET", url, params=params)
            if int(response.status_code) != 200:
                return None
            body = response.json() if response.content else {}
            items = body.get("items", []) if isinstance(body, dict) else []
            found |= {int(i["number"]) for i in items if "pull_request" in i}
            url, params = _next_link(response.headers.get("link", "")) or None, None
        return frozenset(found)

    def comments(self, issue: int, updated_at: str = "") -> tuple[Comment, ...]:
        """An issue's comments; with `updated_at`, skipped (cached) when the issue has not
        changed since this cache last read them."""
        seen_key = (self.repo, issue)
        with self.cache.lock:
            seen = self.cache.comments_seen.get(seen_key)
            cached = self.cache.objects.get(f"comments:{self.repo}:{issue}")
        if updated_at and seen == updated_at and cached is not None:
            return tuple(cached)
        url = self._repo_url(f"/issues/{issue}/comments")
        found = tuple(Comment.from_json({**c, "issue": issue}) for c in self._pages(url, {}))
        with self.cache.lock:
            self.cache.objects[f"comments:{self.repo}:{issue}"] = found
            if updated_at:
                self.cache.comments_seen[seen_key] = updated_at
        return found

    def repo_comments(
        self, since: str, fingerprint: tuple[tuple[int, str], ...] = ()
    ) -> tuple[Comment, ...]:
        """Every issue and PR comment updated since `since` (one listing for the repo).

        `fingerprint` is ((issue, updated_at), ...) of the issues that matter: when it is
        what it was at the last listing, and that listing was made safely after the newest
        update (timestamps have whole seconds), no comment can be new: answer from cache."""
        cache_key = f"repo-comments:{self.repo}:{since}"
        with self.cache.lock:
            cached = self.cache.objects.get(cache_key)
        if fingerprint and cached and cached[0] == fingerprint and cached[1]:
            return tuple(cached[2])
        fetched = time.time()
        url = self._repo_url("/issues/comments")
        params = {"since": since, "sort": "updated", "direction": "asc"} if since else {}
        found = tuple(Comment.from_json(c) for c in self._pages(url, params))
        newest = max((parse_time(u).timestamp() for _, u in fingerprint if u), default=0.0)
        settled = fetched - newest >= 2.0
        with self.cache.lock:
            self.cache.objects[cache_key] = (fingerprint, settled, found)
        return found

    def comment_keys(self) -> set[str]:
        """The hidden keys of every comment the bot made in the repository (one listing);
        a key in anybody else's comment is text, not the bot's record."""
        if self._keys is None:
            url = self._repo_url("/issues/comments")
            bodies = (str(c.get("body") or "") for c in self._pages(url, {}) if self.made_by_bot(c))
            self._keys = {m.group(1) for b in bodies for m in _KEY.finditer(b)}
        return self._keys

    def label_events(self, issue: int) -> tuple[LabelEvent, ...]:
        """When labels were added to and removed from an issue (empty where unsupported).

        Only a 404 (an API without issue events) means "unsupported"; any other failure is
        raised, since guessing the label times would reorder who boards first."""
        if not self._events_supported:
            return ()
        url = self._repo_url(f"/issues/{issue}/events")
        try:
            raw = list(self._pages(url, {}))
        except ExternalError as exc:
            if exc.status != 404:
                raise
            self._events_supported = False
            return ()
        events = (LabelEvent.from_json(issue, e) for e in raw)
        return tuple(e for e in events if e is not None)

    def permission(self, login: str) -> str:
        """`login`'s role on the repository ("none" when GitHub says it is no collaborator).
        A failed read raises: a refusal must never be answered for an unknown permission
        (the comment stays unhandled and the next reconcile asks again)."""
        url = self._repo_url(f"/collaborators/{quote(login)}/permission")
        status, body, _ = self._get(url)
        if status == 404:
            return "none"
        if status >= 400:
            raise ExternalError("GitHub", f"permission of {login}: {status}", status=status)
        if not isinstance(body, dict):
            return "none"
        role = str(body.get("role_name") or "")
        return role if role in ROLES else str(body.get("permission") or "none")

    def team_member(self, team: str, login: str) -> bool:
        org, _, slug = team.rpartition("/")
        url = f"/orgs/{org or self.owner}/teams/{slug}/memberships/{quote(login)}"
        status, body, _ = self._get(url)
        if status >= 500 or status == 429:
            raise ExternalError(
                "GitHub", f"membership of {login} in {team}: {status}", status=status
            )
        return status == 200 and isinstance(body, dict) and body.get("state") == "active"

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> tuple[int, Any]:
        """A conditional GET of any API path (repository-relative when it does not start with
        `/repos` or `/orgs`): (status, JSON body); 4xx answers are returned, not raised, so
        a gate can say plainly that its source is unavailable."""
        url = path if path.startswith(("/repos/", "/orgs/")) else self._repo_url(path)
        status, body, _ = self._get(url, params)
        return status, body

    def get_pages(self, path: str, params: dict[str, Any], item_key: str = "") -> list[Any]:
        """Every item of a paginated list (conditional GETs); 4xx raise ExternalError."""
        url = path if path.startswith(("/repos/", "/orgs/")) else self._repo_url(path)
        return list(self._pages(url, params, item_key))

    def git_commit(self, sha: str) -> dict[str, Any]:
        """A git commit object (author, committer, tree, parents); immutable, so cached by
        sha: asking again costs no request."""
        return dict(self._object("commits", sha))

    def bot_login(self) -> str:
        if not self._bot_login:
            status, body, _ = self._get("/user")
            login = str(body.get("login", "")) if status == 200 and body else ""
            self._bot_login = login or "release-train[bot]"
            email = str(body.get("email") or "") if status == 200 and body else ""
            self._git_emails = (email,) if email else ()
        return self._bot_login

    def identity(self) -> BotIdentity:
        return BotIdentity(self.bot_login(), self._app_id, self._git_emails)

    def made_by_bot(self, raw: Any) -> bool:
        """Whether a comment, issue or pull request (GitHub's JSON) is the bot's own: the one
        test every marker the bot reads back must pass (`bot.core.identity`)."""
        return self.identity().made(raw)

    # -- writes ------------------------------------------------------------------------

    def create_branch(self, branch: str, sha: str) -> str:
        """Create the branch, or adopt it when it already exists; its head sha."""
        body = {"ref": f"refs/heads/{branch}", "sha": sha}
        response = self._call("POST", self._repo_url("/git/refs"), json=body)
        if response.status_code in (200, 201):
            return str(response.json()["object"]["sha"])
        if response.status_code == 422:
            heads = self.branch_heads({branch})
            if branch in heads:
                return heads[branch]
        raise self._fail(response, f"create branch {branch}")

    def merge_into(self, branch: str, head: str, message: str) -> str | None:
        """Merge `head` into `branch`; the new head sha, or None on a conflict."""
        body = {"base": branch, "head": head, "commit_message": message}
        response = self._call("POST", self._repo_url("/merges"), json=body)
        if response.status_code == 201:
            return str(response.json()["sha"])
        if response.status_code == 204:
            return ""  # already merged
        if response.status_code == 409:
            return None
        raise self._fail(response, f"merge {head[:12]} into {branch}")

    def open_pull(self, head: str, base: str, title: str, body: str) -> PullRequest:
        """Open a PR, or adopt the open one with the same head and base."""
        payload = {"head": head, "base": base, "title": title, "body": body}
        response = self._call("POST", self._repo_url("/pulls"), json=payload)
        if response.status_code == 201:
            return PullRequest.from_json(response.json())
        if response.status_code == 422:
            params = {"head": f"{self.owner}:{head}", "base": base, "state": "open"}
            found = list(self._pages(self._repo_url("/pulls"), params))
            if found:
                return PullRequest.from_json(found[0])
        raise self._fail(response, f"open pull request {head} -> {base}")

    def update_pull(self, number: int, **fields: Any) -> None:
        response = self._call("PATCH", self._repo_url(f"/pulls/{number}"), json=fields)
        if response.status_code != 200:
            raise self._fail(response, f"update #{number}")

    def merge_pull(self, number: int, sha: str, title: str, message: str) -> str | None:
        """Merge at exactly `sha`; the merge commit sha, or None when GitHub refuses (409:
        the head moved; 405: not mergeable) — judge again next time."""
        body = {
            "sha": sha,
            "merge_method": "merge",
            "commit_title": title,
            "commit_message": message,
        }
        response = self._call("PUT", self._repo_url(f"/pulls/{number}/merge"), json=body)
        if response.status_code == 200:
            return str(response.json().get("sha", ""))
        if response.status_code in (405, 409, 422):
            return None
        raise self._fail(response, f"merge #{number}")

    def _first_with_key(self, url: str, key: str, ours: int) -> bool:
        """Post-then-dedupe: two reconcilers that both looked before either posted have
        both posted. The oldest comment carrying `key` stays; a younger one of ours is
        deleted. Best effort: a failed look or delete leaves the comment as it is."""
        from bot.core.actions import marker

        try:
            found = [
                int(c["id"])
                for c in self._pages(url, {})
                if marker(key) in str(c.get("body")) and self.made_by_bot(c)
            ]
        except ExternalError:
            return True
        if not ours or not found or min(found) >= ours:
            return True
        self._call("DELETE", self._repo_url(f"/issues/comments/{ours}"), retry=False)
        return False

    def post_comment(self, issue: int, body: str, key: str) -> bool:
        """Comment unless a comment carrying `key` exists (crash-safe once-only)."""
        from bot.core.actions import marker

        url = self._repo_url(f"/issues/{issue}/comments")
        for _ in range(RETRIES):
            if key in self.comment_keys():
                return False
            payload = {"body": f"{body}\n\n{marker(key)}"}
            response = self._call("POST", url, retry=False, json=payload)
            if response.status_code == 201:
                self.comment_keys().add(key)
                return self._first_with_key(url, key, int(response.json().get("id") or 0))
            if _retry_after(response) is None:
                break
            self._keys = None  # it may have been made after all: look before trying again
        raise self._fail(response, f"comment on #{issue}")

    def add_labels(self, issue: int, labels: list[str]) -> None:
        url = self._repo_url(f"/issues/{issue}/labels")
        response = self._call("POST", url, json={"labels": labels})
        if response.status_code != 200:
            raise self._fail(response, f"label #{issue}")

    def remove_label(self, issue: int, label: str) -> None:
        url = self._repo_url(f"/issues/{issue}/labels/{quote(label, safe='')}")
        response = self._call("DELETE", url)
        if response.status_code not in (200, 204, 404):
            raise self._fail(response, f"unlabel #{issue}")

    def react(self, comment_id: int, content: str) -> None:
        url = self._repo_url(f"/issues/comments/{comment_id}/reactions")
        response = self._call("POST", url, json={"content": content})
        if response.status_code not in (200, 201):
            raise self._fail(response, f"react to comment {comment_id}")

    def publish_check_run(
        self, body: dict[str, Any], run_id: int = 0, more: tuple[dict[str, Any], ...] = ()
    ) -> int:
        """Create a check run (or update run `run_id`), then append `more` annotation
        batches (one PATCH each, GitHub takes 50 per request); the run's id."""
        if run_id:
            response = self._call("PATCH", self._repo_url(f"/check-runs/{run_id}"), json=body)
            if response.status_code != 200:
                raise self._fail(response, f"update check run {run_id}")
        else:
            response = self._call("POST", self._repo_url("/check-runs"), json=body, retry=False)
            if response.status_code != 201:
                raise self._fail(response, f"create check run {body.get('name')}")
            run_id = int(response.json()["id"])
        for batch in more:
            response = self._call("PATCH", self._repo_url(f"/check-runs/{run_id}"), json=batch)
            if response.status_code != 200:
                raise self._fail(response, f"annotate check run {run_id}")
        return run_id

    def open_issue(self, title: str, body: str, key: str) -> bool:
        """Open an issue unless an open one carries `key`; True when one was opened."""
        from bot.core.actions import marker

        mark = marker(key)
        url = self._repo_url("/issues")
        issues = self._pages(url, {"state": "open"})
        if any(mark in str(i.get("body") or "") and self.made_by_bot(i) for i in issues):
            return False
        payload = {"title": title, "body": f"{body}\n\n{mark}"}
        response = self._call("POST", url, retry=False, json=payload)
        if response.status_code != 201:
            raise self._fail(response, "open an issue")
        return True

    def write_ledger(
        self, branch: str, tip: LedgerTip, files: dict[str, str], message: str
    ) -> LedgerTip:
        """One commit on the ledger tip setting `files`; compare-and-swap the ref.

        Raises `LedgerMoved` when the ref moved (or appeared) since `tip` was read."""
        entries = [
            {"path": path, "mode": "100644", "type": "blob", "content": text, "sha": blob_sha(text)}
            for path, text in sorted(files.items())
        ]
        # contents inline (one request for the tree instead of one per blob)
        inline = [{k: v for k, v in e.items() if k != "sha"} for e in entries]
        tree_body: dict[str, Any] = {"tree": inline}
        if tip.tree:
            tree_body["base_tree"] = tip.tree
        tree = self._write_json(self._repo_url("/git/trees"), tree_body)
        parents = [tip.commit] if tip.commit else []
        commit_body = {"message": message, "tree": tree["sha"], "parents": parents}
        commit = self._write_json(self._repo_url("/git/commits"), commit_body)
        if tip.commit:
            url = self._repo_url(f"/git/refs/heads/{quote(branch)}")
            response = self._call("PATCH", url, json={"sha": commit["sha"], "force": False})
        else:
            ref = {"ref": f"refs/heads/{branch}", "sha": commit["sha"]}
            response = self._call("POST", self._repo_url("/git/refs"), json=ref)
        if response.status_code == 422:
            self._keys = None  # somebody else acted too: look at the comments afresh
            raise LedgerMoved(branch)
        if response.status_code not in (200, 201):
            raise self._fail(response, f"move ledger {branch}")
        merged = {**tip.files, **{e["path"]: e["sha"] for e in entries}}
        new_tip = LedgerTip(str(commit["sha"]), str(tree["sha"]), merged)
        self._remember(new_tip, files, entries, parents)
        return new_tip

    def _remember(
        self,
        tip: LedgerTip,
        files: dict[str, str],
        entries: list[dict[str, Any]],
        parents: list[str],
    ) -> None:
        """Seed the object cache with what we just wrote, so reading it back is free."""
        listing = [{"path": p, "sha": s, "type": "blob"} for p, s in sorted(tip.files.items())]
        with self.cache.lock:
            self.cache.objects[str(tip.commit)] = {
                "tree": {"sha": tip.tree},
                "parents": [{"sha": p} for p in parents],
                "_ours": True,  # written by this process: the bot's own by construction
            }
            self.cache.objects[f"tree:{tip.tree}"] = {"tree": listing}
            for entry in entries:
                text = files[entry["path"]]
                self.cache.objects[entry["sha"]] = {"content": text, "encoding": "utf-8"}

    def _write_json(self, url: str, body: dict[str, Any]) -> Any:
        response = self._call("POST", url, json=body)
        if response.status_code != 201:
            raise self._fail(response, f"POST {url}")
        return response.json()
