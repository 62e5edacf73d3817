"""Everything in the sandbox that is not git: one JSON document, written atomically.

The document is a dict of collections. Records are plain dicts shaped close to GitHub's
JSON (logins instead of nested user objects, repository full names instead of nested
repositories) so handlers mostly serialize them. Agreed collections and record keys:

- ``users[login]``: login, id, node_id, type ("User" | "Bot" | "Organization"), site_admin,
  name, email
- ``tokens[token]``: login, installation_id (None for a user token), expires_at
- ``repos[full_name]``: id, node_id, name, full_name, owner (login), private,
  default_branch, description, created_at, updated_at, pushed_at
- ``collaborators[full_name][login]``: role (read | triage | write | maintain | admin)
- ``teams["org/slug"]``: id, node_id, slug, name, org, members {login: "member" |
  "maintainer"}, repos {full_name: role}
- ``installations[str(id)]``: id, app_id, account (login), repositories (list of full names,
  or None for all of the account's), permissions {name: level}, role (repository role the
  installation acts with, default "write")
- ``issues["owner/name#N"]``: id, node_id, number, repo, title, body, user, state,
  state_reason, labels [names], assignees [logins], locked, created_at, updated_at,
  closed_at, closed_by, is_pull
- ``pulls["owner/name#N"]``: id, node_id, number, repo, head_ref, head_sha, base_ref, draft,
  merged, merged_at, merged_by, merge_commit_sha, requested_reviewers [logins]
  (title, body, state, labels live on the issue with the same key)
- ``comments[str(id)]``: id, node_id, repo, issue_number, user, body, created_at, updated_at
- ``reactions[str(id)]``: id, node_id, repo, comment_id, user, content, created_at
- ``issue_events[str(id)]``: id, node_id, repo, issue_number, event (labeled | unlabeled |
  closed | reopened | merged), actor, created_at, commit_id, label {name, color}
- ``labels[full_name][name]``: id, node_id, name, color, description, default
- ``reviews[str(id)]``: id, node_id, repo, pull_number, user, state (APPROVED |
  CHANGES_REQUESTED | COMMENTED | DISMISSED | PENDING), body, commit_id, submitted_at
- ``check_runs[str(id)]``: id, node_id, repo, head_sha, name, status, conclusion, started_at,
  completed_at, external_id, details_url, app_id, check_suite_id, output {title, summary,
  text, annotations_count}, annotations [..], actions [..]
- ``check_suites[str(id)]``: id, node_id, repo, head_sha, head_branch, status, conclusion,
  app_id, created_at, updated_at
- ``statuses[str(id)]``: id, node_id, repo, sha, state, context, description, target_url,
  creator, created_at, updated_at
- ``deployments[str(id)]``: id, node_id, repo, sha, ref, task, environment, payload,
  description, creator, transient_environment, production_environment, created_at, updated_at
- ``deployment_statuses[str(id)]``: id, node_id, repo, deployment_id, state, description,
  environment, log_url, environment_url, creator, created_at, updated_at
- ``code_scanning_alerts["owner/name#N"]``: number, repo, ref, state, rule {id, severity,
  security_severity_level, description, name}, tool {name, version}, most_recent_instance
  {ref, commit_sha, state, location {path, start_line, end_line}, message {text}},
  created_at, updated_at, dismissed_at, fixed_at
- ``extra``: free space for plug-ins (apps, webhook configuration, fault settings)

Use `transaction()` for every change: it holds the one lock and persists at exit (a change
that raises is rolled back). `read()` holds the lock without writing.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

COLLECTIONS = (
    "users",
    "tokens",
    "repos",
    "collaborators",
    "teams",
    "installations",
    "issues",
    "pulls",
    "comments",
    "reactions",
    "labels",
    "issue_events",
    "reviews",
    "check_runs",
    "check_suites",
    "statuses",
    "deployments",
    "deployment_statuses",
    "code_scanning_alerts",
    "extra",
)

_ROLE_ORDER = ("read", "triage", "write", "maintain", "admin")


def empty_document() -> dict[str, Any]:
    doc: dict[str, Any] = {name: {} for name in COLLECTIONS}
    doc["counters"] = {"id": 1000, "numbers": {}, "alerts": {}, "tokens": 0}
    return doc


def node_id(kind: str, ident: int) -> str:
    return base64.b64encode(f"0:{kind}{ident}".encode()).decode().rstrip("=")


def _best(roles: list[str | None]) -> str | None:
    ranked = [r for r in roles if r in _ROLE_ORDER]
    return max(ranked, key=_ROLE_ORDER.index) if ranked else None


class Store:
    """The sandbox's non-git state. `path=None` keeps it in memory only."""

    def __init__(self, path: Path | None = None, *, durable: bool = True, seed: int = 0) -> None:
        self.path = path
        self.seed = seed
        self.durable = durable
        self.lock = threading.RLock()
        self._depth = 0
        self.data = self._load()
        self._saved = json.dumps(self.data)

    def _load(self) -> dict[str, Any]:
        doc = empty_document()
        if self.path is not None and self.path.exists():
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
            doc.update(loaded)
            for name in COLLECTIONS:
                doc.setdefault(name, {})
        return doc

    # -- locking and persistence ------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[dict[str, Any]]:
        """Hold the lock; persist at exit of the outermost transaction; roll back on error."""
        with self.lock:
            self._depth += 1
            try:
                yield self.data
            except BaseException:
                if self._depth == 1:
                    self.data = json.loads(self._saved)
                raise
            finally:
                self._depth -= 1
            if self._depth == 0:
                self._persist()

    @contextlib.contextmanager
    def read(self) -> Iterator[dict[str, Any]]:
        with self.lock:
            yield self.data

    def _persist(self) -> None:
        text = json.dumps(self.data, separators=(",", ":"))
        if text == self._saved:
            return
        self._saved = text
        if self.path is not None:
            atomic_write(self.path, text.encode("utf-8"), durable=self.durable)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self.data)

    # -- ids and numbers ---------------------------------------------------------------

    def next_id(self) -> int:
        with self.lock:
            self.data["counters"]["id"] += 1
            return int(self.data["counters"]["id"])

    def next_number(self, repo: str, sequence: str = "numbers") -> int:
        """The next issue/PR number of a repository (one shared sequence, as on GitHub)."""
        with self.lock:
            numbers = self.data["counters"].setdefault(sequence, {})
            numbers[repo] = numbers.get(repo, 0) + 1
            return int(numbers[repo])

    # -- generic records ---------------------------------------------------------------

    def insert(self, collection: str, record: dict[str, Any], key: str | None = None) -> dict:
        """Add a record; gives it an `id` (and `node_id`) when it has none."""
        with self.lock:
            if "id" not in record:
                record["id"] = self.next_id()
            record.setdefault("node_id", node_id(collection, record["id"]))
            self.data[collection][key or str(record["id"])] = record
            return record

    def get(self, collection: str, key: str | int) -> dict[str, Any] | None:
        value = self.data[collection].get(str(key))
        return value if isinstance(value, dict) else None

    def where(self, collection: str, **equal: Any) -> list[dict[str, Any]]:
        """Records whose fields equal every given value, in insertion order."""
        with self.lock:
            return [
                r
                for r in self.data[collection].values()
                if all(r.get(k) == v for k, v in equal.items())
            ]

    # -- users, tokens, repositories and roles ----------------------------------------

    def add_user(self, login: str, *, type: str = "User", name: str | None = None) -> dict:
        with self.transaction():
            existing = self.user(login)
            if existing is not None:
                return existing
            record = {
                "login": login,
                "type": type,
                "site_admin": False,
                "name": name or login,
                "email": f"{login}@users.noreply.sandbox.local",
            }
            return self.insert("users", record, key=login)

    def user(self, login: str | None) -> dict[str, Any] | None:
        return self.get("users", login) if login else None

    def user_json(self, login: str | None, base_url: str = "") -> dict[str, Any] | None:
        """A "simple user" object as GitHub nests it in other resources."""
        record = self.user(login)
        if record is None:
            return None
        url = f"{base_url}/users/{record['login']}"
        return {
            "login": record["login"],
            "id": record["id"],
            "node_id": record["node_id"],
            "avatar_url": f"{base_url}/avatars/{record['login']}",
            "gravatar_id": "",
            "url": url,
            "html_url": url,
            "followers_url": f"{url}/followers",
            "following_url": f"{url}/following{{/other_user}}",
            "gists_url": f"{url}/gists{{/gist_id}}",
            "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{url}/subscriptions",
            "organizations_url": f"{url}/orgs",
            "repos_url": f"{url}/repos",
            "events_url": f"{url}/events{{/privacy}}",
            "received_events_url": f"{url}/received_events",
            "type": record["type"],
            "site_admin": record["site_admin"],
        }

    def add_token(
        self,
        login: str,
        *,
        token: str | None = None,
        installation_id: int | None = None,
        expires_at: str | None = None,
        repositories: list[str] | None = None,
        permissions: dict[str, str] | None = None,
    ) -> str:
        """Register a token for a user (or an installation acting as `login`, optionally
        narrowed to some repositories and permissions)."""
        with self.transaction() as data:
            data["counters"]["tokens"] = data["counters"].get("tokens", 0) + 1
            if token is None:
                seed = f"{login}:{installation_id}:{data['counters']['tokens']}:{self.seed}"
                digest = hashlib.sha256(seed.encode()).hexdigest()[:36]
                token = ("ghs_" if installation_id else "ghp_") + digest
            data["tokens"][token] = {
                "login": login,
                "installation_id": installation_id,
                "expires_at": expires_at,
            }
            if repositories is not None:
                data["tokens"][token]["repositories"] = list(repositories)
            if permissions is not None:
                data["tokens"][token]["permissions"] = dict(permissions)
            return token

    def token_of(self, login: str) -> str | None:
        """The first user token registered for a login."""
        with self.lock:
            for token, rec in self.data["tokens"].items():
                if rec["login"] == login and rec.get("installation_id") is None:
                    return str(token)
        return None

    def repo(self, full_name: str) -> dict[str, Any] | None:
        return self.get("repos", full_name)

    def role_of(
        self, full_name: str, login: str | None, *, installation_id: int | None = None
    ) -> str | None:
        """The strongest role `login` has on a repository, or None for no access."""
        repo = self.repo(full_name)
        if repo is None:
            return None
        roles: list[str | None] = [None if repo.get("private") else "read"]
        if installation_id is not None:
            roles.append(self._installation_role(full_name, installation_id))
            return _best(roles)
        if login is None:
            return _best(roles)
        if repo["owner"] == login:
            roles.append("admin")
        roles.append(self.data["collaborators"].get(full_name, {}).get(login))
        for team in self.data["teams"].values():
            if login in team.get("members", {}):
                roles.append(team.get("repos", {}).get(full_name))
        return _best(roles)

    def installation_for(self, full_name: str) -> int | None:
        """The id of an App installation that covers a repository, if any."""
        for inst in self.data["installations"].values():
            if self._installation_role(full_name, int(inst["id"])) is not None:
                return int(inst["id"])
        return None

    def _installation_role(self, full_name: str, installation_id: int) -> str | None:
        inst = self.get("installations", installation_id)
        if inst is None:
            return None
        repos = inst.get("repositories")
        owner = full_name.split("/", 1)[0]
        if (repos is None and owner == inst.get("account")) or (repos and full_name in repos):
            return str(inst.get("role", "write"))
        return None


def atomic_write(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write via a temporary file in the same directory, fsync, then rename over."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if durable:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
