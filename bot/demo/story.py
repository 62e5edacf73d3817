"""The demo's script: two release trains on a virtual clock, played against the sandbox.

Only people act here (developers open and label PRs, CI turns checks green, the reviewer
approves); every bot step is the real `bot.shell.reconcile.reconcile` over HTTP, called
with the virtual `now` after each action (as a webhook would trigger it) and on clock
ticks (as the scheduler would). The story then checks the states the bot reached from the
ledger and GitHub, and says plainly when a phase is not built yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.config.repo import CONFIG_PATH
from bot.demo import argocd, releases
from bot.demo.argocd import with_argocd
from bot.demo.gates import (
    APPROVERS,
    BASE_FLAGS,
    FLAGS_PATH,
    GATE_NAMES,
    show_gates,
    with_optional_gates,
)
from bot.demo.images import ci_builds, use_registry
from bot.demo.scene import (
    CHECKOUT,
    CODEOWNERS_PATH,
    MONDAY,
    TRAIN_1_CHANGES,
    UNCHECKED_GATES,
    Change,
    allow_unchecked_gates,
    checkout_source,
    demo_config,
    reviewers_own_everything,
)
from bot.demo.world import StoryFailed, World, expect

if TYPE_CHECKING:
    from bot.core.ledger import TrainRecord

TICK = timedelta(minutes=5)
MERGED_OR_LATER = ("merged", "promoting", "completed", "rolled_back")
STUCK = timedelta(minutes=30)  # unsure SLO verdicts this long: the bot holds, the story stops
TRAIN_1 = "daily-2026-03-02"
TRAIN_2 = "daily-2026-03-03"

__all__ = ["MONDAY", "TRAIN_1", "TRAIN_2", "Capabilities", "Options", "StoryFailed", "play"]


@dataclass(frozen=True)
class Options:
    seed: int = 0
    prometheus_url: str | None = None  # judge against a real Prometheus instead
    story: str = "default"  # or "culprit" (`bot.demo.culprit`)


@dataclass(frozen=True)
class Capabilities:
    """Which later phases this build has (the story says so when one is missing)."""

    promotion: bool
    revert: bool


def capabilities() -> Capabilities:
    """Promotion: reconcile promotes merged trains (`bot.shell.promote`, or a lifecycle
    handler for `promoting`). Revert: the revert core exists (or a revert action does)."""
    from importlib.util import find_spec

    from bot.core import actions, decide
    from bot.core.train import PROMOTING

    promotion = PROMOTING in getattr(decide, "HANDLERS", {}) or _exists(
        find_spec, "bot.shell.promote"
    )
    revert = _exists(find_spec, "bot.core.revert") or any(
        "revert" in n.lower() for n in dir(actions)
    )
    return Capabilities(promotion=promotion, revert=revert)


def _exists(find_spec: Any, name: str) -> bool:
    try:
        return find_spec(name) is not None
    except ModuleNotFoundError:
        return False


# -- setting the scene --------------------------------------------------------------------


def _read(world: World, path: str) -> str:
    import base64

    found = world.kit.call("GET", f"/repos/{world.repo}/contents/{path}", as_user="rm-dave")
    return base64.b64decode(found["content"]).decode()


def set_scene(world: World, prometheus_url: str) -> None:
    """The demo repository, with the release manager's demo settings in one commit."""
    world.kit.demo()
    config = demo_config(_read(world, CONFIG_PATH), prometheus_url)
    changes = {
        CONFIG_PATH: allow_unchecked_gates(config),
        CODEOWNERS_PATH: reviewers_own_everything(_read(world, CODEOWNERS_PATH)),
    }
    message = (
        "Demo settings: metrics source, unchecked gates may be neutral, reviewers own *, "
        "flags and migrations gates"
    )
    changes[CONFIG_PATH] = with_argocd(with_optional_gates(changes[CONFIG_PATH]))
    changes[FLAGS_PATH] = BASE_FLAGS
    changes = use_registry(world, changes)  # images in the sandbox's registry (bot.demo.images)
    world.kit.push(world.repo, "main", changes, message, "rm-dave")
    world.say("rm-dave", f"sets prometheus.url in {CONFIG_PATH} to {prometheus_url}")
    world.say(
        "rm-dave",
        f"turns on the flags gate ({FLAGS_PATH}) and the migrations gate "
        f"(approvers {APPROVERS}, window 09-17 Berlin)",
    )
    if changes[CONFIG_PATH] != config:
        gates = ", ".join(UNCHECKED_GATES)
        world.say(
            "rm-dave",
            f"sets gates.allow_neutral: [{gates}] (a gate without facts says neutral)",
        )
    world.say("rm-dave", f"adds @acme/reviewers to the `*` rule of {CODEOWNERS_PATH}")
    argocd.set_up(world)


