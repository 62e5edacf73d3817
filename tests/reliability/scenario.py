"""The reliability scenario, in one place: the real bot against the sandbox over HTTP.

`PHASES` is the story as a list of named steps (boarding with ChatOps → departure with a
missed PR that rides the second train → approval and merge, which promotes to staging →
staging soaked, production bumped → `/train rollback`: both bumps reverted, an incident
issue, the service held). Each phase does what the humans do (through the sandbox kit,
never faulted) and then `Run.settle(at)`: reconcile at that virtual time until the bot
reports nothing to do, as the scheduler would. `final_state` is what runs are compared
on."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from lifecycle_sandbox import REPO, Story, board_three, config_text, new_story, start_time
from promotion.promotion_story import KUSTOMIZATION, WORKLOAD

from bot.adapters.github import GitHubClient, ResponseCache
from bot.adapters.ratelimit import RateLimiter
from bot.core.ledger import parse_commit_message
from bot.errors import ExternalError
from bot.shell.reconcile import CONFIG_PATH, ReconcileResult, reconcile

SETTLE_BOUND = 25


MANIFESTS = {
    "deploy/staging/web.yaml": WORKLOAD,
    "deploy/production/kustomization.yaml": KUSTOMIZATION,
}


def story_config(t0: datetime) -> str:
    """The lifecycle story's config, with manifests per stage and a tag that is the same in
    every run (the train id, not a commit sha), so bumped trees compare equal."""
    text = config_text(t0)
    for old, new in (
        ("    image: ghcr.io/acme/web\n", '    image: ghcr.io/acme/web\n    tag: "{train}"\n'),
        ("  - name: staging\n", '  - name: staging\n    manifests: ["deploy/staging/*"]\n'),
        (
            "  - name: production\n",
            '  - name: production\n    manifests: ["deploy/production/*"]\n',
        ),
    ):
        assert old in text, old
        text = text.replace(old, new)
    return text


def new_reliability_story(sandbox: Any, t0: datetime) -> Story:
    story = new_story(sandbox, t0, story_config(t0))
    story.kit.push(REPO, "main", MANIFESTS, "manifests", "rm-dave")
    return story


class Crash(BaseException):
    """The process 'dies' here: a BaseException, so no `except Exception` swallows it."""


class NotConverged(AssertionError):
    pass


@dataclass
class Knobs:
    """How the bot's clients behave in a run: shared by every client of the run."""

    timeout: float = 30.0  # the client's HTTP timeout (short when timeouts are injected)
    crash_at: int | None = None  # raise Crash instead of sending the k-th request (0-based)
    crash_after: str = ""  # ...or instead of the request after the first "METHOD url" ending so
    sent: int = 0  # requests sent by the bot in this run, over all clients
    waits: list[float] = field(default_factory=list)  # what the client chose to sleep
    skipped: float = 0.0  # seconds of waiting recorded instead of slept
    limiter: RateLimiter | None = None  # None: one on the virtual clock below
    started: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        if self.limiter is None:
            self.limiter = RateLimiter(clock=self.clock, sleep=self.sleep)

    def sleep(self, seconds: float) -> None:
        """Record the back-off instead of sleeping: the fault plan is not time-based."""
        self.waits.append(seconds)
        self.skipped += seconds

    def clock(self) -> float:
        """Virtual time: the run's start plus the waits recorded instead of slept (so a
        Retry-After of 1 s shows as a wait of exactly 1 s)."""
        return self.started + self.skipped


class TestClient(GitHubClient):
    """The real client with a settable timeout and a crash point (a client wrapper)."""

    knobs: Knobs

    def __enter__(self) -> TestClient:
        from githubkit import GitHub

        self._gh = GitHub(
            self.token,
            base_url=self.api_url,
            http_cache=False,
            auto_retry=False,
            timeout=self.knobs.timeout,
        )
        self._gh.__enter__()
        return self

    def _once(self, method: str, url: str, **kwargs: Any) -> Any:
        if self.knobs.crash_at is not None and self.knobs.sent >= self.knobs.crash_at:
            self.knobs.crash_at = None  # crash once; whoever reruns gets a live client
            raise Crash(f"crashed before request {self.knobs.sent}: {method} {url}")
        self.knobs.sent += 1
        answer = super()._once(method, url, **kwargs)
        if self.knobs.crash_after and f"{method} {url}".endswith(self.knobs.crash_after):
            self.knobs.crash_after, self.knobs.crash_at = "", self.knobs.sent
        return answer


