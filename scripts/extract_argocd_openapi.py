"""Extract the part of Argo CD's published API description the bot reads.

Usage: ``python scripts/extract_argocd_openapi.py SRC OUT``

SRC is ``assets/swagger.json`` of the ``argoproj/argo-cd`` repository (Swagger 2.0; the
commit that made the committed subset is named in ``schemas/argocd/NOTICE.md``). OUT is
written as indented JSON holding only the operations in ``OPERATIONS`` (their ``200`` and
``default`` responses) and the ``definitions`` they reference, transitively, unchanged.
Re-running with the same SRC reproduces the file byte for byte.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

# (method, path) of every Argo CD operation the bot calls and the sandbox serves.
OPERATIONS: tuple[tuple[str, str], ...] = (
    ("get", "/api/v1/applications"),
    ("get", "/api/v1/applications/{name}"),
)
_REF = re.compile(r'"#/definitions/([^"]+)"')


def _closure(definitions: dict[str, Any], roots: list[str]) -> list[str]:
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += _REF.findall(json.dumps(definitions[name]))
    return sorted(seen)


def extract(source: dict[str, Any]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for method, path in OPERATIONS:
        operation = source["paths"][path][method]
        paths.setdefault(path, {})[method] = operation
    roots = _REF.findall(json.dumps(paths))
    definitions = source["definitions"]
    return {
        "swagger": source["swagger"],
        "info": source["info"],
        "consumes": source["consumes"],
        "produces": source["produces"],
        "paths": paths,
        "definitions": {n: definitions[n] for n in _closure(definitions, roots)},
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    source = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    text = json.dumps(extract(source), indent=1, sort_keys=True) + "\n"
    Path(argv[1]).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