def open_change(world: World, change: Change) -> int:
    number = int(
        world.kit.open_pr(
            world.repo,
            change.author,
            change.branch,
            change.files(),
            change.title,
            labels=[change.label],
        )
    )
    world.say(change.author, f"opens #{number} {change.title!r} ({change.label})")
    return number


# -- train 1 ------------------------------------------------------------------------------


def board_train_1(world: World) -> tuple[int, int, int]:
    """Three PRs, green and approved, labelled `train:next`; the third conflicts."""
    world.clock.at(MONDAY + timedelta(minutes=5))
    a, b, c = (open_change(world, change) for change in TRAIN_1_CHANGES)
    world.clock.at(MONDAY + timedelta(minutes=20))
    for number in (a, b, c):
        world.ci_green(number)
        world.kit.review(world.repo, number, "rev-carol", "APPROVE")
        world.say("rev-carol", f"approves #{number}")
    world.clock.at(MONDAY + timedelta(minutes=30))
    for number, change in zip((a, b, c), TRAIN_1_CHANGES, strict=True):
        world.kit.label(world.repo, number, "train:next", actor=change.author)
        world.say(change.author, f"labels #{number} train:next")
        world.reconcile()
    record = world.record(TRAIN_1)
    boarded = record.boarded_numbers() if record else ()
    expect(
        world,
        record is not None and record.state == "boarding" and set(boarded) == {a, b, c},
        f"{TRAIN_1} should be boarding with #{a} #{b} #{c}; it is {world.state(TRAIN_1)} "
        f"with {list(boarded)}",
    )
    return a, b, c


def depart(world: World, train_id: str, day: datetime, riders: set[int]) -> int:
    """Departure at 09:00 (the cadence); returns the train PR's number."""
    world.clock.at(day.replace(hour=9, minute=0))
    world.say("clock", "09:00, the daily train's departure time")
    world.reconcile()
    record = world.record(train_id)
    expect(
        world,
        record is not None and record.state == "departed",
        f"{train_id} should have departed at 09:00, is {world.state(train_id)}",
    )
    assert record is not None
    expect(
        world,
        set(record.boarded_numbers()) == riders and bool(record.train_pr),
        f"{train_id} should ride #{sorted(riders)} with a train PR, rides "
        f"{record.boarded_numbers()} (train PR {record.train_pr or 'none'})",
    )
    return record.train_pr


def check_missed(world: World, train_id: str, number: int) -> None:
    record = world.record(train_id)
    missed = {m.number: m.reason for m in record.missed} if record else {}
    expect(
        world,
        missed.get(number) == "conflict",
        f"#{number} should have missed {train_id} for a conflict; missed: {missed}",
    )
    told = any("missed train" in body and train_id in body for body in world.comments(number))
    expect(world, told, f"#{number} should have been told why it missed {train_id}")


def approve_and_merge(world: World, train_id: str, train_pr: int, day: datetime) -> None:
    """CI turns the train PR green, rev-carol approves, and the bot merges in the window."""
    world.clock.at(day.replace(hour=9, minute=5))
    world.ci_green(train_pr)
    world.reconcile()
    world.clock.at(day.replace(hour=9, minute=15))
    world.kit.review(world.repo, train_pr, "rev-carol", "APPROVE")
    world.say("rev-carol", f"approves the train PR #{train_pr}")
    world.reconcile()
    state = world.state(train_id)
    if state not in MERGED_OR_LATER:
        world.reconcile()  # a second look, as the next webhook would give it
        state = world.state(train_id)
    if state not in MERGED_OR_LATER:
        expect(
            world,
            False,
            f"{train_id} should have merged after approval, is {state}; "
            f"{_waiting_for(world, train_pr)}",
        )
    expect(world, bool(world.pull(train_pr).get("merged")), f"train PR #{train_pr} not merged")


