"""The Git Data API and the other GitHub calls promotion and revert make: branch tips with
their file listing, one-commit writes (direct or through a pull request), compare,
deployments, check-run lookup and the incident issue."""

from __future__ import annotations

import contextlib
import hashlib
import io
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bot.errors import ExternalError

PER_BLOB = 2  # missing blobs read one by one; more: the archive (two requests) is cheaper
MAX_TEXT = 1 << 20  # larger files in an archive are listed, not kept (read per blob)
MAX_KEPT = 64 << 20  # texts kept from one archive at most (a monorepo's: the rest per blob)
# The archive is streamed, never held whole; past these it is abandoned for the trees API
# listing (files then read per blob), so one repository cannot hold a worker for long.
MAX_ARCHIVE = 512 << 20  # compressed bytes read from one archive
MAX_UNPACKED = 2 << 30  # uncompressed bytes of the files in one archive
MAX_ENTRIES = 200_000  # files and symlinks in one archive
CHUNK = 1 << 16


class ArchiveTooLarge(Exception):
    """An archive past the budget above (caught here: the listing comes from the trees API)."""


def git_blob_sha(data: bytes) -> str:
    """Git's object id of a blob with these bytes."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class _Stream(io.RawIOBase):
    """A file over an iterator of byte chunks, counting what it read against a budget."""

    def __init__(self, chunks: Iterable[bytes], budget: int) -> None:
        self._chunks = iter(chunks)
        self._left = b""
        self.read_bytes = 0
        self.budget = budget

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._left:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self.read_bytes += len(chunk)
            if self.read_bytes > self.budget:
                raise ArchiveTooLarge(f"more than {self.budget >> 20} MiB compressed")
            self._left = chunk
        size = min(len(buffer), len(self._left))
        buffer[:size] = self._left[:size]
        self._left = self._left[size:]
        return size


def unpack_archive(data: bytes) -> tuple[dict[str, str], dict[str, str]]:
    """`unpack_stream` over bytes already in memory."""
    return unpack_stream([data])


def unpack_stream(
    chunks: Iterable[bytes],
    *,
    max_archive: int = 0,
    max_unpacked: int = 0,
    max_entries: int = 0,
) -> tuple[dict[str, str], dict[str, str]]:
    """A GitHub tarball (gzipped tar, one top-level folder), read as it arrives ->
    (path -> blob sha of every file and symlink, blob sha -> text of each UTF-8 file up to
    `MAX_TEXT` bytes, while they add up to at most `MAX_KEPT`). Larger files are hashed
    chunk by chunk, never held. Raises `ArchiveTooLarge` past the budgets (0: the
    module's `MAX_ARCHIVE`, `MAX_UNPACKED`, `MAX_ENTRIES`)."""
    max_archive, max_unpacked = max_archive or MAX_ARCHIVE, max_unpacked or MAX_UNPACKED
    max_entries = max_entries or MAX_ENTRIES
    files: dict[str, str] = {}
    texts: dict[str, str] = {}
    kept = unpacked = 0
    source = io.BufferedReader(_Stream(chunks, max_archive), CHUNK)
    with tarfile.open(fileobj=source, mode="r|gz") as tar:
        for member in tar:
            _, _, path = member.name.partition("/")
            if not path or not (member.isfile() or member.issym()):
                continue
            unpacked += member.size
            if len(files) >= max_entries or unpacked > max_unpacked:
                raise ArchiveTooLarge(f"more than {max_entries} files or {max_unpacked >> 20} MiB")
            if member.issym():
                sha, raw = git_blob_sha(member.linkname.encode("utf-8")), None
            else:
                sha, raw = _hashed(tar, member, keep=member.size <= MAX_TEXT)
            files[path] = sha
            if raw is not None and kept + len(raw) <= MAX_KEPT:
                with contextlib.suppress(UnicodeDecodeError):
                    texts[sha] = raw.decode("utf-8")
                    kept += len(raw)
    return files, texts


def _hashed(tar: tarfile.TarFile, member: tarfile.TarInfo, keep: bool) -> tuple[str, bytes | None]:
    """The member's blob sha, read in chunks, and its bytes when `keep`."""
    digest = hashlib.sha1(b"blob %d\0" % member.size)
    handle = tar.extractfile(member)
    parts: list[bytes] = []
    while handle is not None and (chunk := handle.read(CHUNK)):
        digest.update(chunk)
        if keep:
            parts.append(chunk)
    return digest.hexdigest(), b"".join(parts) if keep else None


@dataclass(frozen=True)
class Tip:
    """A branch head as read: commit, its tree, and path -> blob sha of every file."""

    commit: str
    tree: str
    files: dict[str, str]


class GitData:
    def __init__(self, client: Any) -> None:
        self.client = client
        self._texts: dict[str, str] = {}  # blob sha -> text, from the last archive read
        self._archived = ""  # the commit whose archive that was

    def _url(self, path: str) -> str:
        return f"/repos/{self.client.repo}{path}"

    def tip(self, branch: str) -> Tip:
        """The head of `branch` with its full file listing: one branch read (commit and
        tree in one answer, conditional), then the listing from the cache or, when this
        tree is new, from the commit's archive (which also holds the file contents that
        `read` then answers from)."""
        url = self._url(f"/branches/{quote(branch)}")
        status, body, _ = self.client._get(url)
        if status >= 400 or not isinstance(body, dict):
            raise ExternalError("GitHub", f"branch {branch}: {status}", status=status)
        commit = str(body["commit"]["sha"])
        tree = str(body["commit"]["commit"]["tree"]["sha"])
        files = self._listing(tree)
        if files is None:
            files = self._archive(commit, tree)
        return Tip(commit, tree, files)

    def _listing(self, tree: str) -> dict[str, str] | None:
        """path -> blob sha of a tree already seen (from the trees API or an archive)."""
        with self.client.cache.lock:
            api = self.client.cache.objects.get("tree:" + tree)
            known = self.client.cache.objects.get("listing:" + tree)
        if api is not None:
            return {e["path"]: e["sha"] for e in api.get("tree", []) if e.get("type") == "blob"}
        return dict(known) if known is not None else None

    def _archive(self, commit: str, tree: str) -> dict[str, str]:
        """Download the commit's tarball (one API request answered 302, one download),
        remember its listing by tree sha and keep its texts for `read`."""
        response = self.client._call("GET", self._url(f"/tarball/{commit}"), stream=True)
        raw = getattr(response, "raw_response", None)
        try:
            if response.status_code != 200:
                if raw is not None:
                    raw.read()
                raise self.client._fail(response, f"archive of {commit[:12]}")
            chunks = raw.iter_bytes(CHUNK) if raw is not None else [response.content]
            files, texts = unpack_stream(chunks)
        except ArchiveTooLarge:
            files, texts = self._tree_listing(tree), {}
        finally:
            if raw is not None:
                raw.close()
        with self.client.cache.lock:
            self.client.cache.objects["listing:" + tree] = files
        self._texts, self._archived = texts, commit
        return files

    def _tree_listing(self, tree: str) -> dict[str, str]:
        """path -> blob sha from the trees API (no contents: they are read per blob)."""
        status, body, _ = self.client._get(self._url(f"/git/trees/{tree}"), {"recursive": 1})
        if status >= 400 or not isinstance(body, dict) or body.get("truncated"):
            raise ExternalError("GitHub", f"tree {tree[:12]}: too large to list ({status})")
        entries = body.get("tree", [])
        return {str(e["path"]): str(e["sha"]) for e in entries if e.get("type") == "blob"}

    def read(self, tip: Tip, paths: list[str]) -> dict[str, str]:
        """The texts of `paths` at `tip`: from the archive `tip` was read with, the blob
        cache, per-blob reads when at most `PER_BLOB` are missing, else the archive."""
        shas = {p: tip.files[p] for p in paths}
        found = {p: self._known(sha) for p, sha in shas.items()}
        missing = [p for p, text in found.items() if text is None]
        if len(missing) > PER_BLOB and self._archived != tip.commit:
            self._archive(tip.commit, tip.tree)
            found.update({p: self._known(shas[p]) for p in missing})
        out = {}
        for path, text in found.items():
            out[path] = text if text is not None else self.client.read_blob(shas[path])
        return out

    def _known(self, sha: str) -> str | None:
        text = self._texts.get(sha)
        if text is not None:
            with self.client.cache.lock:  # a later pass on an unchanged file reads nothing
                self.client.cache.objects.setdefault(sha, {"content": text, "encoding": "utf-8"})
            return text
        with self.client.cache.lock:
            cached = self.client.cache.objects.get(sha)
        return None if cached is None else str(self.client.read_blob(sha))

    def _commit_object(self, tip: Tip, files: dict[str, str], message: str) -> str:
        entries = [
            {"path": p, "mode": "100644", "type": "blob", "content": text}
            for p, text in sorted(files.items())
        ]
        tree = self._post(self._url("/git/trees"), {"tree": entries, "base_tree": tip.tree})
        self._remember(str(tree["sha"]), tip, files)
        body = {"message": message, "tree": tree["sha"], "parents": [tip.commit]}
        return str(self._post(self._url("/git/commits"), body)["sha"])

    def _remember(self, tree: str, tip: Tip, files: dict[str, str]) -> None:
        """The listing of a tree just made (`tip`'s with `files` written) and their texts,
        so a next step on an unmoved branch reads neither listing nor these files."""
        written = {p: git_blob_sha(text.encode("utf-8")) for p, text in files.items()}
        with self.client.cache.lock:
            self.client.cache.objects["listing:" + tree] = {**tip.files, **written}
            for path, sha in written.items():
                self.client.cache.objects[sha] = {"content": files[path], "encoding": "utf-8"}

    def commit_via_pull(
        self, branch: str, tip: Tip, files: dict[str, str], message: str, head: str
    ) -> str | None:
        """For a branch that takes changes only through pull requests: the commit on
        branch `head` (ours, moved by force), a PR into `branch` (or the open one), merged
        at exactly that commit. The merge commit's sha, or None when GitHub refuses.
        A head already carrying this change on `tip` is reused, not rewritten: a new commit
        would dismiss the approvals a branch rule asked for (`dismiss_stale_reviews`)."""
        sha = self._same_change(head, tip, message) or self._commit_object(tip, files, message)
        url = self._url(f"/git/refs/heads/{quote(head)}")
        if sha != self._head_sha(head):
            response = self.client._call("PATCH", url, json={"sha": sha, "force": True})
            if response.status_code != 200:
                self._post(self._url("/git/refs"), {"ref": f"refs/heads/{head}", "sha": sha})
        title, _, body = message.partition("\n")
        pr = self.client.open_pull(head, branch, title, body.strip())
        merged = self.client.merge_pull(pr.number, sha, title, body.strip() + "\n")
        return None if merged is None else str(merged)

    def _head_sha(self, head: str) -> str:
        status, body, _ = self.client._get(self._url(f"/branches/{quote(head)}"))
        return str(body["commit"]["sha"]) if status == 200 and isinstance(body, dict) else ""

    def _same_change(self, head: str, tip: Tip, message: str) -> str:
        """The head branch's commit when it is this change on `tip` (one parent, `tip`, and
        the same message: the edit is a pure function of both); "" otherwise."""
        status, body, _ = self.client._get(self._url(f"/branches/{quote(head)}"))
        if status != 200 or not isinstance(body, dict):
            return ""
        commit = body.get("commit") or {}
        parents = [str(p.get("sha")) for p in commit.get("parents") or []]
        text = str((commit.get("commit") or {}).get("message") or "")
        same = parents == [tip.commit] and text.strip() == message.strip()
        return str(commit.get("sha")) if same else ""

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

    def recent_commits(self, branch: str, path: str = "", count: int = 30) -> list[tuple[str, str]]:
        """(sha, message) of the newest `count` commits on `branch` (touching `path`, when
        given), newest first: one request, one page."""
        params: dict[str, Any] = {"sha": branch, "per_page": count}
        if path:
            params["path"] = path
        status, body, _ = self.client._get(self._url("/commits"), params)
        if status >= 400 or not isinstance(body, list):
            raise ExternalError("GitHub", f"commits of {branch}: {status}", status=status)
        return [(str(c["sha"]), str((c.get("commit") or {}).get("message") or "")) for c in body]

    def check_run_id(self, sha: str, name: str) -> int:
        """The newest check run called `name` on `sha` (0: none)."""
        url = self._url(f"/commits/{sha}/check-runs")
        runs = self.client._pages(url, {"check_name": name}, "check_runs")
        return max((int(r["id"]) for r in runs if r.get("name") == name), default=0)

    def create_deployment(self, environment: str, sha: str, payload: dict[str, Any]) -> int:
        """A deployment of `sha` to `environment`, or the one that already exists."""
        return self.deployment(environment, sha, payload)[0]

    def deployment(self, environment: str, sha: str, payload: dict[str, Any]) -> tuple[int, bool]:
        """(id, made now) of this train's deployment of `sha` to `environment`: the one that
        exists (an earlier attempt made it), or a new one. The POST is never repeated
        blindly: when its answer is lost (5xx, timeout) the deployment may exist, so the
        listing is read again and it is adopted; only when it is not there is it sent once
        more (a second loss raises: the next reconcile looks first, as here)."""
        url = self._url("/deployments")
        found = self._deployment_of(url, environment, sha, payload)
        if found:
            return found, False
        body = {
            "ref": sha,
            "environment": environment,
            "payload": payload,
            "required_contexts": [],
            "auto_merge": False,
            "description": f"release train {payload.get('train', '')}",
        }
        try:
            return int(self._post_once(url, body, "create a deployment")["id"]), True
        except ExternalError as exc:
            if not exc.retryable:
                raise
        found = self._deployment_of(url, environment, sha, payload)
        if found:
            return found, True  # made by the POST whose answer was lost
        return int(self._post_once(url, body, "create a deployment")["id"]), True

    def _deployment_of(self, url: str, environment: str, sha: str, payload: dict[str, Any]) -> int:
        """The deployment of `sha` to `environment` made for this train (0: none)."""
        for found in self.client._pages(url, {"environment": environment, "sha": sha}):
            if (found.get("payload") or {}).get("train") == payload.get("train"):
                return int(found["id"])
        return 0

    def deployment_status(
        self, deployment: int, state: str, description: str = "", *, look: bool = False
    ) -> None:
        """Add a status. Statuses are a history, and the newest is what GitHub and tools
        show, so the same status twice in a row is harmless; still the POST is not repeated
        blindly: when its answer is lost, the newest status is read and the POST sent once
        more only when it is not this one (a second loss raises: the caller has not
        recorded the step, so the next reconcile does it again). `look`: read the newest
        first and post nothing when it already is this one (an adopted deployment)."""
        url = self._url(f"/deployments/{deployment}/statuses")
        # a success makes the environment's earlier deployments (older trains) inactive
        body: dict[str, Any] = {"state": state, "description": description[:140]}
        if state != "success":
            body["auto_inactive"] = False
        if look and self._newest_status(url) == (state, body["description"]):
            return
        try:
            self._post_once(url, body, "add a deployment status")
            return
        except ExternalError as exc:
            if not exc.retryable:
                raise
        if self._newest_status(url) != (state, body["description"]):
            self._post_once(url, body, "add a deployment status")

    def _newest_status(self, url: str) -> tuple[str, str]:
        """(state, description) of a deployment's newest status (("", "") when none)."""
        status, newest, _ = self.client._get(url, {"per_page": 1})
        latest = newest[0] if status == 200 and isinstance(newest, list) and newest else {}
        return str(latest.get("state") or ""), str(latest.get("description") or "")

    def _post_once(self, url: str, body: dict[str, Any], what: str) -> Any:
        """A POST that is not retried on a 5xx (it may have been applied)."""
        response = self.client._call("POST", url, retry=False, json=body)
        if response.status_code != 201:
            raise self.client._fail(response, what)
        return response.json()

    def open_incident(
        self,
        title: str,
        body: str,
        labels: list[str],
        assignees: list[str],
        key: str,
        *,
        look: bool = True,
    ) -> int:
        """Open the incident issue, or adopt the one carrying `key`; its number. `look=False`:
        the caller knows no earlier attempt opened it (no listing is read)."""
        from bot.core.actions import marker

        mark = marker(key)
        url = self._url("/issues")
        for issue in self.client._pages(url, {"state": "all"}) if look else ():
            if mark in str(issue.get("body") or "") and self.client.made_by_bot(issue):
                return int(issue["number"])
        payload = {"title": title, "body": f"{body}\n\n{mark}", "labels": labels}
        if assignees:
            payload["assignees"] = assignees
        response = self.client._call("POST", url, retry=False, json=payload)
        if response.status_code != 201:
            raise self.client._fail(response, "open the incident issue")
        return int(response.json()["number"])
