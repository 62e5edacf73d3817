"""REST endpoints that set up and read GitHub's rules, in GitHub's shapes.

- ``PUT/GET/DELETE /repos/{o}/{r}/branches/{b}/protection`` (classic protection; admin)
- ``GET/POST /repos/{o}/{r}/rulesets``, ``GET/PUT/DELETE /repos/{o}/{r}/rulesets/{id}``
- ``GET /repos/{o}/{r}/rules/branches/{b}`` (the active ruleset rules on a branch; read)
"""

from __future__ import annotations

from typing import Any

from bot.sandbox.http import (
    ApiError,
    RequestContext,
    Response,
    Router,
    invalid_field,
    missing_field,
)
from bot.sandbox.rules import evaluate as ev
from bot.sandbox.rules import permissions, state
from bot.sandbox.rules.enforce import actor_of

_PROTECTION_KEYS = (
    "required_status_checks",
    "enforce_admins",
    "required_pull_request_reviews",
    "restrictions",
)
RULE_TYPES = frozenset(
    {
        "creation",
        "update",
        "deletion",
        "required_linear_history",
        "required_signatures",
        "pull_request",
        "required_status_checks",
        "non_fast_forward",
    }
)
ENFORCEMENTS = ("disabled", "active", "evaluate")


def _repo_branch(ctx: RequestContext, role: str) -> tuple[str, str]:
    """An App reads protection with `administration: read` (its role is not admin)."""
    repo = f"{ctx.params['owner']}/{ctx.params['repo']}"
    perms = permissions.granted(ctx) or {}
    admin_app = permissions.LEVELS.get(perms.get("administration", ""), 0)
    ctx.require(repo, "read" if admin_app >= (1 if ctx.method == "GET" else 2) else role)
    branch = ctx.params["branch"]
    if ctx.git.ref(repo, f"refs/heads/{branch}") is None:
        raise ApiError(404, "Branch not found")
    return repo, branch


def _actors(raw: Any) -> dict[str, list[str]]:
    raw = raw if isinstance(raw, dict) else {}
    return {k: [str(x) for x in raw.get(k) or []] for k in ("users", "teams", "apps")}


def _flag(value: Any) -> dict[str, bool]:
    return {"enabled": bool(value)}


def _normalized(body: dict[str, Any]) -> dict[str, Any]:
    """The stored protection from a PUT body (the four required keys, nullable)."""
    for key in _PROTECTION_KEYS:
        if key not in body:
            raise missing_field("Protection", key)
    out: dict[str, Any] = {"enforce_admins": _flag(body["enforce_admins"])}
    rsc = body["required_status_checks"]
    if isinstance(rsc, dict):
        checks = rsc.get("checks") or [{"context": c} for c in rsc.get("contexts") or []]
        checks = [{"context": str(c["context"]), "app_id": c.get("app_id")} for c in checks]
        contexts = [c["context"] for c in checks]
        out["required_status_checks"] = {
            "strict": bool(rsc.get("strict")), "contexts": contexts, "checks": checks,
        }  # fmt: skip
    reviews = body["required_pull_request_reviews"]
    if isinstance(reviews, dict):
        count = int(reviews.get("required_approving_review_count", 1))
        if not 0 <= count <= 6:
            raise invalid_field("Protection", "required_approving_review_count")
        out["required_pull_request_reviews"] = {
            "dismiss_stale_reviews": bool(reviews.get("dismiss_stale_reviews")),
            "require_code_owner_reviews": bool(reviews.get("require_code_owner_reviews")),
            "required_approving_review_count": count,
            "bypass_pull_request_allowances": _actors(
                reviews.get("bypass_pull_request_allowances")
            ),
        }
    if isinstance(body["restrictions"], dict):
        out["restrictions"] = _actors(body["restrictions"])
    for key in ("required_linear_history", "allow_force_pushes", "allow_deletions"):
        out[key] = _flag(body.get(key))
    return out


def _actor_objects(ctx: RequestContext, repo: str, names: dict[str, list[str]]) -> dict:
    """Users, teams and Apps of an allowance list as GitHub nests them (full objects)."""
    from bot.sandbox import appauth
    from bot.sandbox.api.apps import app_json
    from bot.sandbox.api.collaborators import team_json

    org = repo.split("/", 1)[0]
    teams = [ctx.store.data["teams"].get(f"{org}/{t}") for t in names["teams"]]
    apps = [appauth.ensure_app(ctx.store) for a in names["apps"] if a == appauth.APP_SLUG]
    return {
        "users": [ctx.store.user_json(u, ctx.base_url) for u in names["users"]],
        "teams": [team_json(ctx, t) for t in teams if t is not None],
        "apps": [app_json(ctx, a) for a in apps],
    }


def protection_json(ctx: RequestContext, repo: str, branch: str, prot: dict[str, Any]) -> dict:
    url = f"{ctx.base_url}/repos/{repo}/branches/{branch}/protection"
    out: dict[str, Any] = {"url": url}
    for key, value in prot.items():
        if key == "required_status_checks":
            out[key] = {"url": f"{url}/{key}", "contexts_url": f"{url}/{key}/contexts", **value}
        elif key == "required_pull_request_reviews":
            allowed = _actor_objects(ctx, repo, value["bypass_pull_request_allowances"])
            out[key] = {"url": f"{url}/{key}", **value, "bypass_pull_request_allowances": allowed}
        elif key == "enforce_admins":
            out[key] = {"url": f"{url}/{key}", **value}
        elif key == "restrictions":
            out[key] = {
                "url": f"{url}/restrictions",
                "users_url": f"{url}/restrictions/users",
                "teams_url": f"{url}/restrictions/teams",
                "apps_url": f"{url}/restrictions/apps",
                **_actor_objects(ctx, repo, value),
            }
        else:
            out[key] = value
    return out


