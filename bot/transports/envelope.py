"""The few fields of a webhook payload that routing needs, read without building the rest.

A 27 KB `pull_request` delivery costs ~80 µs to turn into Python objects with `json.loads`
and ~7 µs to decode into `Envelope` with msgspec, which checks the whole document's JSON
syntax but builds only these fields (everything else is skipped in C). Routing, the
duplicate check and the log line work from the envelope; the full payload is parsed only
for the events that need more than it holds (`FULL_PARSE`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import msgspec

# installation events list repositories; check runs/suites carry the gate a button names
FULL_PARSE = frozenset({"installation", "installation_repositories", "check_run", "check_suite"})


class _Repository(msgspec.Struct):
    full_name: Any = None


class _Installation(msgspec.Struct):
    id: Any = None


class _Sender(msgspec.Struct):
    login: Any = None


class _Numbered(msgspec.Struct):
    number: Any = None


class Envelope(msgspec.Struct):
    action: Any = None
    installation: _Installation | None = None
    repository: _Repository | None = None
    sender: _Sender | None = None
    pull_request: _Numbered | None = None
    issue: _Numbered | None = None


_DECODER = msgspec.json.Decoder(Envelope)


class PayloadError(ValueError):
    """The body is not a JSON object of the expected shape (`reason` says which)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def json_text(body: bytes, mimetype: str) -> bytes:
    """The JSON document of a body: itself, or the `payload` field of GitHub's form encoding."""
    if mimetype != "application/x-www-form-urlencoded":
        return body
    values = parse_qs(body.decode("utf-8", "replace")).get("payload")
    if not values:
        raise PayloadError("payload is not a JSON object")
    return values[0].encode("utf-8", "surrogatepass")


def envelope(body: bytes, mimetype: str) -> dict[str, Any]:
    """The routing fields of a payload as plain dicts (what `routing` reads), or
    `PayloadError`. Only these fields are built; the rest is syntax-checked and skipped."""
    try:
        found = _DECODER.decode(json_text(body, mimetype))
    except msgspec.ValidationError as exc:  # JSON, but not an object, or a field of another shape
        nested = "- at `$" in str(exc)
        raise PayloadError(
            "payload not understood" if nested else "payload is not a JSON object"
        ) from exc
    except (msgspec.DecodeError, RecursionError, UnicodeError) as exc:
        raise PayloadError("payload is not a JSON object") from exc
    doc: dict[str, Any] = msgspec.to_builtins(found)
    return {key: value for key, value in doc.items() if value is not None}
