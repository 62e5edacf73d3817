"""Checks beyond the schema, on merged configuration data (pure: `now` is passed in).

Each check takes the merged data and a `locate(path, value)` function and returns problems.
They are defensive: values of the wrong shape are left to the schema's messages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

from bot.config.argocd_checks import check_argocd
from bot.config.artifact_checks import check_artifacts, check_images
from bot.config.durations import parse_duration
from bot.config.schemas import path_text
from bot.config.slo_checks import check_slos
from bot.errors import Problem

Path_ = tuple[str | int, ...]
Locate = Callable[[Path_, bool], tuple[str, int, int]]

_DATE = re.compile(r"^(?:(\d{4})-)?(\d{2})-(\d{2})$")


class Checker:
    """Collects problems for one merged configuration."""

    def __init__(self, data: dict[str, Any], locate: Locate) -> None:
        self.data = data
        self.locate = locate
        self.problems: list[Problem] = []

    def error(
        self, path: Path_, message: str, *, value: bool = True, severity: str = "error"
    ) -> None:
        file, line, col = self.locate(path, value)
        self.problems.append(Problem(message, file=file, line=line, col=col, severity=severity))

    def items(self, key: str) -> Iterator[tuple[Path_, dict[str, Any]]]:
        """(path, item) for each mapping in the top-level list `key`."""
        value = self.data.get(key)
        if isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    yield (key, index), item


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def semantic_problems(
    data: dict[str, Any], locate: Locate, now: datetime | None = None, *, references: bool = True
) -> list[Problem]:
    """Every problem the schema cannot see; warnings have severity 'warning'.

    The freeze-coverage warning needs `now` and is skipped without it."""
    checker = Checker(data, locate)
    check_unique_names(checker)
    if references:
        check_references(checker)
    check_cron(checker)
    check_globs(checker)
    check_durations(checker)
    check_cutover(checker)
    check_freezes(checker)
    check_slos(checker)
    check_templates(checker)
    check_labels(checker)
    check_images(checker)
    check_artifacts(checker)
    check_argocd(checker)
    if now is not None and not any(p.severity == "error" for p in checker.problems):
        from bot.config.coverage import check_freeze_coverage

        check_freeze_coverage(checker, now)
    return checker.problems


def _names(checker: Checker, key: str) -> dict[str, Path_]:
    return {
        item["name"]: path for path, item in checker.items(key) if isinstance(item.get("name"), str)
    }


def _check_unique(checker: Checker, items: list[tuple[Path_, Any]], what: str) -> None:
    seen: dict[str, Path_] = {}
    for path, item in items:
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str):
            continue
        if name in seen:
            first = checker.locate((*seen[name], "name"), True)
            checker.error(
                (*path, "name"), f"{what} name '{name}' is used twice (first at line {first[1]})"
            )
        else:
            seen[name] = path


def check_unique_names(checker: Checker) -> None:
    for key, what in (
        ("trains", "train"),
        ("stages", "stage"),
        ("services", "service"),
        ("slos", "SLO"),
        ("freezes", "freeze"),
    ):
        _check_unique(checker, list(checker.items(key)), what)
    waves = []
    for path, stage in checker.items("stages"):
        for index, wave in enumerate(_list(stage.get("waves"))):
            waves.append(((*path, "waves", index), wave))
    # Wave names must be unique across stages: ledger records and commits name waves alone.
    _check_unique(checker, waves, "wave")


def _refs(checker: Checker, path: Path_, refs: Any, known: dict[str, Path_], what: str) -> None:
    if not isinstance(refs, list):
        return
    for index, ref in enumerate(refs):
        if isinstance(ref, str) and ref not in known:
            hint = f"; known: {', '.join(sorted(known))}" if known else f"; no {what}s are defined"
            checker.error((*path, index), f"{path_text(path)} names unknown {what} '{ref}'{hint}")


def check_references(checker: Checker) -> None:
    services, slos = _names(checker, "services"), _names(checker, "slos")
    for path, train in checker.items("trains"):
        _refs(checker, (*path, "services"), train.get("services"), services, "service")
    for path, stage in checker.items("stages"):
        _refs(checker, (*path, "slos"), stage.get("slos"), slos, "SLO")
    gates = checker.data.get("gates")
    budget = gates.get("error_budget") if isinstance(gates, dict) else None
    if isinstance(budget, dict):
        _refs(checker, ("gates", "error_budget", "slos"), budget.get("slos"), slos, "SLO")
        per_slo = budget.get("per_slo")
        if isinstance(per_slo, dict):
            for name in per_slo:
                if name not in slos:
                    checker.error(
                        ("gates", "error_budget", "per_slo", name),
                        f"gates.error_budget.per_slo names unknown SLO '{name}'",
                        value=False,
                    )
    security = gates.get("security") if isinstance(gates, dict) else None
    sarif = isinstance(security, dict) and security.get("source") == "sarif"
    if sarif and isinstance(security, dict) and not security.get("sarif_path"):
        checker.error(
            ("gates", "security", "source"), "gates.security: source sarif needs sarif_path"
        )


def check_cron(checker: Checker) -> None:
    from croniter import croniter

    for path, train in checker.items("trains"):
        cadence = train.get("cadence")
        if not isinstance(cadence, str):
            continue
        fields = cadence.split()
        if len(fields) != 5:
            checker.error(
                (*path, "cadence"),
                f"cadence {cadence!r} must have five cron fields "
                f"(minute hour day month weekday), not {len(fields)}",
            )
        elif not croniter.is_valid(cadence):
            checker.error((*path, "cadence"), f"cadence {cadence!r} is not a valid cron expression")


def _glob_paths(checker: Checker) -> Iterator[tuple[Path_, str]]:
    def each(path: Path_, value: Any) -> Iterator[tuple[Path_, str]]:
        if isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, str):
                    yield (*path, index), item

    for path, service in checker.items("services"):
        yield from each((*path, "paths"), service.get("paths"))
        yield from each((*path, "manifests"), service.get("manifests"))
    for path, stage in checker.items("stages"):
        yield from each((*path, "manifests"), stage.get("manifests"))
        for index, wave in enumerate(_list(stage.get("waves"))):
            if isinstance(wave, dict):
                yield from each((*path, "waves", index, "manifests"), wave.get("manifests"))


def glob_problem(glob: str) -> str | None:
    """Why `glob` is not a relative path inside the repository, or None when it is fine."""
    if glob.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", glob):
        return f"glob {glob!r} is absolute; write it relative to the repository root"
    if "://" in glob:
        return f"glob {glob!r} is a URL; write a path relative to the repository root"
    if ".." in re.split(r"[/\\]", glob):
        return f"glob {glob!r} uses '..'; globs cannot leave the repository"
    if "\x00" in glob:
        return f"glob {glob!r} contains a NUL character"
    return None


def check_globs(checker: Checker) -> None:
    for path, glob in _glob_paths(checker):
        why = glob_problem(glob)
        if why:
            checker.error(path, why)


def _duration_paths(checker: Checker) -> Iterator[tuple[Path_, Any]]:
    for path, train in checker.items("trains"):
        deadlines = train.get("deadlines")
        if isinstance(deadlines, dict):
            for state, value in deadlines.items():
                yield (*path, "deadlines", state), value
    for path, stage in checker.items("stages"):
        yield (*path, "soak"), stage.get("soak")
        for index, wave in enumerate(_list(stage.get("waves"))):
            if isinstance(wave, dict):
                yield (*path, "waves", index, "soak"), wave.get("soak")
    for path, slo in checker.items("slos"):
        for key in ("window", "inconclusive_after", "initial_delay", "interval"):
            yield (*path, key), slo.get(key)
        for index, rule in enumerate(_list(slo.get("burn_rates"))):
            if isinstance(rule, dict):
                yield (*path, "burn_rates", index, "long"), rule.get("long")
                yield (*path, "burn_rates", index, "short"), rule.get("short")


def check_durations(checker: Checker) -> None:
    from bot.config.durations import PATTERN

    for path, value in _duration_paths(checker):
        if not isinstance(value, str) or not re.match(PATTERN, value) or len(value) < 2:
            continue  # absent, or the schema already says what is wrong
        try:
            parse_duration(value)
        except ValueError as exc:
            checker.error(path, f"{path_text(path)}: {exc}")
    for path, slo in checker.items("slos"):
        for index, rule in enumerate(_list(slo.get("burn_rates"))):
            long, short = _dur(rule, "long"), _dur(rule, "short")
            if long is not None and short is not None and short >= long:
                checker.error(
                    (*path, "burn_rates", index, "short"),
                    "burn rate: the short window must be shorter than the long one",
                )


def _dur(mapping: Any, key: str) -> timedelta | None:
    if not isinstance(mapping, dict) or not isinstance(mapping.get(key), str):
        return None
    try:
        return parse_duration(mapping[key])
    except ValueError:
        return None


def check_cutover(checker: Checker) -> None:
    cutover = checker.data.get("cutover")
    if not isinstance(cutover, dict):
        return
    zone = cutover.get("timezone")
    if isinstance(zone, str) and not _zone_exists(zone):
        checker.error(
            ("cutover", "timezone"),
            f"time zone {zone!r} does not exist; use an IANA name such as Europe/Berlin",
        )
    windows = cutover.get("windows")
    for index, window in enumerate(windows if isinstance(windows, list) else []):
        if isinstance(window, dict) and window.get("from") == window.get("to") is not None:
            checker.error(
                ("cutover", "windows", index, "to"),
                f"cutover window opens and closes at the same time ({window['to']})",
            )


def _zone_exists(name: str) -> bool:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not name or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def parse_freeze_day(text: str, yearly: bool) -> date | None:
    """A freeze day as a date (year 2000 for yearly MM-DD ones); None when not a real day."""
    match = _DATE.match(text)
    if not match:
        return None
    year, month, day = match.groups()
    try:
        return date(2000 if yearly or year is None else int(year), int(month), int(day))
    except ValueError:
        return None


def check_freezes(checker: Checker) -> None:
    for path, freeze in checker.items("freezes"):
        yearly = freeze.get("yearly") is True
        days = {}
        for key in ("from", "to"):
            text = freeze.get(key)
            if not isinstance(text, str) or not _DATE.match(text):
                continue
            if not yearly and len(text) == 5:
                checker.error(
                    (*path, key),
                    f"freeze {key} {text!r} needs a year (YYYY-MM-DD); "
                    "add 'yearly: true' for a freeze that repeats every year",
                )
                continue
            day = parse_freeze_day(text, yearly)
            if day is None:
                checker.error((*path, key), f"freeze {key} {text!r} is not a real date")
            days[key] = day
        start, end = days.get("from"), days.get("to")
        if start and end and not yearly and end < start:
            checker.error((*path, "to"), f"freeze ends ({end}) before it starts ({start})")


TAG_FIELDS = ("sha", "short_sha", "train", "date")
_SAMPLE = {
    "sha": "0123456789abcdef0123456789abcdef01234567",
    "short_sha": "0123456",
    "train": "daily-2026-11-26.2",
    "date": "2026-11-26",
}
_DOCKER_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_BAD_REF = re.compile(r"(\.\.|[\s~^:?*\[\\]|@\{|//|^/|/$|\.lock$|^-|\.$)")


def template_problem(template: str, allowed: tuple[str, ...]) -> str | None:
    """Why a `str.format` template with only these named fields would fail, or None."""
    from string import Formatter

    try:
        fields = [name for _, name, _, _ in Formatter().parse(template) if name is not None]
    except ValueError as exc:
        return f"template {template!r} is malformed ({exc}); write braces as {{{{ and }}}}"
    for name in fields:
        if name not in allowed:
            known = ", ".join("{" + a + "}" for a in allowed)
            shown = "{" + name + "}" if name else "{}"
            return f"template {template!r} uses {shown}; known: {known}"
    try:
        template.format(**_SAMPLE)
    except (ValueError, KeyError, IndexError, AttributeError) as exc:
        return f"template {template!r} cannot be filled in: {exc}"
    return None


def check_templates(checker: Checker) -> None:
    for path, service in checker.items("services"):
        tag = service.get("tag")
        if not isinstance(tag, str):
            continue
        why = template_problem(tag, TAG_FIELDS)
        if why is None and not _DOCKER_TAG.match(tag.format(**_SAMPLE)):
            why = (
                f"tag {tag!r} does not make a valid image tag (letters, digits, '_', '.', "
                "'-'; at most 128; not starting with '.' or '-')"
            )
        if why:
            checker.error((*path, "tag"), why)
    for path, train in checker.items("trains"):
        branch = train.get("release_branch")
        if not isinstance(branch, str):
            continue
        why = template_problem(branch, ("train",))
        if why is None and _BAD_REF.search(branch.format(**_SAMPLE)):
            why = f"release_branch {branch!r} does not make a valid Git branch name"
        if why:
            checker.error((*path, "release_branch"), why)
        elif "{train}" not in branch:
            checker.error(
                (*path, "release_branch"),
                f"release_branch {branch!r} has no {{train}}: every train would reuse "
                "the same branch",
                severity="warning",
            )


def check_labels(checker: Checker) -> None:
    """A PR label on a base branch must pick one train line: a shared boarding label is an
    error, a shared emergency label a warning (each line would start an emergency train)."""
    from bot.config.model import Train

    seen: dict[tuple[str, str], str] = {}
    for path, train in checker.items("trains"):
        base = train.get("base", Train.base)
        for key, default in (("label", Train.label), ("emergency_label", Train.emergency_label)):
            label = train.get(key, default)
            if not isinstance(label, str) or not isinstance(base, str):
                continue
            owner = f"{key} of train '{train.get('name', '?')}'"
            if (label, base) not in seen:
                seen[(label, base)] = owner
                continue
            where = (*path, key) if key in train else (*path, "name")
            if key == "label":
                checker.error(
                    where,
                    f"label {label!r} is also the {seen[(label, base)]} on "
                    f"base {base!r}; each label must pick one train",
                    value=key in train,
                )
            else:
                checker.error(
                    where,
                    f"emergency label {label!r} is also the "
                    f"{seen[(label, base)]} on base {base!r}: an emergency PR would "
                    "start an emergency train on each",
                    value=key in train,
                    severity="warning",
                )
