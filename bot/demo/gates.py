"""The demo's optional gates: feature flags and database migrations.

The release manager turns both on in the demo repository (`with_optional_gates`) and adds
its flag file; train 1 carries one PR that adds a flag and one that adds a migration, so
its train PR shows `release-train/flags` and `release-train/migrations` check runs, which
the story narrates (`show_gates`) at departure and at the merge.
"""

from __future__ import annotations

import json
import re
from typing import Any

FLAGS_PATH = "flags/shop.flagd.json"
MIGRATION_PATH = "services/frontend/db/migrations/0002_round_prices.up.sql"
MIGRATION_SQL = "ALTER TABLE prices ALTER COLUMN amount TYPE numeric(12, 2);\n"
APPROVERS = "acme/reviewers"
GATE_NAMES = ("release-train/flags", "release-train/migrations")
OPTIONAL_GATES = f"""\
  flags:
    files: ["flags/*.flagd.json"]
    require: [owner, expires]
  migrations:
    approvers: {APPROVERS}
    windows:
      - cron: "0 9 * * 1-5"
        duration: 8h
        timezone: Europe/Berlin
"""


def _flag(owner: str, expires: str, on: bool = False) -> dict[str, Any]:
    return {
        "state": "ENABLED",
        "variants": {"on": True, "off": False},
        "defaultVariant": "on" if on else "off",
        "metadata": {"owner": owner, "expires": expires},
    }


def flag_file(*extra: tuple[str, dict[str, Any]]) -> str:
    """The shop's flagd file: the search flag it already has, and `extra` flags."""
    flags = {"new-search": _flag("team-search", "2026-09-30"), **dict(extra)}
    return json.dumps({"flags": flags}, indent=2) + "\n"


BASE_FLAGS = flag_file()
# what "Faster checkout" ships behind: a new flag, off by default, with an owner and expiry
CART_CACHE_FLAGS = flag_file(("cart-total-cache", _flag("team-checkout", "2026-06-30")))


def with_optional_gates(text: str) -> str:
    """The config with `gates.flags` and `gates.migrations` (kept if already set)."""
    if re.search(r"^[ \t]+(flags|migrations):", text, re.MULTILINE):
        return text
    updated, count = re.subn(
        r"^gates:[ \t]*\n", lambda m: m.group(0) + OPTIONAL_GATES, text, count=1, flags=re.M
    )
    return updated if count else text.rstrip("\n") + f"\n\ngates:\n{OPTIONAL_GATES}"


def gate_runs(world: Any, number: int) -> dict[str, dict[str, str]]:
    """The newest `release-train/flags` and `release-train/migrations` check runs on a
    PR's head: name -> {conclusion, title}."""
    sha = str(world.pull(number)["head"]["sha"])
    found = world.get(f"/commits/{sha}/check-runs?per_page=100")
    runs = sorted(found.get("check_runs") or [], key=lambda r: int(r.get("id") or 0))
    out: dict[str, dict[str, str]] = {}
    for run in runs:
        if run.get("name") in GATE_NAMES:
            output = run.get("output") or {}
            conclusion = run.get("conclusion") or run.get("status") or ""
            out[str(run["name"])] = {
                "conclusion": str(conclusion),
                "title": str(output.get("title") or ""),
            }
    return out


def show_gates(world: Any, number: int) -> dict[str, dict[str, str]]:
    """Narrate the two gates' check runs on train PR #`number` (conclusion and title)."""
    runs = gate_runs(world, number)
    for name in GATE_NAMES:
        run = runs.get(name)
        text = f"{run['conclusion']}: {run['title'].split(';')[0]}" if run else "no check run"
        world.say("demo", f"#{number} {name} {text}")
    return runs
