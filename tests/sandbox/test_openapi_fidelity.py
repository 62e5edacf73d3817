"""Fidelity: every operation the sandbox serves answers what GitHub's OpenAPI says.

One sandbox (module scope) is driven through githubkit's ordinary client — user tokens,
the App's installation token and the App's JWT — over every route of the router; each
response body is validated against `tests/data/openapi/github-subset.json`. One test per
operation, so a failure names the endpoint and the first schema mismatch.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from githubkit import AppAuthStrategy, GitHub
from githubkit.cache import MemCacheStrategy
from githubkit.exception import RequestFailed
from openapi_check import SchemaMismatch, operations, validate_response

from bot.resources import schema_path
from bot.sandbox import appauth
from bot.sandbox.api import build_router, oauth
from bot.sandbox.api.code_scanning import seed_alerts
from bot.sandbox.runner import Sandbox, run_sandbox
from bot.sandbox.scenario import APP_ID, BOT_INSTALLATION

R = "/repos/{owner}/{repo}"
FILES: dict[str, str | bytes | None] = {
    "README.md": "# fid\n",
    "deploy/prod.yaml": "image: shop:1.0.0\n",
    "src/app.py": "x=1\n",
}


@dataclass
class Call:
    method: str
    template: str
    path: str
    status: int
    body: Any
    expect: int | None = None


@dataclass
class Driver:
    sb: Sandbox
    calls: list[Call] = field(default_factory=list)
    clients: dict[str, GitHub[Any]] = field(default_factory=dict)

    def gh(self, who: str) -> GitHub[Any]:
        if who not in self.clients:
            if who.startswith("oauth:"):  # a user-to-server token, as the web flow mints
                auth: Any = oauth.mint_user_token(self.sb.store, who[6:], self.sb.server.clock())
            elif who == "app":
                key = appauth.private_key_pem(self.sb.store)
                auth = AppAuthStrategy(str(APP_ID), key)
            else:
                auth = self.sb.bot_token() if who == "bot" else self.sb.token(who)
            client = GitHub(auth, base_url=self.sb.base_url, auto_retry=False,
                            cache_strategy=MemCacheStrategy())  # fmt: skip
            self.clients[who] = client.__enter__()
        return self.clients[who]

    def do(self, method: str, template: str, *, who: str = "bot", json: Any = None,
           params: dict[str, Any] | None = None, expect: int | None = None,
           **path: Any) -> Any:  # fmt: skip
        values = {"owner": "acme", "repo": "fid", **path}
        url = re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), template)
        try:
            response = self.gh(who).request(method, url, json=json, params=params)
        except RequestFailed as failed:
            response = failed.response
        body = response.json() if response.content else None
        self.calls.append(Call(method, template, url, response.status_code, body, expect))
        return body

    def redirect(self, template: str, **path: Any) -> str:
        """A GET that GitHub answers with a redirect, not followed; its Location."""
        import httpx

        url = re.sub(
            r"\{(\w+)\}",
            lambda m: str({"owner": "acme", "repo": "fid", **path}[m.group(1)]),
            template,
        )
        headers = {"Authorization": f"token {self.sb.bot_token()}"}
        response = httpx.get(self.sb.base_url + url, headers=headers)
        self.calls.append(
            Call("GET", template, url, response.status_code, response.content or None)
        )
        return str(response.headers.get("location", ""))


def _repos_and_users(d: Driver) -> None:
    d.do("GET", R)
    d.do("POST", "/user/repos", who="dev-alice", json={"name": "scratch"})
    d.do("POST", "/orgs/{org}/repos", who="rm-dave", json={"name": "svc2"}, org="acme")
    d.do("GET", "/user/repos", who="dev-alice")
    d.do("GET", "/user", who="dev-alice")
    d.do("GET", "/users/{username}", username="dev-alice")
    d.do("GET", R, repo="no-such-repo", expect=404)  # GitHub's error shape


def _contents_and_git(d: Driver, main: str) -> None:
    d.do("GET", f"{R}/contents/{{path}}", path="deploy/prod.yaml")
    d.do("GET", f"{R}/contents/{{path}}", path="deploy")
    text = base64.b64encode(b"hello\n").decode()
    put = d.do("PUT", f"{R}/contents/{{path}}", path="notes.txt",
               json={"message": "add notes", "content": text})  # fmt: skip
    d.do("DELETE", f"{R}/contents/{{path}}", path="notes.txt",
         json={"message": "drop notes", "sha": put["content"]["sha"]})  # fmt: skip
    d.do("GET", f"{R}/git/ref/{{ref}}", ref="heads/main")
    d.do("GET", f"{R}/git/matching-refs/{{ref}}", ref="heads/")
    blob = d.do("POST", f"{R}/git/blobs", json={"content": "blob\n", "encoding": "utf-8"})
    d.do("GET", f"{R}/git/blobs/{{file_sha}}", file_sha=blob["sha"])
    main_tree = d.do("GET", f"{R}/git/commits/{{commit_sha}}", commit_sha=main)["tree"]["sha"]
    tree = d.do("POST", f"{R}/git/trees", json={"base_tree": main_tree, "tree": [
        {"path": "blob.txt", "mode": "100644", "type": "blob", "sha": blob["sha"]}]})  # fmt: skip
    d.do("GET", f"{R}/git/trees/{{tree_sha}}", tree_sha=tree["sha"], params={"recursive": "1"})
    commit = d.do("POST", f"{R}/git/commits",
                  json={"message": "via API", "tree": tree["sha"], "parents": [main]})  # fmt: skip
    d.do("POST", f"{R}/git/refs", json={"ref": "refs/heads/fid", "sha": main})
    d.do("PATCH", f"{R}/git/refs/{{ref}}", ref="heads/fid", json={"sha": commit["sha"]})
    d.do("PATCH", f"{R}/git/refs/{{ref}}", ref="heads/fid", json={"sha": main, "force": False},
         expect=422)  # not a fast forward  # fmt: skip
    d.do("DELETE", f"{R}/git/refs/{{ref}}", ref="heads/fid")


def _commits_and_merges(d: Driver, main: str) -> None:
    d.do("GET", f"{R}/commits")
    d.do("GET", f"{R}/commits/{{ref}}", ref="main")
    d.do("GET", f"{R}/compare/{{basehead}}", basehead="main...feat")
    d.do("GET", f"{R}/branches")
    d.do("GET", f"{R}/branches/{{branch}}", branch="main")
    assert "/legacy.tar.gz/" in d.redirect(f"{R}/tarball/{{ref}}", ref="main")  # to codeload
    d.do("POST", f"{R}/git/refs", json={"ref": "refs/heads/target", "sha": main})
    d.do("POST", f"{R}/merges", json={"base": "target", "head": "feat"})


def _protection_and_rulesets(d: Driver) -> None:
    d.sb.scenario.add_user("admin-zed")
    with d.sb.store.transaction() as data:
        data["collaborators"]["acme/fid"]["admin-zed"] = "admin"
    prot = f"{R}/branches/{{branch}}/protection"
    d.do("GET", prot, who="admin-zed", branch="other", expect=404)  # "Branch not protected"
    everyone = {"users": ["dev-alice"], "teams": [], "apps": ["release-train"]}
    d.do("PUT", prot, who="admin-zed", branch="other", json={
        "required_status_checks": {"strict": True, "contexts": ["ci"]},
        "enforce_admins": True,
        "required_pull_request_reviews": {"required_approving_review_count": 1,
                                          "bypass_pull_request_allowances": everyone},
        "restrictions": everyone, "required_linear_history": True})  # fmt: skip
    d.do("GET", prot, who="admin-zed", branch="other")
    d.do("DELETE", prot, who="admin-zed", branch="other")
    rules = f"{R}/rulesets"
    made = d.do("POST", rules, who="admin-zed", json={
        "name": "main", "target": "branch", "enforcement": "active",
        "bypass_actors": [{"actor_id": APP_ID, "actor_type": "Integration",
                           "bypass_mode": "always"}],
        "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}},
        "rules": [{"type": "deletion"}, {"type": "non_fast_forward"},
                  {"type": "pull_request", "parameters": {
                      "required_approving_review_count": 1, "dismiss_stale_reviews_on_push": True,
                      "require_code_owner_review": False, "require_last_push_approval": False,
                      "required_review_thread_resolution": False}}]})  # fmt: skip
    one = f"{rules}/{{ruleset_id}}"
    d.do("GET", rules)
    d.do("GET", one, ruleset_id=made["id"])
    d.do("GET", f"{R}/rules/branches/{{branch}}", branch="main")
    d.do("PUT", one, who="admin-zed", ruleset_id=made["id"], json={"enforcement": "disabled"})
    d.do("DELETE", one, who="admin-zed", ruleset_id=made["id"])


def _pulls_and_reviews(d: Driver, number: int) -> None:
    d.do("GET", f"{R}/pulls", params={"state": "all"})
    d.do("POST", f"{R}/pulls", who="dev-bob", json={"title": "B", "head": "other", "base": "main"})
    p: dict[str, Any] = {"pull_number": number}
    d.do("GET", f"{R}/pulls/{{pull_number}}", **p)
    d.do("PATCH", f"{R}/pulls/{{pull_number}}", who="dev-alice", json={"title": "Feature!"}, **p)
    d.do("GET", f"{R}/pulls/{{pull_number}}/files", **p)
    d.do("GET", f"{R}/pulls/{{pull_number}}/commits", **p)
    d.do("GET", f"{R}/pulls/{{pull_number}}/merge", expect=404, **p)  # not merged yet
    d.do("POST", f"{R}/pulls/{{pull_number}}/requested_reviewers", who="dev-alice",
         json={"reviewers": ["rev-carol"]}, **p)  # fmt: skip
    d.do("GET", f"{R}/pulls/{{pull_number}}/requested_reviewers", **p)
    d.do("DELETE", f"{R}/pulls/{{pull_number}}/requested_reviewers", who="dev-alice",
         json={"reviewers": ["rev-carol"]}, **p)  # fmt: skip
    d.do("GET", f"{R}/pulls/{{pull_number}}/reviews", **p)
    review = d.do("POST", f"{R}/pulls/{{pull_number}}/reviews", who="rev-carol",
                  json={"event": "APPROVE", "body": "ok"}, **p)  # fmt: skip
    r: dict[str, Any] = {"review_id": review["id"], **p}
    d.do("GET", f"{R}/pulls/{{pull_number}}/reviews/{{review_id}}", **r)
    d.do("PUT", f"{R}/pulls/{{pull_number}}/reviews/{{review_id}}/dismissals", who="rm-dave",
         json={"message": "stale"}, **r)  # fmt: skip
    d.do("POST", f"{R}/pulls/{{pull_number}}/reviews", who="rev-carol",
         json={"event": "APPROVE"}, **p)  # fmt: skip
    d.do("PUT", f"{R}/pulls/{{pull_number}}/merge", who="rm-dave", json={}, **p)
    d.do("GET", f"{R}/pulls/{{pull_number}}/merge", **p)


def _issues_and_labels(d: Driver) -> None:
    d.do("GET", f"{R}/issues")
    issue = d.do("POST", f"{R}/issues", json={"title": "Train 1", "labels": ["train"]})
    n: dict[str, Any] = {"issue_number": issue["number"]}
    d.do("GET", f"{R}/issues/{{issue_number}}", **n)
    d.do("PATCH", f"{R}/issues/{{issue_number}}", json={"body": "ledger"}, **n)
    comment = d.do("POST", f"{R}/issues/{{issue_number}}/comments", json={"body": "hi"}, **n)
    d.do("GET", f"{R}/issues/{{issue_number}}/comments", **n)
    d.do("GET", f"{R}/issues/comments")
    c: dict[str, Any] = {"comment_id": comment["id"]}
    d.do("GET", f"{R}/issues/comments/{{comment_id}}", **c)
    d.do("PATCH", f"{R}/issues/comments/{{comment_id}}", json={"body": "hello"}, **c)
    d.do("POST", f"{R}/issues/comments/{{comment_id}}/reactions", json={"content": "+1"}, **c)
    d.do("GET", f"{R}/issues/comments/{{comment_id}}/reactions", **c)
    d.do("DELETE", f"{R}/issues/comments/{{comment_id}}", **c)
    d.do("GET", f"{R}/issues/{{issue_number}}/labels", **n)
    d.do("POST", f"{R}/issues/{{issue_number}}/labels", json={"labels": ["a", "b"]}, **n)
    d.do("PUT", f"{R}/issues/{{issue_number}}/labels", json={"labels": ["a", "c"]}, **n)
    d.do("DELETE", f"{R}/issues/{{issue_number}}/labels/{{name}}", name="a", **n)
    d.do("DELETE", f"{R}/issues/{{issue_number}}/labels", **n)
    events = d.do("GET", f"{R}/issues/{{issue_number}}/events", **n)  # labeled, unlabeled
    assert {e["event"] for e in events} >= {"labeled", "unlabeled"}, events
    d.do("GET", f"{R}/labels")
    d.do("POST", f"{R}/labels", json={"name": "hold", "color": "ff0000"})
    d.do("GET", f"{R}/labels/{{name}}", name="hold")
    d.do("PATCH", f"{R}/labels/{{name}}", name="hold", json={"description": "wait"})
    d.do("DELETE", f"{R}/labels/{{name}}", name="hold")


def _people(d: Driver) -> None:
    d.do("GET", f"{R}/collaborators")
    d.do("GET", f"{R}/collaborators/{{username}}", username="dev-alice")
    d.do("GET", f"{R}/collaborators/{{username}}/permission", username="dev-alice")
    o: dict[str, Any] = {"org": "acme"}
    d.do("GET", "/orgs/{org}/teams", **o)
    d.do("GET", "/orgs/{org}/teams/{team_slug}", team_slug="developers", **o)
    d.do("GET", "/orgs/{org}/teams/{team_slug}/members", team_slug="developers", **o)
    d.do("GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}", team_slug="developers",
         username="dev-alice", **o)  # fmt: skip
    d.do("GET", "/orgs/{org}/members/{username}", username="dev-alice", **o)


def _checks_statuses_deployments(d: Driver, head: str) -> None:
    run = d.do("POST", f"{R}/check-runs", json={"name": "gate", "head_sha": head,
               "status": "in_progress", "output": {"title": "t", "summary": "s"}})  # fmt: skip
    c: dict[str, Any] = {"check_run_id": run["id"]}
    note = {"path": "a", "start_line": 1, "end_line": 1, "annotation_level": "notice",
            "message": "m"}  # fmt: skip
    d.do("PATCH", f"{R}/check-runs/{{check_run_id}}", json={"conclusion": "success",
         "output": {"title": "t", "summary": "s", "annotations": [note]}}, **c)  # fmt: skip
    d.do("GET", f"{R}/check-runs/{{check_run_id}}", **c)
    d.do("GET", f"{R}/check-runs/{{check_run_id}}/annotations", **c)
    d.do("POST", f"{R}/check-runs/{{check_run_id}}/rerequest", **c)
    d.do("GET", f"{R}/commits/{{ref}}/check-runs", ref=head)
    suite = d.do("POST", f"{R}/check-suites", json={"head_sha": head})
    s: dict[str, Any] = {"check_suite_id": suite["id"]}
    d.do("GET", f"{R}/check-suites/{{check_suite_id}}", **s)
    d.do("GET", f"{R}/check-suites/{{check_suite_id}}/check-runs", **s)
    d.do("POST", f"{R}/check-suites/{{check_suite_id}}/rerequest", **s)
    d.do("GET", f"{R}/commits/{{ref}}/check-suites", ref=head)
    d.do("POST", f"{R}/statuses/{{sha}}", sha=head, json={"state": "success", "context": "ci"})
    d.do("GET", f"{R}/commits/{{ref}}/statuses", ref=head)
    d.do("GET", f"{R}/commits/{{ref}}/status", ref=head)
    dep = d.do("POST", f"{R}/deployments", json={"ref": "main", "environment": "staging",
               "required_contexts": [], "payload": {"train": "t1"}})  # fmt: skip
    p: dict[str, Any] = {"deployment_id": dep["id"]}
    d.do("GET", f"{R}/deployments", params={"environment": "staging"})
    d.do("GET", f"{R}/deployments/{{deployment_id}}", **p)
    status = d.do("POST", f"{R}/deployments/{{deployment_id}}/statuses",
                  json={"state": "success", "log_url": "https://ci/1"}, **p)  # fmt: skip
    d.do("GET", f"{R}/deployments/{{deployment_id}}/statuses", **p)
    d.do("GET", f"{R}/deployments/{{deployment_id}}/statuses/{{status_id}}",
         status_id=status["id"], **p)  # fmt: skip


def _scanning_search_apps(d: Driver) -> None:
    d.do("GET", f"{R}/code-scanning/alerts", expect=404)  # no analysis yet
    seed_alerts(d.sb.scenario, "acme/fid", [{"rule_id": "py/sqli", "security_severity": "high"}])
    d.do("GET", f"{R}/code-scanning/alerts", params={"severity": "high"})
    d.do("GET", f"{R}/code-scanning/alerts/{{alert_number}}", alert_number=1)
    d.do("GET", "/search/issues", params={"q": "repo:acme/fid is:pr is:open"})
    d.do("GET", "/rate_limit")
    d.do("GET", "/app", who="app")
    d.do("GET", "/app/installations", who="app")
    i: dict[str, Any] = {"installation_id": BOT_INSTALLATION}
    d.do("GET", "/app/installations/{installation_id}", who="app", **i)
    d.do("POST", "/app/installations/{installation_id}/access_tokens", who="app", json={}, **i)
    d.do("GET", f"{R}/installation", who="app")
    d.do("GET", "/installation/repositories")
    d.do("GET", "/user/installations", who="oauth:dev-alice")
    d.do("GET", "/user/installations/{installation_id}/repositories", who="oauth:dev-alice", **i)


def _releases_and_tags(d: Driver, main: str) -> None:
    tag = d.do("POST", f"{R}/git/tags", json={"tag": "train/fid-1", "message": "Train fid-1\n",
               "object": main, "type": "commit"})  # fmt: skip
    d.do("GET", f"{R}/git/tags/{{tag_sha}}", tag_sha=tag["sha"])
    d.do("POST", f"{R}/git/refs", json={"ref": "refs/tags/train/fid-1", "sha": tag["sha"]})
    draft = d.do("POST", f"{R}/releases", json={"tag_name": "train/fid-1", "name": "fid-1",
                 "body": "notes", "draft": True, "target_commitish": main})  # fmt: skip
    d.do("GET", f"{R}/releases")
    d.do("GET", f"{R}/releases/tags/{{tag}}", tag="train/fid-1", expect=404)  # a draft
    d.do("PATCH", f"{R}/releases/{{release_id}}", release_id=draft["id"],
         json={"draft": False, "make_latest": "true"})  # fmt: skip
    d.do("GET", f"{R}/releases/{{release_id}}", release_id=draft["id"])
    d.do("GET", f"{R}/releases/tags/{{tag}}", tag="train/fid-1")
    d.do("GET", f"{R}/releases/latest")
    d.do("POST", f"{R}/releases", json={"tag_name": "train/fid-1"}, expect=422)  # exists


@pytest.fixture(scope="module")
def driven(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Driver]:
    with run_sandbox(Path(tmp_path_factory.mktemp("fidelity")), durable=False) as sb:
        sc = sb.scenario
        main = sc.create_repo("acme/fid", dict(FILES), author="rm-dave")
        change: dict[str, str | bytes | None] = {"deploy/prod.yaml": "image: 2\n"}
        number = sc.open_pr("acme/fid", "dev-alice", "feat", change,
                            title="Feature")  # fmt: skip
        sc.push("acme/fid", "other", {"src/app.py": "x=2\n"}, "other", "dev-bob")
        head = sb.git.resolve("acme/fid", "feat")
        assert head is not None
        d = Driver(sb)
        for step in (
            lambda: _repos_and_users(d), lambda: _contents_and_git(d, main),
            lambda: _commits_and_merges(d, main), lambda: _issues_and_labels(d),
            lambda: _people(d), lambda: _checks_statuses_deployments(d, head),
            lambda: _pulls_and_reviews(d, number), lambda: _scanning_search_apps(d),
            lambda: _protection_and_rulesets(d),
            lambda: _releases_and_tags(d, main),
        ):  # fmt: skip
            step()
        yield d
        for client in d.clients.values():
            client.__exit__(None, None, None)


def _norm(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", template)


def _served() -> list[tuple[str, str]]:
    """(METHOD, OpenAPI template) of every router route that GitHub's description has."""
    documented = {(m, _norm(p)): p for m, p in operations()}
    out = []
    for route in build_router().routes:
        found = documented.get((route.method, _norm(route.pattern)))
        if found is not None:
            out.append((route.method, found))
    return sorted(set(out))


