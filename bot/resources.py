"""Where the files shipped beside the code live: JSON Schemas and default policies.

In a source checkout (and an editable install) they are the top-level `schemas/` and
`policies/` folders; in a wheel they are packaged as `bot/_data/...`.
"""

from __future__ import annotations

from pathlib import Path

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
