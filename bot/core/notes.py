"""Release notes and the train PR body.

The body has a hidden marker naming the train and a generated region between
``<!-- release-train:begin -->`` and ``<!-- release-train:end -->``; when the bot regenerates
it, everything a human wrote outside the region is kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.config.model import Config, NoteCategory, Train
from bot.core import untrusted
from bot.core.gates import flags, migrations
from bot.core.ledger import Boarded, TrainRecord

BEGIN = "<!-- release-train:begin -->"
END = "<!-- release-train:end -->"

DEFAULT_CATEGORIES = (
    NoteCategory("Features", ("feature", "feat", "enhancement", "type:feature")),
    NoteCategory("Fixes", ("fix", "bug", "bugfix", "type:fix", "type:bug")),
    NoteCategory("Security", ("security", "type:security")),
)
OTHER = "Other"


def id_marker(train_id: str) -> str:
    return f"<!-- release-train:train-id={train_id} -->"


def train_id_from_body(body: str) -> str | None:
    start = body.find("<!-- release-train:train-id=")
    if start < 0:
        return None
    end = body.find(" -->", start)
    return body[start + len("<!-- release-train:train-id=") : end] if end > 0 else None


def categorize(
    boarded: Sequence[Boarded], categories: Sequence[NoteCategory]
) -> list[tuple[str, list[Boarded]]]:
    """Group PRs under the first category one of their labels names; the rest under Other."""
    groups: dict[str, list[Boarded]] = {c.title: [] for c in categories}
    groups[OTHER] = []
    for entry in boarded:
        title = next((c.title for c in categories if set(c.labels) & set(entry.labels)), OTHER)
        groups[title].append(entry)
    return [(title, entries) for title, entries in groups.items() if entries]


def _service_tags(config: Config, train: Train, record: TrainRecord, day: datetime) -> list[str]:
    names = train.services or tuple(s.name for s in config.services)
    sha = record.release_sha or record.base_sha
    lines = []
    for name in names:
        service = next((s for s in config.services if s.name == name), None)
        if service is None:
            continue
        tag = service.tag.format(
            sha=sha, short_sha=sha[:7], train=record.id, date=day.strftime("%Y-%m-%d")
        )
        lines.append(f"- `{service.name}` → `{service.image}:{tag}`")
    return lines


def duration(delta: timedelta) -> str:
    """``1h 30m``, ``2d``, ``45s``: a soak time as people write it."""
    seconds = int(delta.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return " ".join(parts) or "0s"


def _gates(config: Config, record: TrainRecord) -> list[str]:
    rule = config.gates.emergency_approvals if record.emergency else config.gates.approvals
    required = config.gates.ci.get("required") or ()
    checks = ", ".join(f"`{c}`" for c in required) if isinstance(required, list) else ""
    return [
        f"- CI: {'required checks ' + checks if checks else 'every check on the head'} green",
        f"- Approvals: {rule.required} from someone who is not an author of a boarded PR",
        "- Cutover window open"
        + ("" if not record.emergency else " (waived for an emergency train)"),
        "- No freeze in force",
        *_optional_gates(config),
    ]


def _optional_gates(config: Config) -> list[str]:
    """What the flags and migrations gates (when configured) ask of this train."""
    lines = []
    if config.gates.flags:
        need = flags.settings_from_config(config.gates.flags).require
        words = {"owner": "an owner", "expires": "an expiry"}
        what = " and ".join(words.get(n, n) for n in need)
        has = f"has {what} and " if what else ""
        lines.append(f"- Feature flags: each flag the train adds or changes {has}is not expired")
    if config.gates.migrations:
        gate = migrations.settings_from_config(config.gates.migrations)
        asks = [f"{gate.required} approval(s) from {code_span(gate.approvers)}"] * bool(
            gate.approvers
        )
        asks += ["a migration window open"] * bool(gate.windows)
        lines.append("- Database migrations: " + (" and ".join(asks) or "listed") + " (if any)")
    return lines


def release_notes(
    config: Config,
    train: Train,
    record: TrainRecord,
    now: datetime,
    gates: Mapping[str, Any] | None = None,
) -> str:
    """The generated Markdown: notes by category, misses, services and tags, stages, gates.

    `gates`: this train's gate facts by gate name, as the shell gathered them
    (`Ctx.gate_facts[record.id]`); with `flags` facts the notes get a "Feature flags"
    section, with `migrations` facts a "Database migrations" one, and the PRs named in
    `PR_MIGRATIONS` (PR number -> its migration paths) are marked as carrying migrations."""
    gates = gates or {}
    carriers = migration_carriers(config, gates)
    lines = [f"## Release train {record.id}", ""]
    if record.emergency:
        lines += ["**Emergency train** (stricter approval policy).", ""]
    if record.held:
        lines += [f"**Held**: {untrusted.inline(record.hold_reason) or 'no reason given'}", ""]
    if record.state == "aborted":
        why = untrusted.inline(record.end_reason)
        lines += [f"**Aborted**: {why}. Its pull requests board the next train.", ""]
    for title, entries in categorize(record.boarded, train.notes or DEFAULT_CATEGORIES):
        lines.append(f"### {title}")
        lines += [
            f"- #{b.number} {untrusted.inline(b.title)} ({untrusted.login(b.author)})"
            + (f" — {MIGRATION_MARK}" if b.number in carriers else "")
            for b in entries
        ]
        lines.append("")
    if not record.boarded:
        lines += ["_No pull requests boarded._", ""]
    if record.missed:
        lines.append("### Missed this train")
        lines += [
            f"- #{m.number}: {untrusted.markdown_line(m.detail or m.reason)}" for m in record.missed
        ]
        lines.append("")
    services = _service_tags(config, train, record, record.created_at or now)
    if services:
        lines += ["### Services", *services, ""]
    if config.stages:
        lines.append("### Stages")
        lines += [
            f"{i}. {s.name} (soak {duration(s.soak)})" for i, s in enumerate(config.stages, 1)
        ]
        lines.append("")
    lines += gate_sections(config, gates, now)
    lines += ["### Gates", *_gates(config, record)]
    return "\n".join(lines).rstrip() + "\n"


MIGRATION_MARK = "🗄️ **carries database migrations**"
PR_MIGRATIONS = "pr-migrations"  # key in the gate facts: PR number -> its migration paths
MAX_LISTED = 50


def migration_carriers(config: Config, gates: Mapping[str, Any]) -> frozenset[int]:
    """The boarded PRs whose own changes touch migration paths (`PR_MIGRATIONS`)."""
    by_pr = gates.get(PR_MIGRATIONS) or {}
    return (
        frozenset(n for n, paths in by_pr.items() if paths)
        if config.gates.migrations
        else frozenset()
    )


def gate_sections(config: Config, gates: Mapping[str, Any], now: datetime) -> list[str]:
    """ "Feature flags" (each flag the train adds, changes or removes, with owner and expiry)
    and "Database migrations" (the migration files it carries), from the gates' facts."""
    lines: list[str] = []
    facts = gates.get("flags")
    if config.gates.flags and isinstance(facts, flags.FlagFacts):
        touched, _ = flags.touched_flags(facts)
        lines += ["### Feature flags"]
        lines += [_flag_line(t, now) for t in touched[:MAX_LISTED]] or ["_No flag changes._"]
        lines += [f"- … and {len(touched) - MAX_LISTED} more"] * (len(touched) > MAX_LISTED)
        lines.append("")
    facts = gates.get("migrations")
    if config.gates.migrations and isinstance(facts, migrations.MigrationFacts):
        settings = migrations.settings_from_config(config.gates.migrations)
        found = migrations.migration_paths(facts.changed_paths, settings.paths)
        if found:
            lines += ["### Database migrations"]
            lines += [f"- {code_span(p)}" for p in found[:MAX_LISTED]]
            lines += [f"- … and {len(found) - MAX_LISTED} more"] * (len(found) > MAX_LISTED)
            lines.append("")
    return lines