SERVED = _served()


@pytest.mark.parametrize(("method", "template"), SERVED, ids=[f"{m} {t}" for m, t in SERVED])
def test_operation_matches_the_published_schema(driven: Driver, method: str, template: str) -> None:
    calls = [c for c in driven.calls if (c.method, c.template) == (method, template)]
    assert calls, f"the fidelity run never called {method} {template}"
    problems = []
    for call in calls:
        try:
            validate_response(method, template, call.status, call.body)
        except SchemaMismatch as mismatch:
            problems.append(f"{call.path} -> {mismatch}")
    assert not problems, "\n".join(problems)


def test_every_call_succeeded_or_failed_on_purpose(driven: Driver) -> None:
    unexpected = [
        f"{c.method} {c.path} -> {c.status} (expected {c.expect}) {c.body}"
        for c in driven.calls
        if (c.status >= 400 or c.expect is not None) and c.status != c.expect
    ]
    assert not unexpected, "\n".join(unexpected)


def test_routes_github_does_not_document_are_few_and_known() -> None:
    documented = {(m, _norm(p)) for m, p in operations()}
    # Argo CD's Applications API beside GitHub's, documented by Argo CD's own description
    # (checked against it in tests/argocd)
    argocd = json.loads(schema_path("argocd/applications.swagger.json").read_text("utf-8"))
    documented |= {(m.upper(), _norm(p)) for p, ops in argocd["paths"].items() for m in ops}
    extra = sorted(
        f"{r.method} {r.pattern}"
        for r in build_router().routes
        if (r.method, _norm(r.pattern)) not in documented
    )
    # Aliases GitHub answers but does not document (listing refs, the root directory),
    # and the sandbox's stand-in for codeload.github.com.
    allowed = {
        "GET /repos/{owner}/{repo}/contents",
        "GET /repos/{owner}/{repo}/contents/",
        "GET /repos/{owner}/{repo}/git/refs",
        "GET /repos/{owner}/{repo}/git/refs/{ref+}",
        "GET /repos/{owner}/{repo}/tarball",  # the default branch's archive
        "GET /_codeload/{owner}/{repo}/legacy.tar.gz/{ref}",  # the archive host's download
        # the web host's OAuth flow (github.com/login/oauth/..., not the REST API)
        "GET /login/oauth/authorize",
        "POST /login/oauth/access_token",
        # the registry host's OCI Distribution API and token realm (bot/sandbox/api/oci.py)
        "GET /v2/",
        "GET /oci/token",
        "GET /v2/{name+}/manifests/{ref}",
        "PUT /v2/{name+}/manifests/{ref}",
        "GET /v2/{name+}/blobs/{digest}",
        "GET /v2/{name+}/tags/list",
        "POST /v2/{name+}/blobs/uploads/",
        "PUT /v2/{name+}/blobs/uploads/{session}",
    }
    assert set(extra) <= allowed, set(extra) - allowed
