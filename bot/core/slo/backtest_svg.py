"""The backtest's timeline as an SVG: one row per SLO and service and one for the stage, a
bar per run of equal verdicts, a line where the stage would have been reverted.

Pure (a `Timeline` in, text out). Names come from the config: every text is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

from bot.core.slo.answers import Verdict
from bot.core.slo.backtest import Timeline

COLOURS = {
    Verdict.PASS: "#2da44e",
    Verdict.FAIL: "#cf222e",
    Verdict.INCONCLUSIVE: "#8c959f",
    Verdict.ERROR: "#bf8700",
}
WIDTH, LABEL, ROW, TOP = 900, 220, 22, 30


def _runs(verdicts: Sequence[Verdict]) -> list[tuple[int, int, Verdict]]:
    """(first index, last index, verdict) of each run of equal verdicts."""
    runs: list[tuple[int, int, Verdict]] = []
    for i, verdict in enumerate(verdicts):
        if runs and runs[-1][2] == verdict:
            runs[-1] = (runs[-1][0], i, verdict)
        else:
            runs.append((i, i, verdict))
    return runs


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def render_svg(timeline: Timeline) -> str:
    points = timeline.points
    rows: list[tuple[str, list[Verdict]]] = [
        ("stage " + timeline.stage, [p.verdict for p in points])
    ]
    if points:
        for j, result in enumerate(points[0].results):
            name = f"{result.slo}/{result.service}" if result.service else result.slo
            rows.append((name, [p.results[j].verdict for p in points]))
    span = max(1, len(points))
    scale = (WIDTH - LABEL - 10) / span
    height = TOP + ROW * len(rows) + 30
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        f"<title>backtest of stage {escape(timeline.stage)}</title>",
    ]
    for r, (name, verdicts) in enumerate(rows):
        y = TOP + r * ROW
        out.append(f'<text x="4" y="{y + 14}">{escape(name)}</text>')
        for first, last, verdict in _runs(verdicts):
            x, w = LABEL + first * scale, max(1.0, (last - first + 1) * scale)
            tip = f"{verdict.value}: {_iso(points[first].at)} to {_iso(points[last].at)}"
            out.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{ROW - 4}" '
                f'fill="{COLOURS[verdict]}"><title>{escape(tip)}</title></rect>'
            )
    stop = timeline.stop
    if stop is not None:
        x = LABEL + points.index(stop) * scale
        bottom = TOP + ROW * len(rows)
        out.append(f'<line x1="{x:.1f}" y1="{TOP - 6}" x2="{x:.1f}" y2="{bottom}" '
                   'stroke="#000" stroke-width="2"/>')  # fmt: skip
        out.append(f'<text x="{x + 3:.1f}" y="{TOP - 10}">{stop.action} {_iso(stop.at)}</text>')
    if points:
        y = TOP + ROW * len(rows) + 16
        out.append(f'<text x="{LABEL}" y="{y}">{_iso(points[0].at)}</text>')
        out.append(f'<text x="{WIDTH - 10}" y="{y}" text-anchor="end">{_iso(points[-1].at)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
