"""The scenario kit: set up repositories, users, pull requests, reviews and checks.

Actions that a person does on GitHub (open a PR, label, review, comment, merge) run the
same handlers the HTTP API runs, in-process and as that user, so permissions hold and
webhooks fire; they are not counted in the request log. Records that only an App
writes (check runs, statuses, code-scanning alerts) are written straight into the store
with the agreed shapes (see `bot.sandbox.store`).

The standard users: developers ``dev-alice`` and ``dev-bob``, reviewer ``rev-carol``,
release manager ``rm-dave`` (maintain), read-only ``reader-erin``, the organization
``acme`` and the App's bot user ``release-train[bot]`` with installation `BOT_INSTALLATION`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.sandbox.app_records import AppRecords
from bot.sandbox.gitstore import Person
from bot.sandbox.http import RequestContext, User

if TYPE_CHECKING:
    from bot.sandbox.server import Server

BOT_LOGIN = "release-train[bot]"
BOT_INSTALLATION = 1
APP_ID = 1
ORG = "acme"
DEMO_REPO = "acme/shop"
DEMO_DIR = Path(__file__).with_name("demo")

# login -> role on the demo repository (and on every repository `create_repo` makes in acme)
STANDARD_ROLES = {
    "dev-alice": "write",
    "dev-bob": "write",
    "rev-carol": "write",
    "rm-dave": "maintain",
    "reader-erin": "read",
}
STANDARD_TEAMS = {
    "acme/developers": ("dev-alice", "dev-bob"),
    "acme/reviewers": ("rev-carol",),
    "acme/release-managers": ("rm-dave",),
}

DEMO_LABELS = (
    ("train:next", "0e8a16", "Board the next release train"),
    ("train:emergency", "b60205", "Depart now, outside the schedule"),
    ("feature", "1d76db", "Release notes: Features"),
    ("bug", "d73a4a", "Release notes: Fixes"),
)

Files = dict[str, "str | bytes | None"]


def files_from_dir(root: Path) -> dict[str, str | bytes | None]:
    """Every file under a directory, by repository-relative path."""
    out: dict[str, str | bytes | None] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            out[path.relative_to(root).as_posix()] = path.read_bytes()
    return out


class Scenario(AppRecords):
    """Helpers that set up a sandbox's state for the demo and tests."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.store = server.store
        self.git = server.git

    # -- users -------------------------------------------------------------------------

    def ensure_users(self) -> None:
        """The standard users, the ``acme`` organization and the App's bot (idempotent)."""
        with self.store.transaction() as data:
            self.store.add_user(ORG, type="Organization", name="Acme Inc.")
            for login in STANDARD_ROLES:
                self.store.add_user(login)
                if self.store.token_of(login) is None:
                    self.store.add_token(login)
            for slug, members in STANDARD_TEAMS.items():
                self.add_team(slug, members)
            self.store.add_user(BOT_LOGIN, type="Bot", name="release-train")
            if self.store.get("installations", BOT_INSTALLATION) is None:
                data["installations"][str(BOT_INSTALLATION)] = {
                    "id": BOT_INSTALLATION,
                    "app_id": APP_ID,
                    "account": ORG,
                    "repositories": None,
                    "role": "write",
                    "permissions": {
                        "contents": "write",
                        "pull_requests": "write",
                        "issues": "write",
                        "checks": "write",
                        "statuses": "write",
                        "deployments": "write",
                        "metadata": "read",
                        "security_events": "read",
                        "members": "read",
                    },
                }
            data["extra"].setdefault("org_admins", {}).setdefault(ORG, ["rm-dave"])

    def add_user(
        self,
        login: str,
        role_by_repo: dict[str, str] | None = None,
        teams: list[str] | tuple[str, ...] = (),
        *,
        type: str = "User",
    ) -> str:
        """Create a user (if new) with roles and team memberships; returns a token."""
        with self.store.transaction() as data:
            self.store.add_user(login, type=type)
            for repo, role in (role_by_repo or {}).items():
                data["collaborators"].setdefault(repo, {})[login] = role
            for team in teams:
                self.add_team(team, (login,))
            return self.store.token_of(login) or self.store.add_token(login)

    def add_team(
        self,
        slug: str,
        members: tuple[str, ...] | list[str] = (),
        repos: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Create or extend a team ``org/slug`` with members and repository roles."""
        org, name = slug.split("/", 1)
        with self.store.transaction() as data:
            team = data["teams"].get(slug)
            if team is None:
                team = self.store.insert(
                    "teams",
                    {
                        "slug": name,
                        "name": name,
                        "org": org,
                        "members": {},
                        "repos": {},
                        "description": "",
                    },
                    key=slug,
                )
            for login in members:
                team["members"].setdefault(login, "member")
            team["repos"].update(repos or {})
            return dict(team)

    def bot_token(self) -> str:
        """An installation token for ``release-train[bot]`` (one per sandbox)."""
        with self.store.lock:
            for token, rec in self.store.data["tokens"].items():
                if rec["login"] == BOT_LOGIN and rec.get("installation_id") == BOT_INSTALLATION:
                    return str(token)
            return self.store.add_token(BOT_LOGIN, installation_id=BOT_INSTALLATION)

    def install_bot(self, repo: str) -> None:
        """Give the App's installation access to a repository outside ``acme``."""
        with self.store.transaction():
            inst = self.store.get("installations", BOT_INSTALLATION)
            assert inst is not None
            if self.store.installation_for(repo) == BOT_INSTALLATION:
                return
            inst["repositories"] = [*(inst.get("repositories") or []), repo]

    # -- repositories and commits ------------------------------------------------------

    def ctx(self, as_user: str | None) -> RequestContext:
        """A request context acting as a user, for in-process actions."""
        ctx = self.server.context("POST", "/", {}, b"")
        if as_user is not None:
            rec = self.store.user(as_user)
            if rec is None:
                raise KeyError(f"no sandbox user {as_user!r}")
            ctx.user = User(rec["login"], rec["id"], rec["type"], rec["site_admin"])
            if as_user == BOT_LOGIN:
                ctx.installation_id = BOT_INSTALLATION
        return ctx

    def create_repo(
        self,
        owner_name: str,
        files: dict[str, str | bytes | None] | Path,
        default_branch: str = "main",
        private: bool = False,
        *,
        message: str = "Initial commit",
        author: str | None = None,
    ) -> str:
        """A repository with one commit holding `files` (or a directory's files); the sha."""
        from bot.sandbox.api.repos import new_repository

        owner, _ = owner_name.split("/", 1)
        with self.store.transaction() as data:
            if self.store.user(owner) is None:
                self.store.add_user(owner, type="Organization")
            new_repository(
                self.store,
                self.git,
                *owner_name.split("/", 1),
                now=self.ctx(None).now(),
                private=private,
                default_branch=default_branch,
            )
            if owner == ORG:
                collaborators = data["collaborators"].setdefault(owner_name, {})
                for login, role in STANDARD_ROLES.items():
                    collaborators.setdefault(login, role)
            else:
                self.install_bot(owner_name)
            files = files_from_dir(files) if isinstance(files, Path) else files
            who = author or (owner if self.store.user(owner)["type"] == "User" else "rm-dave")  # type: ignore[index]
            return self.push(owner_name, default_branch, files, message, who)

    def commit(
        self,
        repo: str,
        parent: str | None,
        files: Mapping[str, str | bytes | None],
        message: str,
        author: str,
    ) -> str:
        """A commit on top of `parent` that sets (or, for None, deletes) `files`."""
        changes: dict[str, tuple[str, str] | None] = {
            p: None for p, c in files.items() if c is None
        }
        kept = [
            (p, c.encode() if isinstance(c, str) else c) for p, c in files.items() if c is not None
        ]
        shas = self.git.hash_blobs(repo, [c for _, c in kept])
        changes.update({p: ("100644", sha) for (p, _), sha in zip(kept, shas, strict=True)})
        base_tree = self.git.out(repo, "rev-parse", f"{parent}^{{tree}}") if parent else None
        tree = self.git.write_tree(repo, base_tree, changes)
        ctx = self.ctx(author)
        rec = self.store.user(author) or {}
        person = Person(str(rec.get("name", author)), str(rec.get("email", "")), ctx.now())
        return self.git.commit_tree(repo, tree, [parent] if parent else [], message, person)

    def push(
        self,
        repo: str,
        branch: str,
        files: Mapping[str, str | bytes | None],
        message: str = "Update files",
        author: str = "dev-alice",
        *,
        base: str | None = None,
    ) -> str:
        """Commit `files` on `branch` (created from `base` or the default branch); the sha.

        Moves the branch like a `git push`: PRs with this head get the new head sha."""
        from bot.sandbox.api.refs import move_ref

        ref = f"refs/heads/{branch}"
        with self.store.transaction():
            old = self.git.ref(repo, ref)
            parent = old
            if parent is None:
                record = self.store.repo(repo)
                assert record is not None, repo
                parent = self.git.resolve(repo, base or record["default_branch"])
            sha = self.commit(repo, parent, files, message, author)
            move_ref(self.ctx(author), repo, ref, sha, old)
            return sha

    def protect_branch(self, repo: str, branch: str) -> None:
        """Mark `branch` protected (as `GET /branches/{branch}` reports it)."""
        with self.store.transaction() as data:
            protected = data["extra"].setdefault("protected_branches", {}).setdefault(repo, [])
            if branch not in protected:
                protected.append(branch)

    # -- people's actions, through the API handlers -------------------------------------

    def call(self, method: str, path: str, body: object = None, *, as_user: str) -> Any:
        response = self.server.call(method, path, body, as_user=as_user)
        return response.body

    def open_pr(
        self,
        repo: str,
        author: str,
        branch: str,
        files: Mapping[str, str | bytes | None],
        title: str = "",
        body: str = "",
        labels: list[str] | tuple[str, ...] = (),
        draft: bool = False,
        *,
        base: str | None = None,
        message: str | None = None,
    ) -> int:
        """Push `files` to a new branch and open a PR from it; returns the PR number."""
        record = self.store.repo(repo)
        assert record is not None, repo
        base = base or record["default_branch"]
        self.push(
            repo, branch, dict(files), message or title or f"Change on {branch}", author, base=base
        )
        pr = self.call(
            "POST",
            f"/repos/{repo}/pulls",
            {
                "title": title or branch,
                "body": body,
                "head": branch,
                "base": base,
                "draft": draft,
            },
            as_user=author,
        )
        number = int(pr["number"])
        for name in labels:
            self.label(repo, number, name, actor=author)
        return number

    def label(self, repo: str, number: int, label: str, actor: str = "rm-dave") -> None:
        self.call(
            "POST", f"/repos/{repo}/issues/{number}/labels", {"labels": [label]}, as_user=actor
        )

    def unlabel(self, repo: str, number: int, label: str, actor: str = "rm-dave") -> None:
        self.call("DELETE", f"/repos/{repo}/issues/{number}/labels/{label}", as_user=actor)

    def review(
        self, repo: str, number: int, user: str, state: str = "APPROVE", body: str = ""
    ) -> int:
        """Submit a review (APPROVE, REQUEST_CHANGES or COMMENT); returns its id."""
        out = self.call(
            "POST",
            f"/repos/{repo}/pulls/{number}/reviews",
            {"event": state, "body": body},
            as_user=user,
        )
        return int(out["id"])

    def comment(self, repo: str, number: int, user: str, body: str) -> int:
        out = self.call(
            "POST", f"/repos/{repo}/issues/{number}/comments", {"body": body}, as_user=user
        )
        return int(out["id"])

    def merge(self, repo: str, number: int, actor: str = "rm-dave", method: str = "merge") -> str:
        out = self.call(
            "PUT", f"/repos/{repo}/pulls/{number}/merge", {"merge_method": method}, as_user=actor
        )
        return str(out["sha"])

    # -- the demo ------------------------------------------------------------------------

    def demo(self) -> str:
        """The demo repository ``acme/shop`` (created once); returns its full name."""
        if self.store.repo(DEMO_REPO) is None:
            self.create_repo(
                DEMO_REPO,
                files_from_dir(DEMO_DIR / "shop"),
                message="Initial import of the shop",
                author="rm-dave",
            )
            with self.store.transaction():
                for team, role in (
                    ("acme/developers", "write"),
                    ("acme/reviewers", "write"),
                    ("acme/release-managers", "maintain"),
                ):
                    self.add_team(team, repos={DEMO_REPO: role})
                labels = self.store.data["labels"].setdefault(DEMO_REPO, {})
                for name, color, text in DEMO_LABELS:
                    ident = self.store.next_id()
                    labels[name] = {
                        "id": ident,
                        "node_id": f"LA_{ident}",
                        "name": name,
                        "color": color,
                        "description": text,
                        "default": False,
                    }
        return DEMO_REPO
