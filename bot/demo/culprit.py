"""`demo --story culprit`: one PR breaks CI on the train; bisection finds it, the train
departs without it and completes, and the culprit boards the next train.

The scene is the default demo's (acme/shop, its config and train 1's changes) plus a fourth
change, "Tidy the cart", that passed CI on its own branch but breaks `test` once on the
train (it adds `ci/breaks-cart`; the sandbox's tree-reading CI, `bot.sandbox.ci`, fails a
tree that holds such a file). Every bot step is the real reconcile over HTTP.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from bot.demo.scene import MONDAY, TRAIN_1_CHANGES, Change
from bot.demo.story import (
    TICK,
    TRAIN_1,
    Capabilities,
    approve_and_merge,
    check_completed,
    check_landed,
    depart,
    open_change,
    promote,
)
from bot.demo.world import World, expect

if TYPE_CHECKING:
    from bot.core.ledger import TrainRecord

CULPRIT = Change(
    "dev-alice",
    "tidy-cart",
    "services/frontend/src/cart.js",
    "export const cart = [];\n",
    "Tidy the cart",
    "feature",
    (("ci/breaks-cart", "the cart tests fail with the cached total\n"),),
)
ROUNDS = 24  # CI ticks the bisection may take in the story


def board(world: World) -> tuple[int, ...]:
    """Train 1's three changes and the culprit, green on their own branches and approved."""
    world.clock.at(MONDAY + timedelta(minutes=5))
    numbers = tuple(open_change(world, change) for change in (*TRAIN_1_CHANGES, CULPRIT))
    world.clock.at(MONDAY + timedelta(minutes=20))
    for number in numbers:
        world.ci_green(number)
        world.kit.review(world.repo, number, "rev-carol", "APPROVE")
    world.clock.at(MONDAY + timedelta(minutes=30))
    for number, change in zip(numbers, (*TRAIN_1_CHANGES, CULPRIT), strict=True):
        world.kit.label(world.repo, number, "train:next", actor=change.author)
        world.reconcile()
    return numbers


def bisect(world: World, culprit: int) -> None:
    """CI reports on the train PR and on each candidate; the bot re-runs, bisects and cuts
    the train again without the culprit."""
    from bot.core import bisect as bs
    from bot.sandbox.ci import TreeCI

    ci = TreeCI(world.sandbox, world.repo, "test", also=("build",))
    state = None
    for _ in range(ROUNDS):
        ran = ci.tick()
        if ran:
            world.say("ci", f"reports {ran} run(s) of build and test (from each tree)")
        world.clock.at(world.clock.now + TICK)
        world.reconcile()
        record = world.record(TRAIN_1)
        state = bs.load(record.extra) if record else None
        if state is not None and state.ended:
            break
    expect(
        world,
        state is not None and state.phase == bs.FOUND and bs.leaving(state) == (culprit,),
        f"bisection should have named #{culprit}; it is {state.phase if state else 'not run'}",
    )
    assert state is not None
    world.say("demo", f"bisection named #{culprit} in {state.rounds} CI round(s)", "note")
    ci.tick()  # CI on the new cut


def play_culprit(world: World, caps: Capabilities) -> None:
    a, b, _conflicts, d = board(world)
    train_pr = depart(world, TRAIN_1, MONDAY, {a, b, d})
    bisect(world, d)
    record = world.record(TRAIN_1)
    missed = {m.number: m.reason for m in record.missed} if record else {}
    expect(world, missed.get(d) == "culprit", f"#{d} should have missed as culprit: {missed}")
    told = any("broke CI on release train" in body for body in world.comments(d))
    expect(world, told, f"#{d} should have been told it broke CI")
    approve_and_merge(world, TRAIN_1, train_pr, MONDAY)
    check_landed(world, (a, b))
    state = promote(world, TRAIN_1, caps, MONDAY.replace(hour=16))
    check_completed(world, TRAIN_1, state, caps)
    world.clock.at(world.clock.now + TICK)
    world.reconcile()
    riding = [
        r.id
        for r in _records(world)
        if r.id != TRAIN_1 and r.state == "boarding" and d in r.boarded_numbers()
    ]
    expect(world, bool(riding), f"#{d} should board the next train")
    world.say("demo", f"#{d} boards {riding[0]}; {TRAIN_1} is {state}", "note")


def _records(world: World) -> list[TrainRecord]:
    from bot.demo.world import iter_records

    return list(iter_records(world))
