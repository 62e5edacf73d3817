"""GitHub adapter (githubkit): read the world, perform actions, compare-and-swap the ledger.

Responses are parsed once, at the edge, into the bot's own dataclasses (`bot.core.world`).
The client is layered by what each part owns: `github_port` (the interface and ledger
values), `github_transport` (requests, retries, pacing, the conditional-GET cache),
`github_reads` (reading the world) and, here, the writes and the ledger's compare-and-swap.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote

from bot.adapters.github_port import GitHubPort, LedgerMoved, LedgerTip
from bot.adapters.github_reads import _KEY, ROLES, GitHubReads
from bot.adapters.github_transport import (
    MAX_WAIT,
    RETRIES,
    SHARED_CACHE,
    ResponseCache,
    _next_link,
    _retry_after,
)
from bot.core.world import PullRequest
from bot.errors import ExternalError

__all__ = [
    "MAX_WAIT",
    "RETRIES",
    "ROLES",
    "SHARED_CACHE",
    "_KEY",
    "GitHubClient",
    "GitHubPort",
    "LedgerMoved",
    "LedgerTip",
    "ResponseCache",
    "_next_link",
    "blob_sha",
]


def blob_sha(text: str) -> str:
    """Git's object id of a blob with this UTF-8 content."""
    data = text.encode("utf-8")
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class GitHubClient(GitHubReads):
    """`GitHubPort` over githubkit for one repository. Use as a context manager."""

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

    def request_reviewers(self, number: int, reviewers: list[str]) -> None:
        url = self._repo_url(f"/pulls/{number}/requested_reviewers")
        response = self._call("POST", url, json={"reviewers": reviewers})
        if response.status_code not in (200, 201):
            raise self._fail(response, f"request reviewers on #{number}")

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
