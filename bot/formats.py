"""Plain formats shared by the commands, the transports and the demo: ISO 8601 instants in,
aligned text tables out. No imports from the rest of the bot but its errors, so any layer
may use them."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.errors import UsageError


def parse_instant(text: str | None, *, what: str = "--now") -> datetime:
    """Parse an ISO 8601 instant; naive values are UTC. None means the real clock."""
    if text is None:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{what}: {text!r} is not an ISO 8601 date or time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def render_table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain aligned text table."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)