@dataclass
class Run:
    story: Story
    t0: datetime
    knobs: Knobs = field(default_factory=Knobs)
    prs: dict[str, int] = field(default_factory=dict)
    reconciles: int = 0
    results: list[ReconcileResult] = field(default_factory=list)
    on_crash: Callable[[Crash], None] | None = None
    settle_hook: Callable[[Run, datetime], None] | None = None  # replaces settle (races)

    @property
    def kit(self) -> Any:
        return self.story.kit

    def reconcile(self, at: datetime) -> ReconcileResult:
        client = TestClient(
            REPO,
            self.story.sandbox.bot_token(),
            api_url=self.story.sandbox.base_url,
            cache=ResponseCache() if self.settle_hook else self.story.cache,
            bot_login="release-train[bot]",
            sleep=self.knobs.sleep,
            limiter=self.knobs.limiter,
        )
        client.knobs = self.knobs
        self.reconciles += 1
        with client:
            result = reconcile(REPO, at, client=client)
        self.results.append(result)
        return result

    def settle(self, at: datetime, bound: int = SETTLE_BOUND) -> int:
        """Reconcile at `at` until a run plans nothing and meets no problem (bounded).
        A `Crash` counts as a dead process: the next reconcile is the restart."""
        if self.settle_hook is not None:
            self.settle_hook(self, at)
            return 0
        return self.settle_alone(at, bound)

    def settle_alone(self, at: datetime, bound: int = SETTLE_BOUND) -> int:
        for attempt in range(1, bound + 1):
            try:
                result = self.reconcile(at)
            except ExternalError:
                continue  # reading the config failed: the worker retries the reconcile
            except Crash as crash:
                if self.on_crash is not None:
                    self.on_crash(crash)
                continue
            if not result.problems and not result.actions_planned:
                return attempt
        raise NotConverged(f"not settled after {bound} reconciles at {at}: {self.results[-3:]}")


# -- the phases ---------------------------------------------------------------------------


def board(run: Run) -> None:
    """Three PRs board (the third conflicts with the first); ChatOps: an unprivileged hold
    is refused, a status is answered."""
    a, b, c = board_three(run.story)
    run.prs.update(a=a, b=b, c=c)
    run.settle(run.t0)
    run.kit.comment(REPO, a, "dev-bob", "/train hold")
    run.kit.comment(REPO, b, "dev-alice", "/train status")
    run.settle(run.t0 + timedelta(seconds=5))


def depart(run: Run) -> None:
    """The cadence time: `a` and `b` ride, `c` misses (conflict) and boards the second train."""
    run.settle(run.t0 + timedelta(minutes=2))


def merge(run: Run) -> None:
    """CI goes green on the train PR, a release manager approves and asks for status: merged."""
    pr = run.story.open_train_pr()
    run.prs["train"] = pr["number"]
    run.story.green(pr["head"]["sha"])
    run.story.approve(pr["number"], "rm-dave", run.t0 + timedelta(minutes=3))
    run.kit.comment(REPO, pr["number"], "rm-dave", "/train status")
    run.settle(run.t0 + timedelta(minutes=4))


def promote(run: Run) -> None:
    """Staging (bumped at the merge) has soaked its 10 minutes: production is bumped."""
    run.settle(run.t0 + timedelta(minutes=15))


def rollback(run: Run) -> None:
    """A release manager rolls the train back during production's soak: both bumps are
    reverted (newest first), an incident issue opens, the service is held."""
    run.kit.comment(REPO, run.prs["train"], "rm-dave", "/train rollback")
    run.settle(run.t0 + timedelta(minutes=20))


Phase = Callable[[Run], None]
PHASES: list[tuple[str, Phase]] = [
    ("board", board),
    ("depart", depart),
    ("merge", merge),
    ("promote", promote),
    ("rollback", rollback),
]
TO_MERGE = PHASES[:3]  # the story up to the train merged (and promoted to staging)
MERGED = ("merged", "promoting", "completed", "rolled_back")  # a train that was merged


def play(
    sandbox: Any,
    *,
    knobs: Knobs | None = None,
    before: Callable[[Run], None] = lambda r: None,
    phases: list[tuple[str, Phase]] | None = None,
) -> Run:
    t0 = start_time()
    run = Run(new_reliability_story(sandbox, t0), t0, knobs or Knobs())
    run.story.cache = ResponseCache()
    before(run)
    for _, phase in PHASES if phases is None else phases:
        phase(run)
    return run


