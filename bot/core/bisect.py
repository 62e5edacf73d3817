"""Bisection of a train whose CI failed (pure): which boarded PR broke it.

The state machine, kept in the train's record under `extra["culprit"]` (`load`/`store`):

- ``rerun``: the failing check is re-run on the train PR (`Culprit.rerun_flaky` times); a
  pass ends it as ``flaky`` (recorded, nothing bisected), failures go on to the search.
- ``search``: a search over prefixes of the PRs in train order. A candidate is the base plus
  a prefix of the PRs (built like the release branch: base, then merges in train order). The
  base passes (prefix 0) and the whole train fails (prefix N); each round builds `parallel`
  candidates that split the window between the longest prefix known to pass (`lo`) and the
  shortest known to fail (`hi`) evenly. When `hi - lo == 1` PR `pool[hi-1]` is the suspect.
  Serial, that is ⌈log2 N⌉ rounds; with `parallel` p, ⌈log_(p+1) N⌉.
- ``alone``: one candidate, the base plus the suspect alone (skipped when `lo` is 0: prefix 1
  *is* the suspect alone). Fails: the suspect is the culprit. Passes: it fails only together
  with an earlier PR, and
- ``partner``: the same search over the PRs before the suspect, the suspect in every
  candidate, names that earlier PR: the pair is reported (`culprits` holds both).
- ``found``: the lifecycle cuts the train again without `leaving()`. If CI fails again on the
  new cut, `again()` bisects what is left (a second culprit), carrying what was found.
- ``timed_out`` (a round's CI did not report within `Culprit.timeout`), ``gave_up`` (more
  than `max_rounds` rounds) and ``stopped`` (the train's deadline, or the train ended) leave
  the train as it is, without bisecting further; the train PR is told.

Results that are not monotone (a flaky candidate) cannot mislead it beyond the window: the
shortest failing prefix bounds it and the longest passing prefix below that opens it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from bot.config.model import Culprit

KEY = "culprit"  # the record's `extra` key

RERUN, SEARCH, ALONE, PARTNER = "rerun", "search", "alone", "partner"
FOUND, FLAKY, TIMED_OUT, GAVE_UP, STOPPED = "found", "flaky", "timed_out", "gave_up", "stopped"
ENDED = frozenset({FOUND, FLAKY, TIMED_OUT, GAVE_UP, STOPPED})
PASS, FAIL = "pass", "fail"


@dataclass(frozen=True)
class Candidate:
    """Candidate branch `<release branch>-try-<key>`: the base plus `prs`, in train order."""

    key: int
    prs: tuple[int, ...]
    verdict: str = ""  # "", "pass" or "fail"


@dataclass(frozen=True)
class Bisection:
    prs: tuple[int, ...]  # the train's PRs, in train order, when the bisection started
    phase: str = RERUN
    reruns: int = 0  # re-runs of the failing check so far
    pool: tuple[int, ...] = ()  # the PRs searched, in train order
    fixed: tuple[int, ...] = ()  # in every candidate (the suspect, while its partner is sought)
    lo: int = 0  # the longest prefix of `pool` known to pass (with `fixed`)
    hi: int = 0  # the shortest prefix known to fail
    rounds: int = 0  # CI rounds on candidates so far
    round_started: str = ""  # ISO instant the current round's candidates were asked for
    pending: tuple[Candidate, ...] = ()  # the current round's candidates
    tried: tuple[Candidate, ...] = ()  # every candidate judged so far, with its verdict
    culprits: tuple[tuple[int, ...], ...] = ()  # (pr,) or (earlier, later) for a pair
    detail: str = ""  # why it ended, for the train PR
    head: str = ""  # the train PR head whose CI failed (a new cut's failure bisects again)
    checks: tuple[str, ...] = ()  # the failing checks
    rerun_ids: tuple[int, ...] = ()  # the failing runs re-run last; newer ones are the re-run
    links: tuple[tuple[int, str, str], ...] = ()  # (candidate, failing check, its link)

    @property
    def ended(self) -> bool:
        return self.phase in ENDED

    def next_key(self) -> int:
        return len(self.tried) + len(self.pending) + 1


# -- starting and ending ------------------------------------------------------------------


def start(prs: tuple[int, ...], config: Culprit, now: datetime) -> Bisection:
    """A failing CI check on a train of `prs`: re-run it first, or search at once."""
    fresh = Bisection(prs=prs)
    return fresh if config.rerun_flaky > 0 else _search(fresh, prs, config, now)


def again(done: Bisection, prs: tuple[int, ...], config: Culprit, now: datetime) -> Bisection:
    """CI failed once more on the train cut without the culprits: search what is left (not
    re-run: the failure already repeated), keeping what was found and the rounds spent."""
    return _search(replace(done, phase=SEARCH, detail=""), prs, config, now)


def stop(state: Bisection, why: str) -> Bisection:
    """End it where it stands (the train's deadline, the train ended): nothing more is built."""
    return state if state.ended else replace(state, phase=STOPPED, pending=(), detail=why)


def leaving(state: Bisection) -> tuple[int, ...]:
    """The PRs the train leaves without: each culprit, and of a pair the later PR (the earlier
    one passes alone, so it still ships)."""
    return tuple(dict.fromkeys(group[-1] for group in state.culprits))


def partners(state: Bisection) -> dict[int, int]:
    """For a PR leaving as the later half of a pair, the earlier PR it fails with."""
    return {group[-1]: group[0] for group in state.culprits if len(group) == 2}


# -- one step ------------------------------------------------------------------------------


def on_rerun(state: Bisection, verdict: str, config: Culprit, now: datetime) -> Bisection:
    """The re-run failing check reported: a pass is a flaky failure; a failure re-runs it
    again or starts the search."""
    if state.phase != RERUN:
        return state
    if verdict == PASS:
        return replace(state, phase=FLAKY, detail="passed when re-run")
    state = replace(state, reruns=state.reruns + 1)
    if state.reruns < config.rerun_flaky:
        return state
    return _search(state, state.prs, config, now)


def advance(
    state: Bisection, verdicts: Mapping[int, str], config: Culprit, now: datetime
) -> Bisection:
    """The current round's candidates' verdicts (by key; absent: not reported yet) folded in.
    Returns the state unchanged while any is missing, `timed_out` once the round is older
    than `config.timeout`, else the next round planned (or the end)."""
    if state.ended or state.phase == RERUN or not state.pending:
        return state
    missing = [c for c in state.pending if verdicts.get(c.key) not in (PASS, FAIL)]
    if missing:
        started = datetime.fromisoformat(state.round_started)
        if now - started < config.timeout:
            return state
        keys = ", ".join(f"try-{c.key}" for c in missing)
        return replace(state, phase=TIMED_OUT, detail=f"CI did not report on {keys}")
    judged = tuple(replace(c, verdict=verdicts[c.key]) for c in state.pending)
    state = replace(state, pending=(), tried=(*state.tried, *judged))
    if state.phase == ALONE:
        return _after_alone(state, judged[0].verdict, config, now)
    return _narrow(state, judged, config, now)


def _narrow(
    state: Bisection, judged: tuple[Candidate, ...], config: Culprit, now: datetime
) -> Bisection:
    """Move the window by a search round's verdicts (prefix length = candidate size)."""
    size = {c.key: len(c.prs) - len(state.fixed) for c in judged}
    failing = [size[c.key] for c in judged if c.verdict == FAIL]
    hi = min([state.hi, *failing])
    passing = [size[c.key] for c in judged if c.verdict == PASS and size[c.key] < hi]
    lo = max([state.lo, *passing]) if state.lo < hi else max([0, *passing])
    return _plan(replace(state, lo=lo, hi=hi), config, now)


def _after_alone(state: Bisection, verdict: str, config: Culprit, now: datetime) -> Bisection:
    suspect = state.pool[state.hi - 1]
    if verdict == FAIL:
        return _found(state, (suspect,))
    before = state.pool[: state.hi - 1]  # the suspect fails only with one of these
    partner = replace(state, phase=PARTNER, pool=before, fixed=(suspect,), lo=0, hi=len(before))
    return _plan(partner, config, now)


def _found(state: Bisection, group: tuple[int, ...]) -> Bisection:
    return replace(state, phase=FOUND, culprits=(*state.culprits, group), pending=(), fixed=())


# -- planning a round ----------------------------------------------------------------------


def _search(state: Bisection, prs: tuple[int, ...], config: Culprit, now: datetime) -> Bisection:
    gone = {n for group in state.culprits for n in group[-1:]}
    pool = tuple(n for n in prs if n not in gone)
    if not pool:
        return replace(state, phase=GAVE_UP, detail="no pull request left to bisect")
    searching = replace(state, phase=SEARCH, pool=pool, fixed=(), lo=0, hi=len(pool))
    return _plan(searching, config, now)


def _plan(state: Bisection, config: Culprit, now: datetime) -> Bisection:
    """Resolve a window of width 1, or ask for the next round's candidates."""
    if state.hi - state.lo <= 1:
        return _resolve(state, config, now)
    cuts = split(state.lo, state.hi, config.parallel)
    return _ask(state, tuple(state.pool[:m] for m in cuts), config, now)


def _resolve(state: Bisection, config: Culprit, now: datetime) -> Bisection:
    if state.hi <= 0:  # only with contradicting verdicts: the base itself "fails"
        return replace(state, phase=GAVE_UP, detail="the base fails without any pull request")
    last = state.pool[state.hi - 1]
    if state.phase == PARTNER:
        return _found(state, (last, *state.fixed))
    if state.lo == 0:  # prefix 1 failed: that is the suspect alone
        return _found(state, (last,))
    return _ask(replace(state, phase=ALONE), ((last,),), config, now, ordered=False)


def _ask(
    state: Bisection,
    subsets: tuple[tuple[int, ...], ...],
    config: Culprit,
    now: datetime,
    *,
    ordered: bool = True,
) -> Bisection:
    if state.rounds >= config.max_rounds:
        why = f"no culprit within {config.max_rounds} CI rounds"
        return replace(state, phase=GAVE_UP, pending=(), detail=why)
    order = {n: i for i, n in enumerate(state.prs)}
    first = state.next_key()
    pending = tuple(
        Candidate(first + i, tuple(sorted((*state.fixed, *subset), key=lambda n: order.get(n, 0))))
        if ordered
        else Candidate(first + i, subset)
        for i, subset in enumerate(subsets)
    )
    return replace(state, pending=pending, rounds=state.rounds + 1, round_started=now.isoformat())


def split(lo: int, hi: int, parts: int) -> tuple[int, ...]:
    """Up to `parts` prefix lengths strictly between lo and hi, spread evenly."""
    width = hi - lo
    count = min(parts, width - 1)
    return tuple(sorted({lo + (width * (i + 1)) // (count + 1) for i in range(count)}))


# -- the ledger ----------------------------------------------------------------------------


def load(extra: Mapping[str, Any]) -> Bisection | None:
    raw = extra.get(KEY)
    if not isinstance(raw, Mapping):
        return None
    data = dict(raw)
    for name in ("pending", "tried"):
        data[name] = tuple(
            Candidate(int(c["key"]), tuple(c["prs"]), c.get("verdict", ""))
            for c in data.get(name, ())
        )
    for name in ("prs", "pool", "fixed", "checks", "rerun_ids"):
        data[name] = tuple(data.get(name, ()))
    data["culprits"] = tuple(tuple(g) for g in data.get("culprits", ()))
    data["links"] = tuple(tuple(x) for x in data.get("links", ()))
    return Bisection(**data)


def store(extra: Mapping[str, Any], state: Bisection) -> dict[str, Any]:
    return {**extra, KEY: asdict(state)}
