"""The Git Data API and the other GitHub calls promotion and revert make: branch tips with
their file listing, one-commit writes (direct or through a pull request), compare,
deployments, check-run lookup and the incident issue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bot.errors import ExternalError


@dataclass(frozen=True)
class Tip:
    """A branch head as read: commit, its tree, and path -> blob sha of every file."""

    commit: str
    tree: str
    files: dict[str, str]


class GitData:
    def __init__(self, client: Any) -> None:
        self.client = client

    def _url(self, path: str) -> str:
        return f"/repos/{self.client.repo}{path}"

    def tip(self, branch: str) -> Tip:
        """The head of `branch` with its full file listing (one ref read, then cached)."""
        status, body, _ = self.client._get(self._url(f"/git/ref/heads/{quote(branch)}"))
        if status >= 400 or not isinstance(body, dict):
            raise ExternalError("GitHub", f"branch {branch}: {status}", status=status)
        commit = str(body["object"]["sha"])
        tree = str(self.client._object("commits", commit)["tree"]["sha"])
        key = "tree:" + tree
        with self.client.cache.lock:
            listing = self.client.cache.objects.get(key)
        if listing is None:
            url = self._url(f"/git/trees/{tree}")
            listing = self.client._get_ok(url, {"recursive": 1}, "tree " + tree)
            with self.client.cache.lock:
                self.client.cache.objects[key] = listing
        files = {e["path"]: e["sha"] for e in listing.get("tree", []) if e.get("type") == "blob"}
        return Tip(commit, tree, files)

    def read(self, tip: Tip, paths: list[str]) -> dict[str, str]:
        return {p: self.client.read_blob(tip.files[p]) for p in paths}

    def _commit_object(self, tip: Tip, files: dict[str, str], message: str) -> str:
        entries = [
            {"path": p, "mode": "100644", "type": "blob", "content": text}
            for p, text in sorted(files.items())
        ]
        tree = self._post(self._url("/git/trees"), {"tree": entries, "base_tree": tip.tree})
        body = {"message": message, "tree": tree["sha"], "parents": [tip.commit]}
        return str(self._post(self._url("/git/commits"), body)["sha"])

    def commit_via_pull(
        self, branch: str, tip: Tip, files: dict[str, str], message: str, head: str
    ) -> str | None:
        """For a branch that takes changes only through pull requests: the commit on
        branch `head` (ours, moved by force), a PR into `branch` (or the open one), merged
        at exactly that commit. The merge commit's sha, or None when GitHub refuses."""
        sha = self._commit_object(tip, files, message)
        url = self._url(f"/git/refs/heads/{quote(head)}")
        response = self.client._call("PATCH", url, json={"sha": sha, "force": True})
        if response.status_code != 200:
            self._post(self._url("/git/refs"), {"ref": f"refs/heads/{head}", "sha": sha})
        title, _, body = message.partition("\n")
        pr = self.client.open_pull(head, branch, title, body.strip())
        merged = self.client.merge_pull(pr.number, sha, title, body.strip() + "\n")
        return None if merged is None else str(merged)

    def commit(self, branch: str, tip: Tip, files: dict[str, str], message: str) -> str | None:
        """One commit on `tip` setting `files`, then move `branch` to it without force.
        The new commit's sha, or None when the branch moved since `tip` was read."""
        commit = {"sha": self._commit_object(tip, files, message)}
        url = self._url(f"/git/refs/heads/{quote(branch)}")
        response = self.client._call("PATCH", url, json={"sha": commit["sha"], "force": False})
        if response.status_code == 422:
            return None
        if response.status_code != 200:
            raise self.client._fail(response, f"move {branch}")
        return str(commit["sha"])

    def _post(self, url: str, body: dict[str, Any]) -> Any:
        response = self.client._call("POST", url, json=body)
        if response.status_code != 201:
            raise self.client._fail(response, f"POST {url}")
        return response.json()

    def changed_files(self, base: str, head: str) -> list[str] | None:
        """The paths the train changed (its release branch against the base it was cut
        from); None when that is not known (every service rides)."""
        if not base or not head:
            return None
        body = self.client._get_ok(self._url(f"/compare/{base}...{head}"), what="compare")
        files = body.get("files") if isinstance(body, dict) else None
        if files is None or len(files) >= 300:  # GitHub lists at most 300: not the whole story
            return None
        return [str(f.get("filename", "")) for f in files]

    def check_run_id(self, sha: str, name: str) -> int:
        """The newest check run called `name` on `sha` (0: none)."""
        url = self._url(f"/commits/{sha}/check-runs")
        runs = self.client._pages(url, {"check_name": name}, "check_runs")
        return max((int(r["id"]) for r in runs if r.get("name") == name), default=0)

    def create_deployment(self, environment: str, sha: str, payload: dict[str, Any]) -> int:
        """A deployment of `sha` to `environment`, or the one that already exists."""
        url = self._url("/deployments")
        for found in self.client._pages(url, {"environment": environment, "sha": sha}):
            if (found.get("payload") or {}).get("train") == payload.get("train"):
                return int(found["id"])
        body = {
            "ref": sha,
            "environment": environment,
            "payload": payload,
            "required_contexts": [],
            "auto_merge": False,
            "description": f"release train {payload.get('train', '')}",
        }
        return int(self._post(url, body)["id"])

    def deployment_status(self, deployment: int, state: str, description: str = "") -> None:
        url = self._url(f"/deployments/{deployment}/statuses")
        # a success makes the environment's earlier deployments (older trains) inactive
        body: dict[str, Any] = {"state": state, "description": description[:140]}
        if state != "success":
            body["auto_inactive"] = False
        self._post(url, body)

    def open_incident(
        self, title: str, body: str, labels: list[str], assignees: list[str], key: str
    ) -> int:
        """Open the incident issue, or adopt the open one carrying `key`; its number."""
        from bot.core.actions import marker

        mark = marker(key)
        url = self._url("/issues")
        for issue in self.client._pages(url, {"state": "all"}):
            if mark in str(issue.get("body") or ""):
                return int(issue["number"])
        payload = {"title": title, "body": f"{body}\n\n{mark}", "labels": labels}
        if assignees:
            payload["assignees"] = assignees
        response = self.client._call("POST", url, retry=False, json=payload)
        if response.status_code != 201:
            raise self.client._fail(response, "open the incident issue")
        return int(response.json()["number"])
