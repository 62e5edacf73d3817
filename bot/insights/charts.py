"""Small server-rendered SVG charts (pure): accessible (`role="img"`, `<title>`, `<desc>`)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

PALETTE = ("#1d4ed8", "#047857", "#b45309", "#b91c1c", "#6d28d9", "#0f766e", "#374151")


def bar_chart(
    chart_id: str,
    title: str,
    bars: Sequence[tuple[str, float]],
    *,
    unit: str = "",
    width: int = 360,
    bar_height: int = 22,
) -> str:
    """Horizontal bars, one per (label, value), labelled with the value."""
    label_w, pad = 130, 6
    height = max(1, len(bars)) * (bar_height + pad) + pad
    top = max((v for _, v in bars), default=0.0) or 1.0
    span = width - label_w - 70
    rows = []
    for i, (label, value) in enumerate(bars):
        y = pad + i * (bar_height + pad)
        w = max(1.0, span * value / top) if value else 0.0
        colour = PALETTE[i % len(PALETTE)]
        text = f"{value:g}{(' ' + unit) if unit else ''}"
        rows.append(
            f'<text x="{label_w - 6}" y="{y + bar_height * 0.7:.1f}" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_height}" '
            f'fill="{colour}"><title>{escape(label)}: {escape(text)}</title></rect>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + bar_height * 0.7:.1f}">{escape(text)}</text>'
        )
    desc = "; ".join(f"{label}: {value:g}" for label, value in bars) or "no data"
    return (
        f'<svg class="chart" id="{escape(chart_id)}" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{chart_id}-t">{escape(title)}</title>'
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>' + "".join(rows) + "</svg>"
    )


def progress(stages: Sequence[tuple[str, str]], chart_id: str) -> str:
    """Stage pills: (stage, status) with status done | running | failed | pending."""
    fill = {"done": "#047857", "running": "#1d4ed8", "failed": "#b91c1c", "pending": "#e5e7eb"}
    ink = {"pending": "#111827"}
    w, h, gap = 96, 24, 6
    width = max(1, len(stages)) * (w + gap)
    parts = []
    for i, (name, status) in enumerate(stages):
        x = i * (w + gap)
        bg, fg = fill.get(status, "#e5e7eb"), ink.get(status, "#ffffff")
        parts.append(
            f'<rect x="{x}" y="0" width="{w}" height="{h}" rx="4" fill="{bg}"/>'
            f'<text x="{x + w / 2}" y="16" text-anchor="middle" fill="{fg}">'
            f"{escape(name)}</text>"
        )
    desc = ", ".join(f"{n}: {s}" for n, s in stages) or "no stages configured"
    return (
        f'<svg class="progress" role="img" width="{width}" height="{h}" viewBox="0 0 {width} {h}" '
        f'aria-labelledby="{chart_id}-t" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{chart_id}-t">Stage progress: {escape(desc)}</title>'
        + "".join(parts)
        + "</svg>"
    )
