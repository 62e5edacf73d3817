"""Sites (where an image lives) and changes (which characters to write), shared by the updaters.

Each updater module finds `Site`s in a `Doc`; a site knows which repositories it answers to
and how to turn a `Bump` into `Change`s. A change is "write these characters over that span"
(or "insert this line here"), computed against the original text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.core.manifests.image import ImageRef, format_image, parse_image, same_repository
from bot.core.manifests.locate import (
    Doc,
    Node,
    Slot,
    Visit,
    is_mapping,
    is_scalar,
    items,
    join_path,
)
from bot.core.manifests.model import Bump, ImageSite
from bot.core.manifests.scalar import render
from bot.errors import ConfigError, Problem


@dataclass(frozen=True)
class Change:
    """Write `text` over ``original[start:end]``; `new` is the value that ends up there."""

    start: int
    end: int
    text: str
    new: str
    old: str
    kind: str
    path: str
    line: int
    col: int
    document: int
    value_at: int = 0  # where the value's token starts inside `text`
    inserted: bool = False


@dataclass(frozen=True)
class Site:
    """One image site in one document, with the planner that edits it."""

    kind: str
    doc: Doc
    anchor: Slot  # the slot that identifies the site (and where it is reported)
    image: ImageRef  # the image as it stands (effective repository, tag, digest)
    names: tuple[str, ...]  # repositories this site answers to
    planner: Callable[[Bump], list[Change]] = field(compare=False)
    wildcard: bool = False  # a configured YAML path holding a bare tag: answers to any bump

    def matches(self, bump: Bump) -> bool:
        return self.wildcard or any(same_repository(n, bump.image) for n in self.names if n)

    def report(self) -> ImageSite:
        a = self.anchor
        return ImageSite(
            self.doc.filename, a.path, a.line, a.col, self.kind, self.image, self.doc.index
        )


def refuse(doc: Doc, slot: Slot, message: str) -> ConfigError:
    return ConfigError(Problem(f"{slot.path}: {message}", doc.filename, slot.line, slot.col))


def replace(doc: Doc, slot: Slot, value: str, kind: str) -> list[Change]:
    """Change the scalar at `slot` to `value`, keeping its style; nothing if it already is."""
    if slot.value == value and slot.style != "*":
        return []
    if slot.style == "*":
        if slot.value == value:
            return []
        raise refuse(doc, slot, "the value is an alias (*anchor); edit the anchored value instead")
    if slot.style in ("|", ">"):
        raise refuse(doc, slot, "the value is a block scalar (| or >); refusing to rewrite it")
    text = render(value, slot.style, in_flow=slot.in_flow, old=slot.value)
    start, end, value_at = slot.start, slot.end, 0
    if start == end:  # an empty (null) value right after `key:`: give the new one room
        while end < len(doc.text) and doc.text[end] in " \t":
            end += 1
        text = " " + text + (" " if doc.text[end : end + 1] == "#" else "")
        value_at = 1
    return [
        Change(
            start,
            end,
            text,
            value,
            slot.value,
            kind,
            slot.path,
            slot.line,
            slot.col,
            doc.index,
            value_at,
        )
    ]


def _last_end(doc: Doc, node: Node) -> int:
    if is_scalar(node) or getattr(node, "flow_style", False) or not node.value:
        return doc.offset(node.end_mark)
    last = node.value[-1]
    return _last_end(doc, last[1] if isinstance(last, tuple) else last)


def _insert_flow(doc: Doc, mapping: Visit, key: str, value: str, kind: str) -> Change:
    """``{a: 1}`` -> ``{a: 1, key: value}``: the new entry goes right after the last value."""
    last_value = list(items(mapping.node))[-1][2]
    at = _last_end(doc, last_value)
    prefix = f", {key}: "
    token = render(value, "", in_flow=True)
    line = doc.text.count("\n", 0, at) + 1
    col = at - (doc.text.rfind("\n", 0, at) + 1) + len(prefix) + 1
    path = join_path(mapping.path, key)
    return Change(
        at,
        at,
        prefix + token,
        value,
        "",
        kind,
        path,
        line,
        col,
        doc.index,
        len(prefix),
        inserted=True,
    )


def insert_key(doc: Doc, mapping: Visit, key: str, value: str, kind: str) -> list[Change]:
    """Add ``key: value`` as the last entry of a mapping: a new line indented like the other
    keys of a block mapping, or ``, key: value`` before the ``}`` of a flow mapping."""
    node = mapping.node
    entries = list(items(node))
    if not is_mapping(node) or not entries:
        line, col = doc.line(node.start_mark), node.start_mark.column + 1
        message = f"{mapping.path or '<root>'}: cannot add {key!r} to an empty mapping"
        raise ConfigError(Problem(message, doc.filename, line, col))
    if getattr(node, "flow_style", False):
        return [_insert_flow(doc, mapping, key, value, kind)]
    text = doc.text
    indent = " " * entries[0][1].start_mark.column
    end = _last_end(doc, node)
    newline = text.find("\n", end)
    ending = newline if newline >= 0 else text.rfind("\n", 0, end)
    eol = "\r\n" if ending > 0 and text[ending - 1] == "\r" else "\n"
    body = f"{indent}{key}: "
    token = render(value, "")
    if newline < 0:
        at, chunk, value_at = len(text), f"{eol}{body}{token}", len(eol) + len(body)
    else:
        at, chunk, value_at = newline + 1, f"{body}{token}{eol}", len(body)
    line = text.count("\n", 0, at) + (1 if newline >= 0 else 2)
    path = join_path(mapping.path, key)
    change = Change(
        at,
        at,
        chunk,
        value,
        "",
        kind,
        path,
        line,
        len(indent) + 1,
        doc.index,
        value_at,
        inserted=True,
    )
    return [change]


def pinned(doc: Doc, slot: Slot, digest: str) -> ConfigError:
    return refuse(
        doc,
        slot,
        f"the image is pinned by digest {digest}; a tag-only bump would leave that digest in "
        "force - give the digest too",
    )


def check_pin(doc: Doc, tag: Slot | None, digest: Slot | None, bump: Bump) -> None:
    """A tag-only bump must not change the tag of a site pinned by a (non-empty) digest."""
    if bump.digest is not None or bump.tag is None or digest is None or not digest.value:
        return
    if tag is None or tag.value != bump.tag:
        raise pinned(doc, digest, digest.value)


def bumped_ref(doc: Doc, slot: Slot, ref: ImageRef, bump: Bump) -> ImageRef:
    """`ref` after `bump`: new name, tag and digest; refuses a tag bump under a digest pin."""
    repository = bump.new_name or ref.repository
    tag = bump.tag if bump.tag is not None else ref.tag
    digest = (bump.digest or None) if bump.digest is not None else ref.digest  # "": unpin
    if bump.digest is None and ref.digest and bump.tag is not None and bump.tag != ref.tag:
        raise pinned(doc, slot, ref.digest)
    return ImageRef(repository, tag, digest)


def plan_ref(doc: Doc, slot: Slot, bump: Bump, kind: str, prefix: str = "") -> list[Change]:
    """Bump an ``[prefix]repo[:tag][@digest]`` string scalar, keeping registry and name."""
    ref = parse_image(slot.value[len(prefix) :])
    new = bumped_ref(doc, slot, ref, bump)
    return replace(doc, slot, prefix + format_image(new.repository, new.tag, new.digest), kind)


def ref_site(kind: str, doc: Doc, slot: Slot, prefix: str = "") -> Site:
    """A site for a string scalar holding a whole image reference."""
    ref = parse_image(slot.value[len(prefix) :])
    names = (ref.repository, prefix[:-1]) if prefix else (ref.repository,)

    def planner(bump: Bump) -> list[Change]:
        return plan_ref(doc, slot, bump, kind, prefix)

    return Site(kind, doc, slot, ref, names, planner)
