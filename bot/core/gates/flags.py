"""The `flags` gate: the feature flags a train adds, changes or removes are kept in order.

Facts are the flag files (`gates.flags.files`, globs) the train changes, with their text on
the base branch and on the train PR head. For each flag added or changed: a missing owner or
expiry (per `require`) fails; an expiry before today (`now`) fails or warns (`on_expired`);
a flag new in this train and already on for everyone warns (`default_on_new`). Removed flags
are credited. A flag file on the head that does not parse or violates the flagd schema fails
with FILE:LINE:COL. Warnings do not block: they are annotations on a `success`.
Without `files` configured the gate is not run (see `registry.GateSpec.optional`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.core import untrusted
from bot.core.flagfile import Flag, parse_flag_file
from bot.core.gates.base import (
    Annotation,
    GateResult,
    as_str_tuple,
    choice,
    config_error,
    settings_keys,
)
from bot.errors import Problem

NAME = "flags"
REQUIREMENTS = ("owner", "expires")


@dataclass(frozen=True)
class FlagFileTexts:
    path: str
    base: str | None  # None: the file is not on the base branch
    head: str | None  # None: the train removes the file


@dataclass(frozen=True)
class FlagFacts:
    files: tuple[FlagFileTexts, ...] = ()


@dataclass(frozen=True)
class FlagSettings:
    files: tuple[str, ...] = ()
    require: tuple[str, ...] = REQUIREMENTS
    on_expired: str = "fail"  # fail | warn
    default_on_new: str = "warn"  # warn | fail | allow


def settings_from_config(mapping: Mapping[str, object]) -> FlagSettings:
    settings_keys(mapping, ("files", "require", "on_expired", "default_on_new"), NAME)
    base = FlagSettings()
    require = as_str_tuple(mapping.get("require", base.require), "gates.flags.require")
    for item in require:
        choice(item, REQUIREMENTS, "gates.flags.require")
    files = as_str_tuple(mapping.get("files", ()), "gates.flags.files")
    if any(not f.strip() for f in files):
        raise config_error("gates.flags.files: a path or glob may not be empty")
    return FlagSettings(
        files=files,
        require=require,
        on_expired=choice(mapping.get("on_expired", "fail"), ("fail", "warn"), "on_expired"),
        default_on_new=choice(
            mapping.get("default_on_new", "warn"), ("warn", "fail", "allow"), "default_on_new"
        ),
    )


@dataclass(frozen=True)
class Touched:
    """One flag the train adds, changes or removes, and what the gate found."""

    flag: Flag
    change: str  # added | changed | removed
    findings: tuple[Problem, ...] = ()


def touched_flags(facts: FlagFacts) -> tuple[list[Touched], list[Problem]]:
    """Flags that differ between base and head (by name across the files), and the problems
    of head files that cannot be read. A base file that cannot be read counts as empty."""
    base: dict[str, Flag] = {}
    head: dict[str, Flag] = {}
    problems: list[Problem] = []
    for texts in facts.files:
        if texts.base is not None:
            base.update({f.name: f for f in parse_flag_file(texts.base, texts.path).flags})
        if texts.head is not None:
            parsed = parse_flag_file(texts.head, texts.path)
            problems += parsed.problems
            head.update({f.name: f for f in parsed.flags})
    out = [Touched(head[n], "added") for n in head if n not in base]
    out += [Touched(head[n], "changed") for n in head if n in base and head[n].body != base[n].body]
    out += [Touched(base[n], "removed") for n in base if n not in head]
    return sorted(out, key=lambda t: (t.flag.file, t.flag.line, t.flag.name)), problems


def findings(touched: Touched, settings: FlagSettings, now: datetime) -> tuple[Problem, ...]:
    flag = touched.flag
    if touched.change == "removed":
        return ()

    def at(message: str, severity: str = "error") -> Problem:
        return Problem(f"flag `{flag.name}`: {message}", flag.file, flag.line, flag.col, severity)

    out = []
    if "owner" in settings.require and not flag.owner:
        out.append(at("has no owner (metadata `owner`)"))
    if "expires" in settings.require and flag.expires is None:
        out.append(at("has no expiry (metadata `expires`)"))
    if flag.expired(now.date()):
        level = "error" if settings.on_expired == "fail" else "warning"
        out.append(at(f"expired on {flag.expires}", level))
    if touched.change == "added" and flag.on_for_everyone and settings.default_on_new != "allow":
        level = "error" if settings.default_on_new == "fail" else "warning"
        out.append(at("is new in this train and already on for everyone", level))
    return tuple(out)


class FlagsGate:
    name = NAME

    def evaluate(self, facts: FlagFacts, settings: FlagSettings, now: datetime) -> GateResult:
        touched, unreadable = touched_flags(facts)
        touched = [Touched(t.flag, t.change, findings(t, settings, now)) for t in touched]
        found = unreadable + [p for t in touched for p in t.findings]
        errors = [p for p in found if p.severity != "warning"]
        warnings = len(found) - len(errors)
        removed = sum(1 for t in touched if t.change == "removed")
        details = {
            "flags": [{"name": t.flag.name, "change": t.change, "owner": t.flag.owner,
                       "expires": str(t.flag.expires or "")} for t in touched[:500]],
            "problems": [p.render() for p in found[:200]],
        }  # fmt: skip
        summary = "\n\n".join(s for s in (_table(touched), _problem_list(found)) if s)
        annotations = tuple(_annotation(p) for p in found[:50])
        if errors:
            title = f"{len(errors)} flag problem(s)"
            return GateResult(NAME, "failure", title, summary, annotations, details=details)
        if not touched:
            none = "This train adds, changes and removes no flags."
            return GateResult(NAME, "success", "No feature flags touched", none, details=details)
        title = f"{len(touched)} flag(s) touched, {removed} removed"
        if warnings:
            title += f", {warnings} warning(s)"
        return GateResult(NAME, "success", title, summary, annotations, details=details)


def _table(touched: Sequence[Touched], limit: int = 200) -> str:
    if not touched:
        return ""
    lines = ["| flag | file | change | owner | expires | on for everyone | result |",
             "| --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for t in touched[:limit]:
        result = "credited (removed)" if t.change == "removed" else _result(t.findings)
        on = "yes" if t.flag.on_for_everyone else "no"
        where = f"{t.flag.file}:{t.flag.line}"
        cells = (
            t.flag.name,
            where,
            t.change,
            t.flag.owner or "—",
            t.flag.expires or "—",
            on,
            result,
        )
        lines.append("| " + " | ".join(untrusted.cell(c) for c in cells) + " |")
    if len(touched) > limit:
        lines.append(f"\n… and {len(touched) - limit} more")
    return "\n".join(lines)


def _result(found: Sequence[Problem]) -> str:
    if not found:
        return "ok"
    return "; ".join(p.message.split(": ", 1)[-1] for p in found)


def _problem_list(problems: Sequence[Problem], limit: int = 100) -> str:
    return "\n".join(f"- {untrusted.markdown_line(p.render())}" for p in problems[:limit])


def _annotation(problem: Problem) -> Annotation:
    return Annotation(
        path=problem.file,
        start_line=max(problem.line, 1),
        end_line=max(problem.line, 1),
        annotation_level="warning" if problem.severity == "warning" else "failure",
        message=problem.message,
        title="feature flag",
    )


GATE = FlagsGate()
