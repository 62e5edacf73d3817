"""Write a scalar value back into YAML text without disturbing anything around it.

`render` produces the characters for a new value in the style of the old token: double- or
single-quoted stays quoted; plain stays plain unless the plain form would read back as
something other than the same string under YAML 1.1 (what Kubernetes' go-yaml speaks) or
YAML 1.2 - then it is double-quoted.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Characters that can appear in a plain scalar without any syntax risk in block or flow context.
_PLAIN_SAFE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-/+@:=]*")
# YAML 1.1 words go-yaml v2 reads as booleans but PyYAML-style resolvers do not.
_GO_YAML_BOOLS = frozenset({"y", "Y", "n", "N"})
_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\n": "\\n",
    "\t": "\\t",
    "\r": "\\r",
    "\0": "\\0",
    "\x85": "\\N",
    "\u2028": "\\L",
    "\u2029": "\\P",
}


@lru_cache(maxsize=4096)
def plain_is_string(value: str) -> bool:
    """True when `value` written plain reads back as exactly this string everywhere."""
    if not _PLAIN_SAFE.fullmatch(value) or value.endswith(":") or value in _GO_YAML_BOOLS:
        return False
    from ruamel.yaml.nodes import ScalarNode
    from ruamel.yaml.resolver import VersionedResolver

    for version in ((1, 1), (1, 2)):
        tag = VersionedResolver(version=version).resolve(ScalarNode, value, (True, False))
        if str(tag) != "tag:yaml.org,2002:str":
            return False
    return True


def _printable(ch: str) -> bool:
    code = ord(ch)
    if ch in "\t\n":
        return False
    return (
        0x20 <= code <= 0x7E
        or 0xA0 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    ) and code not in (0x85, 0x2028, 0x2029, 0xFEFF)


def double_quoted(value: str) -> str:
    out = []
    for ch in value:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif _printable(ch):
            out.append(ch)
        elif ord(ch) <= 0xFF:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def single_quoted(value: str) -> str | None:
    """The single-quoted form, or None when single quotes cannot carry the value on one line."""
    if not all(_printable(ch) for ch in value) or value != value.strip():
        return None
    return "'" + value.replace("'", "''") + "'"


def render(value: str, style: str, *, in_flow: bool = False, old: str = "") -> str:
    """The token text for `value`, keeping `style` ('' plain, "'" or '"') where it is safe.

    Inside a flow collection (``{image: a/b:1}``) some YAML 1.1 parsers reject a plain ``:``;
    a plain value there keeps its style only if the old plain value already had one.
    """
    if style == '"':
        return double_quoted(value)
    if style == "'":
        return single_quoted(value) or double_quoted(value)
    if plain_is_string(value) and not (in_flow and ":" in value and ":" not in old):
        return value
    return double_quoted(value)