def _flag_line(touched: flags.Touched, now: datetime) -> str:
    flag = touched.flag
    name = code_span(flag.name)
    if touched.change == "removed":
        return f"- {name} removed (flag debt paid off)"
    owner = f"owner {code_span(flag.owner)}" if flag.owner else "no owner"
    expires = f"expires {flag.expires}" if flag.expires else "no expiry"
    if flag.expired(now.date()):
        expires = f"**expired** on {flag.expires}"
    on = ", on for everyone" if flag.on_for_everyone else ""
    return f"- {name} {touched.change} ({owner}, {expires}{on})"


def code_span(text: object, limit: int = 200) -> str:
    """Untrusted text (a path, a flag name) as one Markdown code span: no backtick to end
    it early, no line break, no ``<``/``>`` (nothing the bot reads back as its own marker),
    bounded; inside it nothing is Markdown or HTML."""
    flat = str(text).replace("`", "'").replace("<", "‹").replace(">", "›")
    flat = " ".join(flat.split())
    return f"`{flat[:limit] + '…' if len(flat) > limit else flat}`"


def render_body(train_id: str, generated: str, existing: str | None = None) -> str:
    """The PR body with `generated` in the marked region; text outside it is kept."""
    region = f"{BEGIN}\n{generated.rstrip()}\n{END}"
    if existing and BEGIN in existing and END in existing.split(BEGIN, 1)[1]:
        before, rest = existing.split(BEGIN, 1)
        after = rest.split(END, 1)[1]
        body = f"{before}{region}{after}"
    elif existing:
        body = f"{existing.rstrip()}\n\n{region}\n"
    else:
        body = f"{region}\n"
    if id_marker(train_id) not in body:
        body = f"{id_marker(train_id)}\n{body}"
    return body