# -- what runs are compared on -------------------------------------------------------------


def final_state(run: Run) -> dict[str, Any]:
    """Base branch tree and commit subjects, ledger (states, boarded/missed PRs,
    approvals, promotion steps — no timestamps or shas), held services, PR and issue
    states, comments per issue, deployments and their statuses, check runs, ledger
    events per train."""
    return {
        "tree": base_tree(run),
        "commits": base_commits(run),
        "ledger": ledger_summary(run),
        "holds": holds_summary(run),
        "issues": issues_summary(run),
        "comments": comments_summary(run),
        "deployments": deployments_summary(run),
        "check_runs": check_run_counts(run),
        "releases": releases_summary(run),
        "events": Counter(f"{e}:{t}" for e, t in ledger_events(run) if e not in GROUPED),
    }


def base_tree(run: Run) -> list[str]:
    """The base branch's files and blob ids, but the config (its cadence minute follows
    the wall clock the run started at)."""
    out = run.story.sandbox.git.out(REPO, "ls-tree", "-r", "refs/heads/main")
    return [line for line in out.splitlines() if not line.endswith(CONFIG_PATH)]


def base_commits(run: Run) -> dict[str, int]:
    """How often each subject stands on the base branch: a merge, bump or revert made twice
    shows here even when the tree comes out the same."""
    out = run.story.sandbox.git.out(REPO, "log", "--format=%s", "refs/heads/main")
    return dict(Counter(out.splitlines()))


def holds_summary(run: Run) -> list[tuple[str, str, str]]:
    """Held services (service, train, reason) from the ledger's holds.json."""
    try:
        text = run.story.sandbox.git.out(REPO, "show", "refs/heads/release-train/ledger:holds.json")
    except Exception:  # no holds file: nothing was ever held
        return []
    held = json.loads(text).get("held", [])
    return sorted((h["service"], h.get("train", ""), h.get("reason", "")) for h in held)


def promotion_summary(record: dict[str, Any]) -> dict[str, Any]:
    """A train's promotion without times and shas: each step's status, verdict and bumps;
    whether a commit and a revert were made; the incident issue and tags."""
    promotion = (record.get("extra") or {}).get("promotion")
    if not promotion:
        return {}
    steps = [
        (
            step["name"],
            step["status"],
            step["verdict"],
            [tuple(map(str, b[:3])) for b in step.get("bumps", [])],
            bool(step.get("commit")),
            bool(step.get("revert_commit")),
            bool(step.get("deployment")),
        )
        for step in promotion.get("steps", [])
    ]
    keep = ("rolled_back", "incident", "error", "tags")
    return {"steps": steps, **{k: promotion.get(k) for k in keep}}


def ledger_records(run: Run) -> dict[str, dict[str, Any]]:
    git = run.story.sandbox.git
    out = git.out(REPO, "ls-tree", "--name-only", "refs/heads/release-train/ledger", "trains/")
    ids = [x.split("/")[-1].removesuffix(".json") for x in out.split()]
    return {i: run.story.ledger(i) for i in ids if i != "index"}


def ledger_summary(run: Run) -> dict[str, Any]:
    keep = ("state", "train_pr", "approved_by", "held", "emergency", "end_reason", "landed")
    summary = {}
    for tid, record in ledger_records(run).items():
        entry = {k: record.get(k) for k in keep}
        entry["boarded"] = [x["number"] for x in record.get("boarded", [])]
        entry["missed"] = [(m["number"], m["reason"]) for m in record.get("missed", [])]
        entry["handled_comments"] = len(record.get("handled_comments", []))
        entry["promotion"] = promotion_summary(record)
        summary[tid] = entry
    return summary


def issues_summary(run: Run) -> list[tuple[Any, ...]]:
    items = run.kit.call("GET", f"/repos/{REPO}/issues?state=all&per_page=100", as_user="rm-dave")
    out = []
    for item in items:
        pr = run.story.pull(item["number"]) if "pull_request" in item else None
        out.append(
            (
                item["number"],
                item["title"],
                item["state"],
                bool(pr and pr["merged"]),
                pr["head"]["ref"] if pr else None,
                tuple(sorted(label["name"] for label in item["labels"])),
            )
        )
    return sorted(out)


def all_comments(run: Run) -> dict[int, list[dict[str, Any]]]:
    items = run.kit.call("GET", f"/repos/{REPO}/issues?state=all&per_page=100", as_user="rm-dave")
    return {item["number"]: run.story.comments(item["number"]) for item in items}


