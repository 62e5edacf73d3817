"""`plan` = what reconcile does, checked one step at a time (shared by the stories)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lifecycle.lifecycle_sandbox import Story

from bot.core import actions as act
from bot.shell.reconcile import ReconcileResult


def step(story: Story, now: datetime, **kw: Any) -> tuple[act.Action, ...]:
    """Plan, then reconcile, at `now`: the actions `plan` lists are, as data, the actions
    reconcile's first round performs (a later round decides from what the first wrote,
    e.g. the gates of a PR just opened). Plan writes nothing, and a reconcile that reports
    nothing done wrote nothing. Returns those actions."""
    mark = story.log_mark()
    planned = story.reconcile(now, dry_run=True, **kw)
    assert story.writes_since(mark) == []
    done: ReconcileResult = story.reconcile(now, **kw)
    first = done.performed[0] if done.performed else ()
    assert planned.planned == first, _difference(planned.planned, first)
    if not done.actions_done:
        assert story.writes_since(mark) == []
    return first


ROUNDS = 8


def settle(story: Story, now: datetime, **kw: Any) -> list[tuple[act.Action, ...]]:
    """`step` one round at a time at `now` (`plan` checked before each round), until a
    round does nothing but name the moves (a wait): the actions each round performed."""
    performed: list[tuple[act.Action, ...]] = []
    for _ in range(ROUNDS):
        done = step(story, now, max_rounds=1, **kw)
        performed.append(done)
        if all(isinstance(a, act.Promote) for a in done):
            return performed
    raise AssertionError(f"still acting after {ROUNDS} rounds: {[kinds(r) for r in performed]}")


def within(expected: list[str], performed: list[str]) -> bool:
    """`expected` appears in `performed` in order, contiguously (a round may do more)."""
    n = len(expected)
    return any(performed[i : i + n] == expected for i in range(len(performed) - n + 1))


def kinds(actions: tuple[act.Action, ...]) -> list[str]:
    return [type(a).__name__ for a in actions]


def moves(actions: tuple[act.Action, ...]) -> list[str]:
    """The promotion moves among `actions`, described (`start canary`, `hold canary (…)`)."""
    return [a.move.describe() for a in actions if isinstance(a, act.Promote)]


def _difference(planned: tuple[act.Action, ...], performed: tuple[act.Action, ...]) -> str:
    """What differs, for the assertion's message."""
    lines = ["planned:", *(f"  {a!r}" for a in planned), "performed:"]
    return "\n".join([*lines, *(f"  {a!r}" for a in performed)])
