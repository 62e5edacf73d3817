"""Fault-matrix and crash runs of the scenario, shared by the tests and
`bench/bench_reliability.py` (which runs the full counts)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scenario import Knobs, Run, final_state, ledger_parents, play

from bot.sandbox.faults import FaultInjector, FaultPlan, install
from bot.sandbox.runner import Sandbox, run_sandbox

# p=0.2 for each bot request: 500/502/503, secondary rate limit (Retry-After), timeout
TRANSIENT = (500, 502, 503, "secondary_rate_limit", "timeout")
CLIENT_TIMEOUT = 0.5  # the bot's HTTP timeout in these runs (a real answer takes ~10 ms)
SERVER_STALL = 0.8


def transient_plan(seed: int, probability: float = 0.2) -> FaultPlan:
    return FaultPlan(seed=seed, probability=probability, kinds=TRANSIENT, timeout_s=SERVER_STALL)


def after_write_plan(seed: int, probability: float = 0.2) -> FaultPlan:
    """Writes are applied, then answered 502 (reads untouched)."""
    return FaultPlan(
        seed=seed, probability=0.0, kinds=("after",), per_endpoint={"[!G]* *": probability}
    )


# applied to every fresh sandbox before the scenario (bench_reliability.py --rules)
SETUPS: list[Callable[[Sandbox], None]] = []
APP_BYPASS = {"actor_id": 1, "actor_type": "Integration", "bypass_mode": "always"}
ADMIN_BYPASS = {"actor_id": 5, "actor_type": "RepositoryRole", "bypass_mode": "always"}


def protected(sandbox: Sandbox) -> None:
    """GitHub's rules on the scenario's base branch (where its stages commit): changes only
    through an approved pull request, no force-push, no deletion, linear history off; the
    App and repository admins (the release managers' pushes) on the bypass list."""
    from lifecycle_sandbox import REPO

    from bot.sandbox.rules import state

    rules = [
        {"type": "pull_request", "parameters": {"required_approving_review_count": 1}},
        {"type": "non_fast_forward"},
        {"type": "deletion"},
    ]
    with sandbox.store.transaction():
        state.rulesets(sandbox.store, REPO)["1"] = {
            "name": "protect base", "target": "branch", "enforcement": "active",
            "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}},
            "rules": rules, "bypass_actors": [APP_BYPASS, ADMIN_BYPASS],
        }  # fmt: skip


RULES = {"protected": protected}


@contextmanager
def fresh_sandbox() -> Iterator[Sandbox]:
    with (
        tempfile.TemporaryDirectory(prefix="reliability-") as tmp,
        run_sandbox(Path(tmp) / "sb", durable=False) as sb,
    ):
        for setup in SETUPS:
            setup(sb)
        yield sb


@dataclass
class Outcome:
    run: Run
    state: dict[str, Any]
    injector: FaultInjector | None
    linear: bool


def faulted(sandbox: Sandbox, plan: FaultPlan | None) -> Outcome:
    """The scenario with `plan` injected on every bot request (people's actions in the
    scenario go in-process and are never faulted)."""
    knobs = Knobs(timeout=CLIENT_TIMEOUT if plan else 30.0)
    injector = install(sandbox.server, plan) if plan else None
    run = play(sandbox, knobs=knobs)
    if injector is not None:
        sandbox.server.before_request = injector.then
    parents = ledger_parents(run)
    linear = all(len(p) <= 1 for p in parents) and sum(1 for p in parents if not p) == 1
    return Outcome(run, final_state(run), injector, linear)


def crashed_at(sandbox: Sandbox, k: int) -> Outcome:
    """The scenario with the bot's process dying instead of sending its k-th request
    (0-based, counted over the whole scenario); the next reconcile is the restart."""
    knobs = Knobs(crash_at=k)
    crashes: list[str] = []
    run = play(sandbox, knobs=knobs, before=lambda r: setattr(r, "on_crash", crashes.append))
    parents = ledger_parents(run)
    linear = all(len(p) <= 1 for p in parents) and sum(1 for p in parents if not p) == 1
    outcome = Outcome(run, final_state(run), None, linear)
    outcome.run.prs["crashes"] = len(crashes)
    return outcome


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two states differ, as `path: left != right` (for assertion messages)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for key in sorted(set(a) | set(b), key=str):
            out += differences(a.get(key), b.get(key), f"{path}/{key}")
        return out
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


BUGS: dict[str, str] = {}  # open bugs by letter; A to H are fixed (docs/reliability.md)


def explained(state: dict[str, Any], diffs: list[str]) -> str:
    """The reported, not yet fixed bugs (`BUGS`) that explain every difference of a run
    from the fault-free one, e.g. "H"; "" when there is none or one is unexplained (none
    is open now, so every difference fails its test)."""
    return ""