def generated_region(body: str) -> str | None:
    if BEGIN not in body:
        return None
    rest = body.split(BEGIN, 1)[1]
    return rest.split(END, 1)[0].strip("\n") if END in rest else None


def deadline_notice(
    record: TrainRecord,
    state: str,
    limit: timedelta,
    bumped: Sequence[tuple[str, str, str]],
    not_bumped: Sequence[str],
) -> str:
    """What the train PR says when a merged or promoting train passes its deadline: the
    train is aborted, promotion stops, what stays as it is, and what a human should do.
    `bumped`: (step, status, commit) of each step that wrote its bump; `not_bumped`: the
    steps that never will."""
    lines = [
        f"⏰ Release train **{record.id}** stayed `{state}` longer than its deadline "
        f"({duration(limit)}): it is **aborted** (reason `deadline`) and promotion has "
        "stopped. The bot bumps no further stage for this train.",
        "",
    ]
    lines += stages_left(
        bumped, not_bumped, "Stages already bumped are left as they are (nothing was reverted):"
    )
    lines += [
        "",
        "**What to do:** the boarded pull requests are already in the base branch, so they "
        "do not board again. Check the bumped stages; to undo one, revert its commit above. "
        "To ship the rest, bump the remaining stages by hand, or let a later train carry a "
        "change to these services (a train promotes only the services its own pull "
        "requests change).",
    ]
    return "\n".join(lines)


def stages_left(
    bumped: Sequence[tuple[str, str, str]], not_bumped: Sequence[str], header: str
) -> list[str]:
    """Where a stopped train left each stage: (name, status, commit) bumped, and the rest."""
    lines = [header] if bumped else []
    lines += [f"- `{name}`: {status} (commit `{sha[:12]}`)" for name, status, sha in bumped]
    if not bumped:
        lines.append("No stage was bumped: every environment still runs what it ran before.")
    if not_bumped:
        lines.append("Not bumped: " + ", ".join(f"`{n}`" for n in not_bumped) + ".")
    return lines
