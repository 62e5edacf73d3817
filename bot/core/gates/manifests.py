"""The `manifests` gate: every manifest the train will bump parses, the bump applies, and the
result validates against a JSON Schema.

Schemas, first match wins: a schema configured for the file's path (`schemas: {glob: path}`,
its text fetched by the adapter), the chart's `values.schema.json` for Helm values, or a
shipped schema for the document's kind (Deployment, StatefulSet, DaemonSet, CronJob,
kustomize Kustomization/Component). Documents of other kinds are listed as not validated.
Kustomize patches (a `$patch` directive, or a path matching `patches`) are validated with
nothing required. `null` values count as absent, as in Kubernetes. Errors are annotations at
the file and line; a configured schema that is missing is a failure that says so.
Places that name a bumped image but are not edited (inside a block scalar, in a document that
is not deployable, in a file that does not parse) are listed with FILE:LINE and why, as
`release-train bump` reports them, and annotated as warnings (`manifests_bumps`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any

import regex

from bot.core.gates.base import (
    Annotation,
    GateResult,
    as_bool,
    as_str_tuple,
    config_error,
    markdown_table,
    settings_keys,
)
from bot.core.gates.manifests_bumps import apply_bumps, unedited_list
from bot.core.gates.schema_patterns import (
    Budget,
    PatternBudgetSpent,
    bounded_validator,
    extra_keys,
)
from bot.core.manifests import Bump, find_images
from bot.errors import ConfigError, Problem
from bot.resources import shipped_schema

NAME = "manifests"
MAX_NODES = 200_000  # after alias expansion; beyond this a document is refused
MAX_ERRORS_PER_FILE = 50
BUILTIN_KINDS = {
    ("apps/v1", "Deployment"): "deployment.json",
    ("apps/v1", "StatefulSet"): "statefulset.json",
    ("apps/v1", "DaemonSet"): "daemonset.json",
    ("batch/v1", "CronJob"): "cronjob.json",
}
KUSTOMIZE_API = "kustomize.config.k8s.io/"
KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


@dataclass(frozen=True)
class ManifestFile:
    """A manifest the train will bump, as read from the release branch."""

    path: str
    text: str | None  # None: the file does not exist
    bumps: tuple[Bump, ...] = ()
    yaml_paths: tuple[str, ...] = ()
    values_schema: str | None = None  # text of the chart's values.schema.json, if there is one
    values_schema_path: str = ""


@dataclass(frozen=True)
class ManifestFacts:
    files: tuple[ManifestFile, ...] = ()
    schemas: Mapping[str, str | None] = field(default_factory=dict)  # configured path -> text


@dataclass(frozen=True)
class ManifestSettings:
    schemas: tuple[tuple[str, str], ...] = ()  # (glob, schema path), first match wins
    builtin: bool = True
    patches: tuple[str, ...] = ("*patch*.yaml", "*patch*.yml")  # globs on the file name or path
    require_bump: bool = True  # the image of a bump must occur in the file
    schema: str = ""  # schema for documents no other schema covers
    helm_values_schema: str = ""  # schema for Helm values files whose chart ships none


_KEYS = ("schemas", "builtin", "patches", "require_bump", "schema", "helm_values_schema")


def settings_from_config(mapping: Mapping[str, object]) -> ManifestSettings:
    settings_keys(mapping, _KEYS, NAME)
    base = ManifestSettings()
    paths = {key: mapping.get(key, "") for key in ("schema", "helm_values_schema")}
    for key, value in paths.items():
        if not isinstance(value, str):
            raise config_error(f"gates.manifests.{key}: expected a repository path")
    raw = mapping.get("schemas", {})
    if not isinstance(raw, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise config_error("gates.manifests.schemas: expected a mapping of glob to schema path")
    return ManifestSettings(
        schemas=tuple((str(k), str(v)) for k, v in raw.items()),
        builtin=as_bool(mapping.get("builtin", base.builtin), "gates.manifests.builtin"),
        patches=as_str_tuple(mapping.get("patches", base.patches), "gates.manifests.patches"),
        require_bump=as_bool(mapping.get("require_bump", base.require_bump), "require_bump"),
        schema=str(paths["schema"]),
        helm_values_schema=str(paths["helm_values_schema"]),
    )


def configured_schema_paths(settings: ManifestSettings) -> tuple[str, ...]:
    """Schema files the adapter must fetch into `ManifestFacts.schemas`."""
    paths = [path for _, path in settings.schemas]
    paths += [p for p in (settings.helm_values_schema, settings.schema) if p]
    return tuple(dict.fromkeys(paths))


def values_schema_candidates(values_path: str) -> tuple[str, ...]:
    """Where a Helm values file's chart schema may be, nearest first (for the adapter):
    beside it, in a `chart/` folder beside it, or one level up (values kept above the chart).
    """
    folder = values_path.rsplit("/", 1)[0] if "/" in values_path else ""
    parent = folder.rsplit("/", 1)[0] if "/" in folder else ""
    joined = [
        f"{folder}/values.schema.json" if folder else "values.schema.json",
        f"{folder}/chart/values.schema.json" if folder else "chart/values.schema.json",
    ]
    if folder:
        joined.append(f"{parent}/values.schema.json" if parent else "values.schema.json")
    return tuple(dict.fromkeys(joined))


def builtin_schema(name: str) -> dict[str, Any]:
    """A shipped schema from `schemas/k8s/` (package data, read once by `bot.resources`)."""
    return shipped_schema(f"k8s/{name}")


@dataclass(frozen=True)
class FileReport:
    """What the gate found for one file."""

    path: str
    parsed: bool
    bump: str  # e.g. "2 edit(s)", "already at target", "not applied"
    schemas: tuple[str, ...]  # per document: the schema used, or why none
    problems: tuple[Problem, ...]
    unedited: tuple[Problem, ...] = ()  # warnings: places naming an image, left as they are


class ManifestsGate:
    name = NAME

    def evaluate(
        self, facts: ManifestFacts, settings: ManifestSettings, now: datetime
    ) -> GateResult:
        reports = [check_file(f, facts, settings) for f in facts.files]
        problems = [p for r in reports for p in r.problems]
        rows = [
            [r.path, "yes" if r.parsed else "**no**", r.bump, "; ".join(r.schemas) or "—",
             len(r.problems) or "none"]
            for r in reports
        ]  # fmt: skip
        table = markdown_table(["file", "parses", "bump", "schema", "problems"], rows)
        unedited = [u for r in reports for u in r.unedited]
        if unedited:
            table += "\n\n" + unedited_list(unedited)
        # A file whose bump was not applied has its failure annotated already.
        notes = [u for r in reports if r.bump != "not applied" for u in r.unedited]
        annotations = tuple(_annotation(p) for p in [*problems, *notes])
        details = {
            "files": [r.path for r in reports],
            "problems": [p.render() for p in problems[:200]],
            "unedited": [u.render() for u in unedited[:200]],
        }
        if not reports:
            return GateResult(NAME, "success", "No manifests to bump",
                              "This train bumps no manifests.", details=details)  # fmt: skip
        if problems:
            bad = sum(1 for r in reports if r.problems)
            return GateResult(
                NAME, "failure", f"{len(problems)} problem(s) in {bad} manifest(s)",
                table + "\n\n" + _problem_list(problems), annotations=annotations,
                details=details,
            )  # fmt: skip
        return GateResult(
            NAME, "success", f"All {len(reports)} manifest(s) parse, bump and validate",
            table, annotations=annotations, details=details,
        )  # fmt: skip


def _annotation(problem: Problem) -> Annotation:
    return Annotation(
        path=problem.file,
        start_line=max(problem.line, 1),
        end_line=max(problem.line, 1),
        annotation_level="warning" if problem.severity == "warning" else "failure",
        message=problem.message,
        title="manifest check",
    )


def _problem_list(problems: Sequence[Problem], limit: int = 100) -> str:
    lines = [f"- `{p.file}:{p.line or 1}` {p.message}" for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"- … and {len(problems) - limit} more (see the annotations)")
    return "\n".join(lines)


def check_file(file: ManifestFile, facts: ManifestFacts, settings: ManifestSettings) -> FileReport:
    """Parse, bump and validate one manifest file."""
    if file.text is None:
        missing = Problem("the manifest does not exist on the release branch", file.path)
        return FileReport(file.path, False, "not applied", (), (missing,))
    bumped = apply_bumps(file, settings.require_bump)
    new_text, bump_note, problems = bumped.text, bumped.note, bumped.problems
    if new_text is None:
        parsed = not any("does not parse" in p.message for p in problems)
        return FileReport(file.path, parsed, bump_note, (), tuple(problems), bumped.unedited)
    try:
        docs = load_documents(new_text, file.path)
    except ConfigError as exc:
        return FileReport(file.path, False, bump_note, (), tuple(exc.problems), bumped.unedited)
    wants_helm = file.values_schema is None and bool(settings.helm_values_schema)
    helm = wants_helm and _is_helm_values(new_text, file)
    used: list[str] = []
    for root in docs:
        name, schema, more = _schema_for(root, file, facts, settings, helm=helm)
        used.append(name)
        problems += more
        if schema is not None:
            problems += validate_document(root, schema, file.path)[:MAX_ERRORS_PER_FILE]
    return FileReport(file.path, True, bump_note, tuple(used), tuple(problems), bumped.unedited)


def _is_helm_values(text: str, file: ManifestFile) -> bool:
    try:
        sites = find_images(text, file.path, yaml_paths=file.yaml_paths)
    except ConfigError:
        return False
    return any(site.kind == "helm" for site in sites)


def _schema_for(
    root: Any,
    file: ManifestFile,
    facts: ManifestFacts,
    settings: ManifestSettings,
    *,
    helm: bool = False,
) -> tuple[str, dict[str, Any] | None, list[Problem]]:
    """(what validated it, the schema or None, problems finding it) for one document."""
    for pattern, schema_path in settings.schemas:
        if fnmatchcase(file.path, pattern):
            return _configured(schema_path, facts.schemas.get(schema_path), file.path)
    if file.values_schema is not None:
        where = file.values_schema_path or "values.schema.json"
        return _configured(where, file.values_schema, file.path)
    if helm and settings.helm_values_schema:
        where = settings.helm_values_schema
        return _configured(where, facts.schemas.get(where), file.path)
    name = _builtin_name(root, file.path) if isinstance(root, Mapping) else None
    if name is None or not settings.builtin:
        if settings.schema:
            return _configured(settings.schema, facts.schemas.get(settings.schema), file.path)
        kind = root.get("kind") if isinstance(root, Mapping) else None
        return (f"{kind}: no schema" if kind else "no schema"), None, []
    schema = builtin_schema(name)
    if _is_patch(root, file.path, settings):
        return f"{name} (patch)", relax(schema), []
    return name, schema, []


def _builtin_name(root: Mapping[str, Any], path: str) -> str | None:
    api, kind = str(root.get("apiVersion", "")), str(root.get("kind", ""))
    if (api, kind) in BUILTIN_KINDS:
        return BUILTIN_KINDS[(api, kind)]
    if api.startswith(KUSTOMIZE_API):
        return "kustomization.json"
    if "apiVersion" not in root and path.rsplit("/", 1)[-1] in KUSTOMIZATION_NAMES:
        return "kustomization.json"
    return None


def _is_patch(root: Mapping[str, Any], path: str, settings: ManifestSettings) -> bool:
    if "$patch" in root:
        return True
    base = path.rsplit("/", 1)[-1]
    return any(fnmatchcase(base, g) or fnmatchcase(path, g) for g in settings.patches)


def _configured(
    where: str, text: str | None, path: str
) -> tuple[str, dict[str, Any] | None, list[Problem]]:
    if text is None:
        return where, None, [Problem(f"schema file `{where}` does not exist", path)]
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        return where, None, [Problem(f"schema `{where}` is not JSON: {exc.msg}", path)]
    from jsonschema.exceptions import SchemaError
    from jsonschema.validators import validator_for

    if not isinstance(schema, dict):
        return where, None, [Problem(f"schema `{where}` is not a JSON object", path)]
    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        return where, None, [Problem(f"schema `{where}` is invalid: {exc.message}", path)]
    return where, schema, []


def relax(schema: Any) -> Any:
    """A schema for patches: nothing required, `$` directives allowed on every object."""
    if isinstance(schema, list):
        return [relax(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: relax(v) for k, v in schema.items() if k not in ("required", "minItems", "const")}
    if out.get("additionalProperties") is False:
        out["patternProperties"] = {"^\\$": {"description": "a strategic-merge directive"}}
    return out


def load_documents(text: str, filename: str) -> list[Any]:
    """Every non-empty document, as ruamel round-trip nodes (they carry line and column)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        docs = [d for d in YAML(typ="rt", pure=True).load_all(text) if d is not None]
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        problem = Problem(f"YAML does not parse: {exc.problem}", filename, line, col)
        raise ConfigError(problem) from None
    except YAMLError as exc:
        raise ConfigError(Problem(f"YAML does not parse: {exc}", filename)) from None
    return docs