def _waiting_for(world: World, train_pr: int) -> str:
    """What the bot says it waits for (asks `/train status` as the release manager)."""
    world.kit.comment(world.repo, train_pr, "rm-dave", "/train status")
    world.say("rm-dave", f"asks /train status on #{train_pr}")
    world.reconcile()
    replies = [b for b in world.comments(train_pr) if "Waiting for" in b]
    if not replies:
        return "the bot gave no status"
    line = next(x for x in replies[-1].splitlines() if "Waiting for" in x)
    return line.strip()


def check_gates(world: World, train_pr: int) -> None:
    """Train 1's PR carries both optional gates' check runs, green at the merge."""
    runs = show_gates(world, train_pr)
    for name in GATE_NAMES:
        conclusion = runs.get(name, {}).get("conclusion", "missing")
        expect(world, conclusion == "success", f"#{train_pr}'s {name} is {conclusion}")


def check_landed(world: World, numbers: tuple[int, ...]) -> None:
    for number in numbers:
        pr = world.pull(number)
        expect(world, pr["state"] == "closed", f"#{number} should be closed once its train merged")


# -- promotion and revert -----------------------------------------------------------------


def promote(world: World, train_id: str, caps: Capabilities, until: datetime) -> str:
    """Let time pass (reconciling every tick) until the train ends, is held, or `until`."""
    if not caps.promotion:
        world.clock.at(world.clock.now + TICK)
        world.reconcile()
        state = world.state(train_id)
        if state == "merged":
            world.say(
                "demo", "promotion is not implemented in this build; train stays merged", "note"
            )
            return state
    while world.clock.now < until:
        world.clock.at(world.clock.now + TICK)
        ci_builds(world, train_id)  # CI pushes the images a merged train waits for
        world.reconcile()
        record = world.record(train_id)
        argocd.narrate(world, record)
        if record is None or record.state in ("completed", "rolled_back", "aborted"):
            break
        if record.held or _unsure_for(record, world.clock.now) >= STUCK:
            break  # held, or the SLO verdicts stay unsure: the bot will not move on alone
    return world.state(train_id)


def _unsure_for(record: TrainRecord, now: datetime) -> timedelta:
    """How long the current step's SLO verdicts have been unsure (inconclusive or error)."""
    raw = record.extra.get("promotion") or {}
    since = [s.get("unsure_since") for s in raw.get("steps") or [] if isinstance(s, dict)]
    times = [datetime.fromisoformat(str(x)) for x in since if x]
    return now - min(times) if times else timedelta(0)


def last_verdict(record: TrainRecord | None) -> str:
    """The detail of the train's latest stage verdict (what the judge said last)."""
    events = [e for e in record.history if e.event == "stage-verdict"] if record else []
    return events[-1].detail if events else ""


def check_completed(world: World, train_id: str, state: str, caps: Capabilities) -> None:
    if state == "merged" and not caps.promotion:
        return
    record = world.record(train_id)
    verdict = last_verdict(record)
    expect(
        world,
        state == "completed",
        f"{train_id} should have promoted through every stage to completed, is {state}"
        + (f"; last stage verdict: {verdict}" if verdict else ""),
    )
    steps = promotion_steps(record) if record else []
    if record is not None:
        argocd.check(world, record)
    unpromoted = [name for name, status, commit in steps if status != "passed" or not commit]
    why = (
        next((e.detail for e in reversed(record.history) if e.event == state), "") if record else ""
    )
    expect(
        world,
        bool(steps) and not unpromoted,
        f"{train_id} is {state} but promoted no stage ({', '.join(unpromoted) or 'no steps'}"
        f" not committed){': ' + why if why else ''}",
    )


