"""`demo --use-prometheus URL`: is that Prometheus there, and does it hold the demo's traffic?

Without this check an unreachable Prometheus, or one that never saw the demo's dates, would
show up as the story failing ("the bot misbehaved") when the bot did what it should: hold a
stage whose SLOs cannot be judged. Also what to load into it: the demo's simulated traffic
as raw counters, in the OpenMetrics text `promtool tsdb create-blocks-from openmetrics` takes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from bot.demo.metrics import METRIC, counter_series
from bot.demo.scene import MONDAY, breach_plan
from bot.errors import CheckFailed, ExternalError

SERVICES = ("checkout", "frontend", "payments")
ENVS = ("staging", "canary", "eu-west", "us-east")
# The story's virtual days, with the 6 h the longest burn-rate window looks back.
HISTORY = (MONDAY - timedelta(hours=7), MONDAY + timedelta(days=1, hours=6))
PROBE_AT = MONDAY + timedelta(hours=2)

SeriesData = tuple[dict[str, str], list[tuple[float, float]]]


def demo_history(seed: int = 0, step: timedelta = timedelta(seconds=30)) -> list[SeriesData]:
    """The demo's traffic as raw counters over the story's days (what to backfill)."""
    start, end = HISTORY
    return counter_series(breach_plan(seed), SERVICES, ENVS, start, end, step)


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def openmetrics(series: Iterable[SeriesData]) -> str:
    """OpenMetrics text of `series` (timestamps in seconds), families kept together, `# EOF`."""
    by_family: dict[str, list[str]] = {}
    for labels, samples in series:
        name = labels["__name__"]
        rest = ",".join(
            f'{k}="{_escape_label(v)}"' for k, v in sorted(labels.items()) if k != "__name__"
        )
        selector = f"{name}{{{rest}}}" if rest else name
        lines = by_family.setdefault(name, [])
        lines += [f"{selector} {float(v)!r} {t:.3f}" for t, v in samples]
    out = []
    for name, lines in by_family.items():
        out.append(f"# TYPE {name} unknown")
        out += lines
    out.append("# EOF")
    return "\n".join(out) + "\n"


LOAD_HINT = (
    "load the demo's traffic first: release-train demo --print-metrics > demo.om && "
    "promtool tsdb create-blocks-from openmetrics demo.om DATA_DIR, then start Prometheus "
    "with --storage.tsdb.path=DATA_DIR"
)


def check_prometheus(client: Any, url: str) -> None:
    """Raise `ExternalError` (exit 4) when `url` does not answer, `CheckFailed` (exit 1)
    when it answers but holds none of the demo's traffic."""
    try:
        client.query("vector(1)", PROBE_AT)
    except ExternalError as exc:
        why = exc.message.removeprefix(f"{exc.system}: ")
        raise ExternalError(
            "prometheus",
            f"--use-prometheus {url} did not answer ({why}); start it, or leave the "
            "flag out to use the built-in metrics source",
            status=exc.status,
        ) from exc
    probe = f'count({METRIC}{{service="{SERVICES[0]}",env="canary"}})'
    if client.query(probe, PROBE_AT).empty:
        raise CheckFailed(
            f"--use-prometheus {url} answers but has no {METRIC} for the demo's dates "
            f"(none at {PROBE_AT.isoformat()}); {LOAD_HINT}"
        )
