"""Where the story plays: the sandbox, a virtual clock, the narrator and the real bot.

`World.reconcile` runs `bot.shell.reconcile.reconcile` over HTTP at the virtual now and
narrates what it did; the other methods read what people would see (PRs, comments) and the
ledger, so the story can check the bot's work.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.demo.narrate import Narrator, bot_lines

if TYPE_CHECKING:
    from bot.adapters.github import ResponseCache
    from bot.core.ledger import TrainRecord
    from bot.sandbox.runner import Sandbox
    from bot.shell.reconcile import ReconcileResult

BOT = "release-train[bot]"
LEDGER = "release-train/ledger"
CI_CHECKS = ("build", "test")


class StoryFailed(Exception):
    """The bot did not do what the story expected; the message says what."""


@dataclass
class VirtualClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def at(self, when: datetime) -> datetime:
        self.now = max(self.now, when)
        return self.now


@dataclass
class World:
    """The sandbox, the virtual clock, the narrator and the bot's client cache."""

    sandbox: Sandbox
    clock: VirtualClock
    narrator: Narrator
    repo: str
    cache: ResponseCache
    prometheus: Any = None  # the SLO judge's query client, handed to reconcile
    results: list[ReconcileResult] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)  # train -> history events narrated
    outbound: Any = None  # the operator's policy: the Argo CD source (bot.demo.argocd)

    @property
    def kit(self) -> Any:
        return self.sandbox.scenario

    def say(self, who: str, text: str, kind: str = "event") -> None:
        self.narrator.say(self.clock.now, who, text, kind)

    def reconcile(self) -> ReconcileResult:
        """One reconcile of the real bot at the virtual now; its actions narrated."""
        from bot.adapters.github import GitHubClient
        from bot.shell.reconcile import reconcile

        with GitHubClient(
            self.repo,
            self.sandbox.bot_token(),
            api_url=self.sandbox.base_url,
            cache=self.cache,
            bot_login=BOT,
        ) as client:
            result = reconcile(
                self.repo,
                self.clock.now,
                client=client,
                prometheus=self.prometheus,
                outbound=self.outbound,
            )
        self.results.append(result)
        details = self._new_details()
        self.narrator.add(bot_lines(self.clock.now, result.actions_done, result.problems, details))
        return result

    def _new_details(self) -> dict[tuple[str, str], list[str]]:
        """(train, event) -> details of the ledger history events not narrated yet."""
        out: dict[tuple[str, str], list[str]] = {}
        for record in iter_records(self):
            seen = self.seen.get(record.id, 0)
            for event in record.history[seen:]:
                out.setdefault((record.id, event.event), []).append(event.detail)
            self.seen[record.id] = len(record.history)
        return out

    def get(self, path: str) -> Any:
        return self.kit.call("GET", f"/repos/{self.repo}{path}", as_user="rm-dave")

    def pull(self, number: int) -> dict[str, Any]:
        return dict(self.get(f"/pulls/{number}"))

    def comments(self, number: int) -> list[str]:
        return [str(c["body"]) for c in self.get(f"/issues/{number}/comments?per_page=100")]

    def record(self, train_id: str) -> TrainRecord | None:
        from bot.core.ledger import decode, record_path

        ref = f"refs/heads/{LEDGER}:{record_path(train_id)}"
        code, out = self.sandbox.git.run(self.repo, "show", ref, ok=(0, 128))
        return decode(out.decode()) if code == 0 else None

    def held_services(self, train_id: str) -> list[str]:
        """Services a train's revert holds: kept in its record (``extra["holds"]``) or in
        ``holds.json`` on the ledger branch, whichever this build uses."""
        from bot.core import holds

        record = self.record(train_id)
        holds_of = getattr(holds, "holds_of", None)
        if record is not None and holds_of is not None:
            found = sorted(h.service for h in holds_of(record))
            if found:
                return found
        path, decode = getattr(holds, "HOLDS_PATH", None), getattr(holds, "decode", None)
        if path is None or decode is None:
            return []
        ref = f"refs/heads/{LEDGER}:{path}"
        code, out = self.sandbox.git.run(self.repo, "show", ref, ok=(0, 128))
        kept = decode(out.decode() if code == 0 else None)
        return sorted(h.service for h in kept.held if h.train == train_id)

    def state(self, train_id: str) -> str:
        record = self.record(train_id)
        return record.state if record else "missing"

    def ci_green(self, number: int) -> str:
        """CI reports build and test green on a PR's head, as a CI App would."""
        sha = str(self.pull(number)["head"]["sha"])
        for name in CI_CHECKS:
            self.kit.set_check(self.repo, sha, name, "completed", "success")
        self.say("ci", f"{' and '.join(CI_CHECKS)} green on #{number} ({sha[:7]})")
        return sha


def expect(world: World, ok: bool, message: str) -> None:
    """A check of the bot's behaviour; a failed one ends the story."""
    if not ok:
        world.say("demo", message, "check")
        raise StoryFailed(message)


def train_ids(world: World) -> list[str]:
    ref = f"refs/heads/{LEDGER}"
    if world.sandbox.git.ref(world.repo, ref) is None:
        return []
    out = world.sandbox.git.out(world.repo, "ls-tree", "--name-only", ref, "trains/")
    return [line.split("/")[-1].removesuffix(".json") for line in out.split()]


def iter_records(world: World) -> Iterator[TrainRecord]:
    for train_id in train_ids(world):
        record = world.record(train_id)
        if record is not None:
            yield record
