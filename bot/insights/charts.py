"""Small server-rendered SVG charts (pure): accessible (`role="img"`, `<title>`, `<desc>`).

The geometry is computed here; the markup is the Jinja2 templates ``bar_chart.svg.html``
and ``progress.svg.html`` (autoescaped)."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup

from bot.insights.html import render

PALETTE = ("#1d4ed8", "#047857", "#b45309", "#b91c1c", "#6d28d9", "#0f766e", "#374151")
PILL_FILL = {"done": "#047857", "running": "#1d4ed8", "failed": "#b91c1c", "pending": "#e5e7eb"}
PILL_INK = {"pending": "#111827"}


def bar_chart(
    chart_id: str,
    title: str,
    bars: Sequence[tuple[str, float]],
    *,
    unit: str = "",
    width: int = 360,
    bar_height: int = 22,
) -> Markup:
    """Horizontal bars, one per (label, value), labelled with the value."""
    label_w, pad = 130, 6
    height = max(1, len(bars)) * (bar_height + pad) + pad
    top = max((v for _, v in bars), default=0.0) or 1.0
    span = width - label_w - 70
    shapes = []
    for i, (label, value) in enumerate(bars):
        y = pad + i * (bar_height + pad)
        w = max(1.0, span * value / top) if value else 0.0
        shapes.append(
            {
                "label": label,
                "text": f"{value:g}{(' ' + unit) if unit else ''}",
                "label_x": label_w - 6,
                "text_y": f"{y + bar_height * 0.7:.1f}",
                "x": label_w,
                "y": y,
                "width": f"{w:.1f}",
                "height": bar_height,
                "value_x": f"{label_w + w + 4:.1f}",
                "colour": PALETTE[i % len(PALETTE)],
            }
        )
    desc = "; ".join(f"{label}: {value:g}" for label, value in bars) or "no data"
    return render(
        "bar_chart.svg.html",
        id=chart_id,
        title=title,
        desc=desc,
        width=width,
        height=height,
        bars=shapes,
    )


def progress(stages: Sequence[tuple[str, str]], chart_id: str) -> Markup:
    """Stage pills: (stage, status) with status done | running | failed | pending."""
    w, h, gap = 96, 24, 6
    pills = [
        {
            "name": name,
            "x": i * (w + gap),
            "width": w,
            "centre": i * (w + gap) + w / 2,
            "fill": PILL_FILL.get(status, "#e5e7eb"),
            "ink": PILL_INK.get(status, "#ffffff"),
        }
        for i, (name, status) in enumerate(stages)
    ]
    desc = ", ".join(f"{n}: {s}" for n, s in stages) or "no stages configured"
    return render(
        "progress.svg.html",
        id=chart_id,
        desc=desc,
        width=max(1, len(stages)) * (w + gap),
        height=h,
        pills=pills,
    )