def put_protection(ctx: RequestContext) -> Response:
    repo, branch = _repo_branch(ctx, "admin")
    prot = _normalized(ctx.json())
    state.set_protection(ctx.store, repo, branch, prot)
    return Response(200, protection_json(ctx, repo, branch, prot))


def get_protection(ctx: RequestContext) -> Response:
    repo, branch = _repo_branch(ctx, "admin")
    prot = state.protection(ctx.store, repo, branch)
    if prot is None:
        raise ApiError(404, "Branch not protected")
    return Response(200, protection_json(ctx, repo, branch, prot))


def delete_protection(ctx: RequestContext) -> Response:
    repo, branch = _repo_branch(ctx, "admin")
    if state.protection(ctx.store, repo, branch) is None:
        raise ApiError(404, "Branch not protected")
    state.set_protection(ctx.store, repo, branch, None)
    return Response(204)


# -- rulesets ------------------------------------------------------------------------------


def _ruleset_body(body: dict[str, Any], old: dict[str, Any] | None = None) -> dict[str, Any]:
    merged = {**(old or {}), **body}
    if not merged.get("name"):
        raise missing_field("Ruleset", "name")
    if merged.get("enforcement") not in ENFORCEMENTS:
        raise invalid_field("Ruleset", "enforcement")
    rules = merged.get("rules") or []
    if not isinstance(rules, list) or any(
        not isinstance(r, dict) or r.get("type") not in RULE_TYPES for r in rules
    ):
        raise ApiError(422, "Invalid rule type", [{"resource": "Ruleset", "code": "invalid"}])
    return {
        "name": str(merged["name"]),
        "target": str(merged.get("target") or "branch"),
        "enforcement": merged["enforcement"],
        "bypass_actors": list(merged.get("bypass_actors") or []),
        "conditions": dict(merged.get("conditions") or {}),
        "rules": rules,
    }


def ruleset_json(ctx: RequestContext, repo: str, ident: str, ruleset: dict[str, Any]) -> dict:
    return {
        "id": int(ident),
        "source_type": "Repository",
        "source": repo,
        **ruleset,
        "current_user_can_bypass": ev.bypass_mode(ruleset, actor_of(ctx, repo)),
        "_links": {"self": {"href": f"{ctx.base_url}/repos/{repo}/rulesets/{ident}"}},
    }


def _repo(ctx: RequestContext, role: str) -> str:
    repo = f"{ctx.params['owner']}/{ctx.params['repo']}"
    ctx.require(repo, role)
    return repo


def list_rulesets(ctx: RequestContext) -> Response:
    repo = _repo(ctx, "read")
    found = state.rulesets(ctx.store, repo)
    return Response(200, [ruleset_json(ctx, repo, i, r) for i, r in found.items()])


def create_ruleset(ctx: RequestContext) -> Response:
    repo = _repo(ctx, "admin")
    ruleset = _ruleset_body(ctx.json())
    ident = str(ctx.store.next_id())
    state.rulesets(ctx.store, repo)[ident] = ruleset
    return Response(201, ruleset_json(ctx, repo, ident, ruleset))


def _one(ctx: RequestContext, repo: str) -> tuple[str, dict[str, Any]]:
    ident = ctx.params["ruleset_id"]
    found = state.rulesets(ctx.store, repo).get(ident)
    if found is None:
        raise ApiError(404, "Not Found")
    return ident, found


def get_ruleset(ctx: RequestContext) -> Response:
    repo = _repo(ctx, "read")
    ident, ruleset = _one(ctx, repo)
    return Response(200, ruleset_json(ctx, repo, ident, ruleset))


def update_ruleset(ctx: RequestContext) -> Response:
    repo = _repo(ctx, "admin")
    ident, old = _one(ctx, repo)
    ruleset = _ruleset_body(ctx.json(), old)
    state.rulesets(ctx.store, repo)[ident] = ruleset
    return Response(200, ruleset_json(ctx, repo, ident, ruleset))


def delete_ruleset(ctx: RequestContext) -> Response:
    repo = _repo(ctx, "admin")
    ident, _ = _one(ctx, repo)
    del state.rulesets(ctx.store, repo)[ident]
    return Response(204)


def branch_rules(ctx: RequestContext) -> Response:
    """The rules of every active ruleset on a branch, each with its ruleset id."""
    repo = _repo(ctx, "read")
    branch = ctx.params["branch"]
    default = str((ctx.store.repo(repo) or {}).get("default_branch") or "main")
    out = []
    for ident, ruleset in state.rulesets(ctx.store, repo).items():
        if ev.applies(ruleset, branch, default):
            for rule in ruleset.get("rules") or []:
                out.append(
                    {**rule, "ruleset_source_type": "Repository", "ruleset_source": repo,
                     "ruleset_id": int(ident)}
                )  # fmt: skip
    return Response(200, out)


def routes(router: Router) -> None:
    base = "/repos/{owner}/{repo}"
    router.add("PUT", base + "/branches/{branch+}/protection", put_protection)
    router.add("GET", base + "/branches/{branch+}/protection", get_protection)
    router.add("DELETE", base + "/branches/{branch+}/protection", delete_protection)
    router.add("GET", base + "/rulesets", list_rulesets)
    router.add("POST", base + "/rulesets", create_ruleset)
    router.add("GET", base + "/rulesets/{ruleset_id}", get_ruleset)
    router.add("PUT", base + "/rulesets/{ruleset_id}", update_ruleset)
    router.add("DELETE", base + "/rulesets/{ruleset_id}", delete_ruleset)
    router.add("GET", base + "/rules/branches/{branch+}", branch_rules)
