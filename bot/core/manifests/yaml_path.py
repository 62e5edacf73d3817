"""Configured YAML paths such as ``spec.template.spec.containers[name=app].image``.

Grammar: keys separated by dots, each optionally followed by selectors: ``[N]`` (index),
``[key=value]`` (the items whose ``key`` equals ``value``), ``[*]`` (every item) or
``["a.key/with.dots"]`` (a mapping key that contains dots).
A path's target holds either a whole image reference (bumped when its repository matches)
or a bare tag / digest, which the configuration ties to the image, so it is always set.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.manifests.image import ImageRef, looks_like_image, parse_image, same_repository
from bot.core.manifests.locate import Doc, Slot, Visit, get, is_mapping, is_scalar, slot
from bot.core.manifests.model import Bump
from bot.core.manifests.plan import Change, Site, pinned, plan_ref, refuse, replace
from bot.errors import ConfigError, Problem

KIND = "yaml_path"
_SEGMENT = re.compile(r"([^.\[\]]*)((?:\[[^\]]*\])*)")
_SELECTOR = re.compile(r"\[([^\]]*)\]")
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9+._-]*:[0-9A-Fa-f]{32,}")


@dataclass(frozen=True)
class Step:
    key: str | None = None  # a mapping key
    index: int | None = None  # [N]
    match: tuple[str, str] | None = None  # [key=value]
    every: bool = False  # [*]


def _segments(path: str) -> list[str]:
    """Split on dots outside brackets: ``images[name=ghcr.io/a].newTag`` has two segments."""
    segments, current, depth = [], "", 0
    for ch in path:
        depth += {"[": 1, "]": -1}.get(ch, 0)
        if ch == "." and depth == 0:
            segments.append(current)
            current = ""
        else:
            current += ch
    segments.append(current)
    return segments


def parse_path(path: str) -> tuple[Step, ...]:
    """Split a YAML path into steps; a malformed path raises ConfigError."""
    steps: list[Step] = []
    for segment in _segments(path):
        found = _SEGMENT.fullmatch(segment)
        if found is None or (not found.group(1) and not found.group(2)):
            raise ConfigError(Problem(f"malformed YAML path {path!r} (at {segment!r})"))
        if found.group(1):
            steps.append(Step(key=found.group(1)))
        for selector in _SELECTOR.findall(found.group(2)):
            steps.append(_selector(path, selector.strip()))
    return tuple(steps)


def _selector(path: str, text: str) -> Step:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return Step(key=text[1:-1])  # ["app.kubernetes.io/version"]: a key with dots
    if text == "*":
        return Step(every=True)
    if re.fullmatch(r"-?[0-9]+", text):
        return Step(index=int(text))
    key, eq, value = text.partition("=")
    if not eq or not key.strip():
        raise ConfigError(Problem(f"malformed selector [{text}] in YAML path {path!r}"))
    return Step(match=(key.strip(), value.strip().strip("'\"")))


def _step(doc: Doc, visit: Visit, step: Step) -> list[Visit]:
    if visit.alias:
        return []
    if step.key is not None:
        kid = doc.child(visit, step.key)
        return [kid] if kid is not None else []
    kids = [k for k in doc.children(visit) if k.key is None]
    if step.every:
        return kids
    if step.index is not None:
        return [kids[step.index]] if -len(kids) <= step.index < len(kids) else []
    assert step.match is not None
    key, value = step.match
    return [k for k in kids if is_mapping(k.node) and _scalar_is(get(k.node, key), value)]


def _scalar_is(node: object, value: str) -> bool:
    return is_scalar(node) and str(node.value) == value  # type: ignore[attr-defined]


def resolve(doc: Doc, path: str) -> list[Visit]:
    """Every node the path reaches in this document."""
    current = [doc.top]
    for step in parse_path(path):
        current = [found for visit in current for found in _step(doc, visit, step)]
    return current


def _plan(doc: Doc, located: Slot, bump: Bump) -> list[Change]:
    value = located.value
    if _DIGEST.fullmatch(value):
        if bump.digest is not None:
            return replace(doc, located, bump.digest, KIND)
        raise pinned(doc, located, value)
    if "/" in value or ":" in value or "@" in value or same_repository(value, bump.image):
        if looks_like_image(value) and same_repository(parse_image(value).repository, bump.image):
            return plan_ref(doc, located, bump, KIND)
        return []
    if bump.tag is None:
        raise refuse(doc, located, f"holds a tag ({value!r}) but the bump has no tag")
    return replace(doc, located, bump.tag, KIND)


def _site(doc: Doc, located: Slot) -> Site:
    value = located.value
    is_ref = ("/" in value or ":" in value) and not _DIGEST.fullmatch(value)
    if is_ref and looks_like_image(value):
        image = parse_image(value)
        names: tuple[str, ...] = (image.repository,)
    else:
        image = ImageRef(
            "",
            None if _DIGEST.fullmatch(value) else value,
            value if _DIGEST.fullmatch(value) else None,
        )
        names = ()

    def planner(bump: Bump) -> list[Change]:
        return _plan(doc, located, bump)

    return Site(KIND, doc, located, image, names, planner, wildcard=not names)


def find(doc: Doc, paths: Sequence[str]) -> list[Site]:
    sites: list[Site] = []
    for path in paths:
        for visit in resolve(doc, path):
            located = slot(doc, visit)
            if located is None:
                raise ConfigError(
                    Problem(
                        f"YAML path {path!r} names a mapping or list, not a value",
                        doc.filename,
                        doc.line(visit.node.start_mark),
                        visit.node.start_mark.column + 1,
                    )
                )
            sites.append(_site(doc, located))
    return sites