def plain(node: Any, budget: list[int] | None = None) -> Any:
    """JSON-like plain values from ruamel nodes; `null` mapping values are dropped."""
    budget = budget if budget is not None else [MAX_NODES]
    budget[0] -= 1
    if budget[0] < 0:
        raise ValueError("document too large (after expanding aliases)")
    if isinstance(node, Mapping):
        return {str(k): plain(v, budget) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [plain(v, budget) for v in node]
    if isinstance(node, bool) or type(node).__name__ == "ScalarBoolean":
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, datetime) or hasattr(node, "isoformat"):
        return node.isoformat()
    return node


def validate_document(root: Any, schema: dict[str, Any], filename: str) -> list[Problem]:
    """Schema errors of one document, each at the line of the offending key or item."""
    from jsonschema.validators import validator_for

    try:
        data = plain(root)
    except ValueError as exc:
        return [Problem(str(exc), filename, *_start(root))]
    from referencing import Registry
    from referencing.exceptions import Unresolvable

    registry: Any = Registry(retrieve=_no_remote)  # type: ignore[call-arg]
    budget = Budget()  # the schema's regexes are the repository's: matched under a budget
    validator = bounded_validator(validator_for(schema), budget)(schema, registry=registry)
    try:
        errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.path)))
    except PatternBudgetSpent as exc:
        return [Problem(f"{exc}; not validated further", filename, *_start(root))]
    except Unresolvable as exc:
        message = (
            f"the schema refers to {exc.ref}, which cannot be resolved: the bot never fetches "
            "schemas over the network; inline the definition or configure a local schema"
        )
        return [Problem(message, filename, *_start(root))]
    except (re.error, regex.error) as exc:
        return [Problem(f"the schema has a pattern Python cannot read: {exc}", filename)]
    problems = []
    for error in errors:
        path = list(error.absolute_path)
        for extra in _unexpected_keys(error, budget):  # point at the key, not its parent
            line, col = locate(root, [*path, extra])
            where = ".".join(str(p) for p in [*path, extra])
            problems.append(Problem(f"{where}: unknown field", filename, line, col))
        if error.validator != "additionalProperties" or not _unexpected_keys(error, budget):
            line, col = locate(root, path)
            where = ".".join(str(p) for p in path) or "(document)"
            problems.append(Problem(f"{where}: {error.message}", filename, line, col))
    return problems


def _no_remote(uri: str) -> Any:
    """Refuse every `$ref` outside the schema itself: validation is pure, no network."""
    from referencing.exceptions import NoSuchResource

    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]


def _unexpected_keys(error: Any, budget: Budget) -> list[str]:
    if error.validator != "additionalProperties" or error.validator_value is not False:
        return []
    if not isinstance(error.instance, dict) or not isinstance(error.schema, dict):
        return []
    try:
        return extra_keys(error.instance, error.schema, budget)
    except PatternBudgetSpent:
        return []


def _start(root: Any) -> tuple[int, int]:
    lc = getattr(root, "lc", None)
    if lc is None or lc.line is None:
        return (1, 1)
    return (int(lc.line) + 1, int(lc.col or 0) + 1)


def locate(root: Any, path: Sequence[str | int]) -> tuple[int, int]:
    """1-based line and column of the deepest key or item of `path` found in `root`."""
    from bot.config.yaml_source import position_of

    node, where = root, _start(root)
    for step in path:
        in_map = isinstance(node, Mapping) and step in node
        in_list = isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)
        if not (in_map or in_list):
            break
        where = position_of(node, step)
        node = node[step]
    return where


GATE = ManifestsGate()