def comments_summary(run: Run) -> dict[int, list[tuple[str, str]]]:
    """(author, body) of every comment per issue, sorted (bodies carry no clock time; the
    comment ids a reply's key names are numbered by the sandbox, so they are blanked)."""
    return {
        number: sorted((c["user"]["login"], normalized(c["body"])) for c in comments)
        for number, comments in all_comments(run).items()
    }


_REPLY_ID = re.compile(r"reply:\d+")
_CLOCK = re.compile(r"\d\d:\d\d UTC|\(in [^)]*\)")


def normalized(body: str) -> str:
    """A comment body without what depends on the wall clock the run started at (times of
    day, "in 2m") or on the sandbox's id counter (the commented-on comment's id)."""
    return _CLOCK.sub("<time>", _REPLY_ID.sub("reply:N", body))


def check_run_counts(run: Run) -> dict[str, int]:
    """How many check runs of each name the bot made on each train PR head and merge
    commit (where the promotion's check run goes)."""
    counts: Counter[str] = Counter()
    for record in ledger_records(run).values():
        if not record.get("train_pr"):
            continue
        head = run.story.pull(int(record["train_pr"]))["head"]["sha"]
        for where, sha in (("head", head), ("merge", record.get("merge_sha"))):
            if not sha:
                continue
            path = f"/repos/{REPO}/commits/{sha}/check-runs?per_page=100"
            for check in run.kit.call("GET", path, as_user="rm-dave")["check_runs"]:
                if check["name"].startswith("release-train/"):
                    counts[f"{record['train_pr']}:{where}:{check['name']}"] += 1
    return dict(counts)


def bot_comment_counts(run: Run) -> dict[int, int]:
    return {
        n: sum(c["user"]["login"] == "release-train[bot]" for c in cs)
        for n, cs in all_comments(run).items()
    }


def releases_summary(run: Run) -> dict[str, Any]:
    """Each GitHub Release's tag and state, and the tag refs: a Release or a tag made twice
    (or left unpublished) shows."""
    found = run.kit.call("GET", f"/repos/{REPO}/releases?per_page=100", as_user="rm-dave")
    tags = run.story.sandbox.git.out(REPO, "for-each-ref", "--format=%(refname)", "refs/tags/")
    rows = sorted((r["tag_name"], r["draft"], r["prerelease"]) for r in found)
    return {"releases": rows, "tags": sorted(tags.split())}


def deployments_summary(run: Run) -> list[tuple[Any, ...]]:
    """Each deployment's environment, train, tags and statuses (newest first): a duplicate
    deployment shows. A status repeated back to back counts once (a status POST whose
    answer was lost and was sent again: GitHub keeps statuses as a history, and the
    newest is what tools read)."""
    found = run.kit.call("GET", f"/repos/{REPO}/deployments?per_page=100", as_user="rm-dave")
    out = []
    for d in found:
        path = f"/repos/{REPO}/deployments/{d['id']}/statuses?per_page=100"
        states = [x["state"] for x in run.kit.call("GET", path, as_user="rm-dave")]
        states = [x for i, x in enumerate(states) if i == 0 or states[i - 1] != x]
        payload = d.get("payload") or {}
        tags = sorted((payload.get("tags") or {}).items())
        out.append((d["environment"], payload.get("train"), tags, states))
    return sorted(out, key=str)


# Events whose count follows how a run's rounds happened to group the work (a gate result,
# a notice or a ChatOps answer recorded with another transition, or on its own): what they
# record is compared directly instead (check runs, comments, handled ChatOps comments).
GROUPED = frozenset({"gate", "notify", "chatops"})


def ledger_events(run: Run) -> list[tuple[str, str]]:
    """(event, train id) for every event of every ledger commit, oldest first: a commit's
    `Event` trailers (one commit may carry several, e.g. a stage's verdict and its
    completion), or its subject's event when it has none."""
    out = []
    for entry in reversed(run.story.ledger_log()):
        message = entry.split("\x00", 1)[1]
        event, train_id, trailers = parse_commit_message(message)
        named = [value for key, value in trailers if key == "Event"]
        out += [(e, train_id) for e in named or [event]]
    return out


def ledger_parents(run: Run) -> list[list[str]]:
    return [e.split("\x00")[0].split()[1:] for e in run.story.ledger_log()]


def dumps(state: dict[str, Any]) -> str:
    return json.dumps(state, indent=1, sort_keys=True, default=str)
