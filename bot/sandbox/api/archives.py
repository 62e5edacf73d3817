"""Repository archives: ``GET /repos/{owner}/{repo}/tarball/{ref}`` answers 302 to a
codeload URL carrying a short-lived token, as GitHub does; the codeload URL serves the
gzipped tar that the real ``git archive`` makes, with GitHub's top-level folder
``{owner}-{repo}-{short sha}/`` and the commit id in the pax header.

The token binds the repository, the commit and an expiry (five minutes, as GitHub's
links for private repositories), so the download needs no ``Authorization`` header: a
client that follows the redirect to another host (where it must drop the header) works.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import secrets
from datetime import timedelta
from functools import cache
from urllib.parse import quote

from bot.sandbox.api.repos import repo_name
from bot.sandbox.http import ApiError, RequestContext, Response, Router

CODELOAD = "/_codeload"
LIFETIME = timedelta(minutes=5)


@cache
def _secret() -> bytes:
    return secrets.token_bytes(32)


def _mac(repo: str, sha: str, expires: int) -> str:
    message = f"{repo}\n{sha}\n{expires}".encode()
    return hmac.new(_secret(), message, hashlib.sha256).hexdigest()[:32]


def token_for(repo: str, sha: str, expires: int) -> str:
    return f"{expires}.{_mac(repo, sha, expires)}"


def token_ok(repo: str, sha: str, token: str, now: int) -> bool:
    expires, _, mac = token.partition(".")
    if not expires.isdigit() or int(expires) < now:
        return False
    return hmac.compare_digest(mac, _mac(repo, sha, int(expires)))


def get_tarball(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    record = ctx.require(repo, "read")
    ref = ctx.params.get("ref") or record["default_branch"]
    sha = ctx.git.resolve(repo, ref)
    if sha is None:
        raise ApiError(404, "Not Found")
    expires = int((ctx.clock() + LIFETIME).timestamp())
    url = (
        f"{ctx.base_url}{CODELOAD}/{repo}/legacy.tar.gz/{sha}"
        f"?token={quote(token_for(repo, sha, expires))}"
    )
    return Response(302, None, {"Location": url})


def get_codeload(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    sha = ctx.params["ref"]
    now = int(ctx.clock().timestamp())
    if not token_ok(repo, sha, ctx.arg("token") or "", now) or not ctx.git.exists(repo):
        raise ApiError(404, "Not Found")
    prefix = f"{repo.replace('/', '-')}-{sha[:7]}/"
    _, tar = ctx.git.run(repo, "archive", "--format=tar", f"--prefix={prefix}", sha)
    name = prefix.rstrip("/") + ".tar.gz"
    headers = {
        "Content-Type": "application/x-gzip",
        "Content-Disposition": f"attachment; filename={name}",
    }
    return Response(200, gzip.compress(tar, mtime=0), headers)


def routes(router: Router) -> None:
    base = "/repos/{owner}/{repo}/tarball"
    router.add("GET", base, get_tarball)
    router.add("GET", base + "/{ref+}", get_tarball)
    router.add("GET", CODELOAD + "/{owner}/{repo}/legacy.tar.gz/{ref}", get_codeload)
