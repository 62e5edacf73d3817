"""Feature-flag definition files, read into plain `Flag` values (pure: text in, values out).

Two formats are understood:

- OpenFeature **flagd** flag definitions (JSON or YAML with a `flags:` *mapping*), validated
  against the flagd JSON Schema vendored in `schemas/flagd/` (see its NOTICE.md). Owner and
  expiry come from each flag's `metadata` (`owner`, `expires`).
- A simple **list**: `flags:` as a list of `{name, owner, expires, default | state}`.

A flag is *on for everyone* when it is enabled, has no targeting rules and its default is
on: flagd `state: ENABLED`, no `targeting`, and `defaultVariant` naming the boolean `true`
variant; list `default: true` (or `state: on`/`ENABLED`). Every problem is a `Problem` with
the file, line and column; nothing here raises for bad input.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from bot.config.yaml_source import YamlDoc, read_yaml
from bot.errors import Problem

MAX_FLAGS = 5000  # per file; beyond this the file is refused (bounded work per input)
LIST_KEYS = ("name", "owner", "expires", "default", "state", "description")
ON_STATES = ("on", "enabled", "true")
OFF_STATES = ("off", "disabled", "false")


@dataclass(frozen=True)
class Flag:
    """One flag as defined in one file."""

    name: str
    file: str
    line: int = 1
    col: int = 1
    owner: str = ""
    expires: dt.date | None = None
    on_for_everyone: bool = False
    body: str = ""  # canonical JSON of the definition (tells a changed flag from a moved one)

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and self.expires < today


@dataclass(frozen=True)
class FlagFile:
    path: str
    flags: tuple[Flag, ...] = ()
    problems: tuple[Problem, ...] = ()


def parse_flag_file(text: str | bytes, path: str) -> FlagFile:
    """The flags one file defines, or the problems that stop it being read."""
    doc, problems = read_yaml(text, path)
    if doc is None:
        return FlagFile(path, problems=tuple(problems))
    data = doc.data
    if not isinstance(data, dict) or "flags" not in data:
        return FlagFile(path, problems=(doc.problem((), "expected a mapping with `flags:`"),))
    raw = data["flags"]
    size = len(raw) if isinstance(raw, list | dict) else 0
    if size > MAX_FLAGS:
        return FlagFile(path, problems=(doc.problem(("flags",), f"more than {MAX_FLAGS} flags"),))
    if isinstance(raw, list):
        return _list_file(doc, raw)
    return _flagd_file(doc)


# -- flagd ----------------------------------------------------------------------------------


@cache
def _flagd_validator() -> Any:
    from jsonschema import Draft7Validator
    from referencing import Registry, Resource

    from bot.resources import shipped_schema

    flags, targeting = shipped_schema("flagd/flags.json"), shipped_schema("flagd/targeting.json")
    registry = Registry().with_resources(
        [(s["$id"], Resource.from_contents(s)) for s in (flags, targeting)]
    )
    # Draft 7 ignores `$id` beside `$ref` (flags.json has both at its root), so the schema is
    # entered through its registered URI: `./targeting.json` then resolves beside it.
    return Draft7Validator({"$ref": flags["$id"]}, registry=registry)


def _flagd_file(doc: YamlDoc) -> FlagFile:
    errors = sorted(_flagd_validator().iter_errors(doc.data), key=lambda e: list(e.path))
    if errors:
        return FlagFile(doc.filename, problems=tuple(_schema_problem(doc, e) for e in errors[:50]))
    flags, problems = [], []
    for name, body in (doc.data.get("flags") or {}).items():
        meta = body.get("metadata") or {}
        line, col = doc.where(("flags", name))
        expires, problem = _date(doc, ("flags", name, "metadata", "expires"), meta.get("expires"))
        problems += [problem] if problem is not None else []
        variants = body.get("variants") or {}
        on = (
            body.get("state") == "ENABLED"
            and not body.get("targeting")
            and variants.get(body.get("defaultVariant")) is True
        )
        owner = str(meta.get("owner") or "").strip()
        flags.append(Flag(str(name), doc.filename, line, col, owner, expires, on, _canon(body)))
    return FlagFile(doc.filename, tuple(flags), tuple(problems))


def _schema_problem(doc: YamlDoc, error: Any) -> Problem:
    path = tuple(error.absolute_path)
    where = ".".join(str(p) for p in path) or "the file"
    message = error.message
    if error.context:  # anyOf/oneOf: the most specific reason
        best = max(error.context, key=lambda e: len(e.absolute_path))
        message = best.message
        path = tuple(best.absolute_path) or path
    return doc.problem(path, f"flagd schema: {where}: {message[:300]}", value=True)


# -- simple list ----------------------------------------------------------------------------


def _list_file(doc: YamlDoc, raw: list[Any]) -> FlagFile:
    flags, problems, seen = [], [], set()
    for index, item in enumerate(raw):
        at = ("flags", index)
        if not isinstance(item, dict):
            problems.append(doc.problem(at, "a flag must be a mapping with `name:`"))
            continue
        unknown = sorted(set(item) - set(LIST_KEYS))
        name = item.get("name")
        if unknown:
            problems.append(doc.problem((*at, unknown[0]), f"unknown key `{unknown[0]}`"))
        if not isinstance(name, str) or not name.strip():
            problems.append(doc.problem(at, "a flag needs a `name:` (text)"))
            continue
        if name in seen:
            problems.append(doc.problem((*at, "name"), f"flag `{name}` is defined twice"))
        seen.add(name)
        expires, problem = _date(doc, (*at, "expires"), item.get("expires"))
        on, state_problem = _list_on(doc, at, item)
        problems += [p for p in (problem, state_problem) if p is not None]
        line, col = doc.where(at)
        owner = str(item.get("owner") or "").strip()
        flags.append(Flag(name, doc.filename, line, col, owner, expires, on, _canon(item)))
    return FlagFile(doc.filename, tuple(flags), tuple(problems))


def _list_on(
    doc: YamlDoc, at: tuple[Any, ...], item: dict[str, Any]
) -> tuple[bool, Problem | None]:
    default, state = item.get("default", False), item.get("state", "on")
    if not isinstance(default, bool):
        return False, doc.problem((*at, "default"), "`default:` must be true or false", value=True)
    text = str(state).lower() if isinstance(state, str | bool) else ""
    if text not in ON_STATES + OFF_STATES:
        return False, doc.problem((*at, "state"), "`state:` must be on or off", value=True)
    return default and text in ON_STATES, None


def _date(doc: YamlDoc, at: tuple[Any, ...], value: Any) -> tuple[dt.date | None, Problem | None]:
    """An expiry: an ISO date (or date-time, whose date counts); absent is None."""
    if value is None or value == "":
        return None, None
    try:
        return dt.date.fromisoformat(str(value)[:10]), None  # a date-time's date counts
    except ValueError:
        return None, doc.problem(
            at, f"expires: {str(value)[:40]!r} is not a date like 2026-12-31", value=True
        )


def _canon(body: Any) -> str:
    return json.dumps(body, sort_keys=True, default=str)