def promotion_steps(record: TrainRecord) -> list[tuple[str, str, str]]:
    """(step, status, commit) of each promotion step, from the record's promotion state."""
    raw = record.extra.get("promotion") or {}
    return [
        (str(s.get("name", "")), str(s.get("status", "")), str(s.get("commit") or ""))
        for s in raw.get("steps") or []
        if isinstance(s, dict)
    ]


def check_reverted(world: World, train_id: str, state: str, caps: Capabilities) -> None:
    if not caps.promotion:
        return
    if not caps.revert and state != "rolled_back":
        world.say(
            "demo",
            f"revert on SLO breach is not implemented in this build; {train_id} is {state}",
            "note",
        )
        return
    expect(
        world,
        state == "rolled_back",
        f"{train_id}'s canary breached: it should be rolled_back, is {state}",
    )
    issues = world.get("/issues?state=all&per_page=100")
    incident = [
        i
        for i in issues
        if "pull_request" not in i and train_id in str(i["title"]) + str(i.get("body") or "")
    ]
    expect(world, bool(incident), f"no incident issue was opened for {train_id}")
    world.say("demo", f"incident #{incident[0]['number']}: {incident[0]['title']}")
    held = world.held_services(train_id)
    expect(world, bool(held), f"{train_id} was rolled back but no service is held")
    world.say("demo", f"held, so no train bumps them until released: {', '.join(held)}")


# -- train 2 ------------------------------------------------------------------------------


def resolve_conflict(world: World, number: int, files: dict[str, str], author: str) -> None:
    """The author merges main into the PR's branch and resolves the conflict (a git push)."""
    from bot.sandbox.api.refs import move_ref
    from bot.sandbox.gitstore import Person

    kit, repo, git = world.kit, world.repo, world.sandbox.git
    branch = str(world.pull(number)["head"]["ref"])
    with kit.store.transaction():
        head = git.ref(repo, f"refs/heads/{branch}")
        main = git.resolve(repo, "main")
        assert head is not None and main is not None, (branch, "main")
        paths = list(files)
        shas = git.hash_blobs(repo, [files[p].encode() for p in paths])
        tree = git.write_tree(
            repo,
            git.out(repo, "rev-parse", f"{main}^{{tree}}"),
            {p: ("100644", s) for p, s in zip(paths, shas, strict=True)},
        )
        who = Person(author, f"{author}@example.com", kit.ctx(author).now())
        merge = git.commit_tree(repo, tree, [head, main], "Merge main; resolve conflict", who)
        move_ref(kit.ctx(author), repo, f"refs/heads/{branch}", merge, head)
    world.say(author, f"merges main into #{number} and resolves the conflict")


def play_train_2(world: World, c: int, caps: Capabilities) -> str:
    day = MONDAY + timedelta(days=1)
    world.clock.at(day.replace(hour=8, minute=0))
    resolve_conflict(
        world, c, {CHECKOUT: checkout_source("retry payments once; cache total")}, "dev-bob"
    )
    world.ci_green(c)
    world.kit.review(world.repo, c, "rev-carol", "APPROVE")
    world.say("rev-carol", f"approves #{c} again")
    world.reconcile()
    train_pr = depart(world, TRAIN_2, day, {c})
    approve_and_merge(world, TRAIN_2, train_pr, day)
    check_landed(world, (c,))
    state = promote(world, TRAIN_2, caps, day.replace(hour=16))
    check_reverted(world, TRAIN_2, state, caps)
    releases.say(world, TRAIN_2)
    return state


def play(world: World, caps: Capabilities) -> None:
    """The whole script; raises StoryFailed at the first misbehaviour."""
    a, b, c = board_train_1(world)
    train_pr = depart(world, TRAIN_1, MONDAY, {a, b})
    check_missed(world, TRAIN_1, c)
    show_gates(world, train_pr)
    approve_and_merge(world, TRAIN_1, train_pr, MONDAY)
    check_gates(world, train_pr)
    check_landed(world, (a, b))
    state = promote(world, TRAIN_1, caps, MONDAY.replace(hour=16))
    check_completed(world, TRAIN_1, state, caps)
    releases.say(world, TRAIN_1)
    world.say("demo", f"{TRAIN_1} is {state}; on to the next day")
    play_train_2(world, c, caps)
