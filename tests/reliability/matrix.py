"""Fault-matrix and crash runs of the scenario, shared by the tests and
`bench/bench_reliability.py` (which runs the full counts)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
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


@contextmanager
def fresh_sandbox() -> Iterator[Sandbox]:
    with (
        tempfile.TemporaryDirectory(prefix="reliability-") as tmp,
        run_sandbox(Path(tmp) / "sb", durable=False) as sb,
    ):
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


BUGS = {
    "F": "a deployment POST answered 502 after it was applied is sent again: an orphan "
    "deployment with no status (bot/adapters/gitdata.py create_deployment retries its POST)",
    "G": "a crash after a stage's verdict is recorded loses its stage-completed ledger event",
    "H": "a crash after a bump commit lands, before the ledger records it: the restart records "
    "the bump as tag -> tag, so the rollback does not revert it (production stays bumped)",
}


def _tag_to_same_tag(state: dict[str, Any]) -> bool:
    """Some promotion step recorded a bump whose old and new tags are the same (bug H)."""
    for record in state.get("ledger", {}).values():
        for step in (record.get("promotion") or {}).get("steps", []):
            if any(bump[1] == bump[2] for bump in step[3]):
                return True
    return False


def explained(state: dict[str, Any], diffs: list[str]) -> str:
    """The reported, not yet fixed bugs (`BUGS`) that explain every difference of a run
    from the fault-free one, e.g. "H"; "" when there is none or one is unexplained."""
    bugs: set[str] = set()
    orphan = any(d[3] == [] for d in state.get("deployments", []))
    for diff in diffs:
        key = diff.split(": ", 1)[0]
        if key.startswith("/events/stage-completed:"):
            bugs.add("G")
        elif _tag_to_same_tag(state) and (
            key == "/tree" or key.startswith("/commits/revert ") or key.endswith("/steps")
        ):
            bugs.add("H")
        elif key == "/deployments" and orphan:
            bugs.add("F")
        else:
            return ""
    return " ".join(sorted(bugs))
