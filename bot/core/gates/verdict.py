"""The train verdict: may the train merge, what blocks it, and the `Gates:` trailer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.core.gates.base import GateResult


@dataclass(frozen=True)
class Verdict:
    may_merge: bool
    blocking: tuple[str, ...]  # gate names that are not green
    trailer: str  # value of the merge commit's `Gates:` trailer


def _canon(name: str) -> str:
    """Gate names compare without regard to `_` vs `-` (`error_budget` is `error-budget`)."""
    return name.strip().lower().replace("_", "-")


def train_verdict(results: Sequence[GateResult], allow_neutral: Iterable[str] = ()) -> Verdict:
    """Every gate `success`, or `neutral` where allowed; otherwise the blocking gates.

    With no gate results at all the train may not merge: nothing was checked.
    """
    lenient = {_canon(n) for n in allow_neutral}
    blocking = tuple(r.gate for r in results if not _green(r, lenient))
    trailer = ", ".join(f"{r.gate}={r.conclusion}" for r in results)
    return Verdict(may_merge=bool(results) and not blocking, blocking=blocking, trailer=trailer)


def _green(result: GateResult, lenient: set[str]) -> bool:
    if result.conclusion == "success":
        return True
    return result.conclusion == "neutral" and _canon(result.gate) in lenient


def parse_trailer(value: str) -> dict[str, str]:
    """The `Gates:` trailer back into {gate: conclusion} (for audit)."""
    out: dict[str, str] = {}
    for part in value.split(","):
        gate, sep, conclusion = part.strip().partition("=")
        if sep and gate:
            out[gate.strip()] = conclusion.strip()
    return out


@dataclass(frozen=True)
class GateTransition:
    """A gate whose conclusion changed: one ledger entry (event ``gate``)."""

    gate: str
    previous: str | None  # None: first evaluation on this train
    conclusion: str
    title: str
    summary: str

    def trailer(self) -> str:
        """Value of the ledger commit's `Gate:` trailer, e.g. ``ci=failure``."""
        return f"{self.gate}={self.conclusion}"


def transitions(
    previous: Mapping[str, str], results: Sequence[GateResult]
) -> tuple[GateTransition, ...]:
    """The results whose conclusion differs from the last recorded one (`{gate: conclusion}`)."""
    return tuple(
        GateTransition(r.gate, previous.get(r.gate), r.conclusion, r.title, r.summary)
        for r in results
        if previous.get(r.gate) != r.conclusion
    )
