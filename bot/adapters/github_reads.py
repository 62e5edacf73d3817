"""The GitHub client's reads: files, git objects, pull requests, reviews, check runs,
comments, label events and permissions, parsed into the bot's own dataclasses."""

from __future__ import annotations

import base64
import re
import time
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from bot.adapters.github_port import LedgerTip
from bot.adapters.github_transport import GitHubTransport, _next_link
from bot.core.identity import BotIdentity
from bot.core.world import CheckRun, Comment, LabelEvent, PullRequest, Review, parse_time
from bot.errors import ExternalError

ROLES = ("admin", "maintain", "write", "triage", "read")
_KEY = re.compile(r"<!-- release-train:key=(\S+?) -->")


class GitHubReads(GitHubTransport):
    """What `GitHubClient` reads from GitHub (`GitHubPort`'s read half)."""

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
