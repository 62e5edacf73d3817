"""GitHub Releases and annotated tags over the REST API (the calls the Release action makes).

Adopt before create: a Release is found by its recorded id, else by its tag in the list
(drafts are listed only there: `GET /releases/tags/{tag}` answers published ones only); a
tag ref that exists is adopted when it names (through its tag object) the commit wanted,
and refused otherwise, so a re-run after a crash between the tag and the publish goes on
where it stopped and never makes a second of either. Writes are not retried blindly on a
5xx (the next round adopts what was made).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from bot.errors import ExternalError


class Releases:
    def __init__(self, client: Any) -> None:
        self.client = client

    def _url(self, path: str) -> str:
        return f"/repos/{self.client.repo}{path}"

    def find(self, tag: str, known_id: int = 0) -> dict[str, Any] | None:
        """The Release with `tag` (the recorded id first), drafts included; None if none."""
        if known_id:
            status, body, _ = self.client._get(self._url(f"/releases/{known_id}"))
            if status == 200 and isinstance(body, dict) and body.get("tag_name") == tag:
                return body
        for rel in self.client._pages(self._url("/releases"), {}):
            if isinstance(rel, dict) and rel.get("tag_name") == tag:
                return rel
        return None

    def create(self, fields: dict[str, Any]) -> dict[str, Any]:
        return self._write("POST", self._url("/releases"), fields, 201, "create the Release")

    def update(self, release_id: int, fields: dict[str, Any]) -> dict[str, Any]:
        url = self._url(f"/releases/{release_id}")
        return self._write("PATCH", url, fields, 200, "update the Release")

    def _write(self, method: str, url: str, body: dict[str, Any], ok: int, what: str) -> Any:
        response = self.client._call(method, url, retry=False, json=body)
        if response.status_code != ok:
            raise self.client._fail(response, what)
        return response.json()

    def tag_target(self, tag: str) -> str | None:
        """The commit `refs/tags/<tag>` names (through an annotated tag), None if no such ref."""
        status, body, _ = self.client._get(self._url(f"/git/ref/tags/{quote(tag)}"))
        if status == 404:
            return None
        if status != 200 or not isinstance(body, dict):
            raise ExternalError("GitHub", f"read the tag {tag}: {status}", status=status)
        obj = body.get("object") or {}
        if obj.get("type") != "tag":
            return str(obj.get("sha") or "")
        found = self.client._get_ok(self._url(f"/git/tags/{obj.get('sha')}"), what="read a tag")
        return str((found.get("object") or {}).get("sha") or "")

    def annotated_tag(self, tag: str, sha: str, message: str) -> bool:
        """Make the annotated tag `tag` on commit `sha` (tag object, then `refs/tags/<tag>`);
        False when it already existed there. A tag on another commit is an error."""
        where = self.tag_target(tag)
        if where == sha:
            return False
        if where is not None:
            why = f"the tag {tag} already names {where[:12]}, not the merge commit {sha[:12]}"
            raise ExternalError("GitHub", why + ": delete or rename it")
        obj = {"tag": tag, "message": message, "object": sha, "type": "commit"}
        made = self._write("POST", self._url("/git/tags"), obj, 201, f"create the tag {tag}")
        ref = {"ref": f"refs/tags/{tag}", "sha": made["sha"]}
        response = self.client._call("POST", self._url("/git/refs"), retry=False, json=ref)
        if response.status_code == 422 and self.tag_target(tag) == sha:
            return False  # made meanwhile by an earlier attempt: adopted
        if response.status_code != 201:
            raise self.client._fail(response, f"create refs/tags/{tag}")
        return True
