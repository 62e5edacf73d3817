"""Where the sandbox keeps GitHub's rules, inside the store's ``extra`` collection.

- ``extra["protection"][repo][branch]``: classic branch protection, as GitHub answers
  ``GET .../branches/{b}/protection`` (without URLs).
- ``extra["rulesets"][repo][id]``: repository rulesets, as GitHub answers
  ``GET .../rulesets/{id}`` (without links).
- ``extra["rules_settings"]``: how strict the sandbox is. ``checks_apps_only`` (default
  False: many fixtures post CI check runs with a user token, as the stand-in "CI" App)
  refuses check-run writes from anything but an App installation, as GitHub does;
  ``search_lag_s`` (default 0) is how long a change takes to reach the search index;
  ``search_per_minute`` (default 0: off) is the search rate limit (GitHub: 30);
  ``content_per_minute`` (default 0: off) content-creating requests per identity per
  ``content_window_s`` seconds (default 60) before the secondary limit answers 403
  (`bot.sandbox.rules.content_limit`; GitHub: 80 a minute).
"""

from __future__ import annotations

from typing import Any

from bot.sandbox.store import Store

DEFAULT_SETTINGS: dict[str, Any] = {
    "checks_apps_only": False,
    "search_lag_s": 0.0,
    "search_per_minute": 0,
    "content_per_minute": 0,
    "content_window_s": 60.0,
}


def settings(store: Store) -> dict[str, Any]:
    return {**DEFAULT_SETTINGS, **store.data["extra"].get("rules_settings", {})}


def configure(store: Store, **values: Any) -> dict[str, Any]:
    """Change the settings (unknown names refused); the settings after the change."""
    unknown = set(values) - set(DEFAULT_SETTINGS)
    if unknown:
        raise ValueError(f"unknown rules settings: {sorted(unknown)}")
    with store.transaction() as data:
        data["extra"].setdefault("rules_settings", {}).update(values)
    return settings(store)


def protection(store: Store, repo: str, branch: str) -> dict[str, Any] | None:
    found = store.data["extra"].get("protection", {}).get(repo, {}).get(branch)
    return found if isinstance(found, dict) else None


def set_protection(store: Store, repo: str, branch: str, value: dict[str, Any] | None) -> None:
    per_repo = store.data["extra"].setdefault("protection", {}).setdefault(repo, {})
    if value is None:
        per_repo.pop(branch, None)
    else:
        per_repo[branch] = value


def rulesets(store: Store, repo: str) -> dict[str, dict[str, Any]]:
    """The repository's rulesets by id (a live dict: change it inside a transaction)."""
    found: dict[str, dict[str, Any]] = (
        store.data["extra"].setdefault("rulesets", {}).setdefault(repo, {})
    )
    return found
