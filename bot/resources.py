"""Where the files shipped beside the code live: JSON Schemas and default policies.

In a source checkout (and an editable install) they are the top-level `schemas/` and
`policies/` folders; in a wheel they are packaged as `bot/_data/...`.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    packaged = _ROOT / "_data" / name
    if packaged.is_dir():
        return packaged
    return _ROOT.parent / name


def schema_path(name: str) -> Path:
    """Path of `schemas/<name>` (e.g. ``config.schema.json``)."""
    return _data_dir("schemas") / name


def policy_path(name: str) -> Path:
    """Path of `policies/<name>` (e.g. ``default.yml``)."""
    return _data_dir("policies") / name


@cache
def shipped_schema(name: str) -> dict[str, Any]:
    """The JSON of `schemas/<name>` (e.g. ``k8s/deployment.json``), read once per process:
    the pure core asks for a shipped schema by name and never opens a file itself."""
    loaded: dict[str, Any] = json.loads(schema_path(name).read_text(encoding="utf-8"))
    return loaded
