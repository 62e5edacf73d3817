"""Load `.github/release-train.yml`: read safely, resolve `extends:`, merge over the shipped
defaults, validate against the schemas and the semantic checks, build the typed model.

Public API (others call these):

- `load_config(path, *, repo_root=None) -> Config`
- `load_config_text(text, filename, *, read_file=None) -> Config`
- `validate_text(text, filename, *, read_file=None, now=None) -> list[Problem]`

Loading raises `ConfigError` carrying every error (warnings are dropped); validating returns
errors and warnings sorted by file and line. Positions always point into the file that holds
the bad value: the repository's file, a policy it extends, or the shipped defaults.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from bot.config.merge import Merged, merge_layers
from bot.config.model import Config
from bot.config.yaml_source import MAX_BYTES, YamlDoc, read_yaml
from bot.errors import ConfigError, Problem

if TYPE_CHECKING:
    from bot.config.outbound import OutboundPolicy

ReadFile = Callable[[str], "str | None"]

DEFAULT_POLICY = "default.yml"
BUILTIN = "builtin:"
DEFAULT_POLICY_NAME = "policies/default.yml"
MAX_EXTENDS_DEPTH = 8


@dataclass(frozen=True)
class Analysis:
    """What validation found: problems (errors and warnings) and, if there are no errors,
    the built configuration."""

    problems: tuple[Problem, ...]
    config: Config | None
    merged: dict[str, Any] | None = None  # defaults < extended policies < the file

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def load_config(
    path: Path, *, repo_root: Path | None = None, outbound: OutboundPolicy | None = None
) -> Config:
    """Load a configuration file from disk; `extends:` resolves inside `repo_root` (default:
    the nearest enclosing Git checkout, else the file's folder). With `outbound` (the
    operator's policy), targets it refuses are problems too (host names resolved)."""
    data = read_config_bytes(path)
    root = repo_root if repo_root is not None else guess_repo_root(path)
    result = analyse(
        data,
        str(path),
        read_file=repo_reader(root),
        repo_path=repo_relative(path, root),
        outbound=outbound,
        resolve=True,
    )
    if result.errors or result.config is None:
        raise ConfigError(result.errors or [Problem("configuration did not load", str(path))])
    return result.config


def load_config_text(
    text: str | bytes,
    filename: str,
    *,
    read_file: ReadFile | None = None,
    outbound: OutboundPolicy | None = None,
) -> Config:
    """Load a configuration from its text; raise ConfigError with every error found
    (with `outbound`, the targets the operator's policy refuses, before any lookup)."""
    result = analyse(text, filename, read_file=read_file, outbound=outbound)
    if result.errors or result.config is None:
        raise ConfigError(result.errors or [Problem("configuration did not load", filename)])
    return result.config


def validate_text(
    text: str | bytes,
    filename: str,
    *,
    read_file: ReadFile | None = None,
    now: datetime | None = None,
    repo_path: str | None = None,
) -> list[Problem]:
    """Every error and warning in a configuration (freeze coverage only when `now` is given).

    `repo_path` is the file's own path in the repository, so `extends:` cycles through it are
    seen at once (default: `filename`)."""
    result = analyse(text, filename, read_file=read_file, now=now, repo_path=repo_path)
    return list(result.problems)


def validate_policy_text(text: str | bytes, filename: str) -> list[Problem]:
    """Problems in a shared policy file on its own: YAML, the policy schema, and the checks
    that need no other file (references may resolve in the repository's file)."""
    from bot.config.checks import semantic_problems
    from bot.config.schemas import schema_problems

    doc, problems = read_yaml(text, filename)
    if doc is None:
        return problems
    problems = schema_problems(doc.data, "policy.schema.json", _local(doc))
    if "extends" in doc.data and isinstance(doc.data["extends"], str):
        why = extends_problem(doc.data["extends"])
        if why:
            problems.append(doc.problem(("extends",), why, value=True))
    if not problems:
        from bot.config.outbound_checks import outbound_problems

        problems = semantic_problems(doc.data, _local(doc), references=False)
        problems += outbound_problems(doc.data, _local(doc))
    return _sorted(_dedupe(problems), filename)


def read_config_bytes(path: Path) -> bytes:
    """The file's bytes, or ConfigError with a plain message (missing, a folder, unreadable)."""
    name = str(path)
    if not path.exists():
        raise ConfigError("no such file", file=name)
    if path.is_dir():
        raise ConfigError("is a directory, not a configuration file", file=name)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:  # do not read a huge file only to refuse it
            raise ConfigError(f"file is {size} bytes; the limit is {MAX_BYTES} (1 MiB)", file=name)
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", file=name) from None


def repo_relative(path: Path, root: Path) -> str | None:
    """`path` as a repository path under `root`, or None when it lies outside."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None


def guess_repo_root(path: Path) -> Path:
    """The nearest folder above `path` holding `.git`; else the file's own folder."""
    start = path.resolve().parent
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


def repo_reader(root: Path) -> ReadFile:
    """A `read_file` that reads repository paths under `root`, refusing to leave it."""
    base = root.resolve()

    def read(rel: str) -> str | None:
        target = (base / rel).resolve()
        if not target.is_relative_to(base) or not target.is_file():
            return None
        try:
            return target.read_bytes().decode("utf-8", "surrogateescape")
        except OSError:
            return None

    return read


def analyse(
    text: str | bytes,
    filename: str,
    *,
    read_file: ReadFile | None = None,
    now: datetime | None = None,
    repo_path: str | None = None,
    outbound: OutboundPolicy | None = None,
    resolve: bool = False,
) -> Analysis:
    """The whole pipeline, never raising for bad input. `outbound`: also check where the
    configuration points the bot against the operator's policy (`resolve`: look host
    names up too; otherwise that happens at connect time)."""
    top, problems = read_yaml(text, filename)
    if top is None:
        return Analysis(tuple(problems), None)
    layers, problems = _layers(top, read_file, repo_path)
    from bot.config.schemas import schema_problems

    for layer in layers:
        problems += schema_problems(layer.data, "policy.schema.json", _local(layer))
    merged = merge_layers(layers)
    problems += schema_problems(merged.data, "config.schema.json", merged.locate)
    config = None
    schema_ok = not any(p.severity == "error" for p in problems)
    problems += _semantic(merged, now if schema_ok else None)
    if schema_ok:
        from bot.config.outbound_checks import outbound_problems

        problems += outbound_problems(merged.data, merged.locate, outbound, resolve=resolve)
    if not any(p.severity == "error" for p in problems):
        config, problems = _build(merged, problems, filename)
    return Analysis(tuple(_sorted(_dedupe(problems), filename)), config, merged.data)


def _semantic(merged: Merged, now: datetime | None) -> list[Problem]:
    from bot.config.checks import semantic_problems

    return semantic_problems(merged.data, merged.locate, now)


def _build(
    merged: Merged, problems: list[Problem], filename: str
) -> tuple[Config | None, list[Problem]]:
    from bot.config.build import build_config

    try:
        return build_config(merged.data), problems
    except (ValueError, KeyError, TypeError, AttributeError) as exc:  # a shape the checks missed
        return None, [
            *problems,
            Problem(f"configuration could not be built: {exc}", filename, 1, 1),
        ]


def _local(doc: YamlDoc) -> Callable[[tuple[str | int, ...], bool], tuple[str, int, int]]:
    def locate(path: tuple[str | int, ...], value: bool = False) -> tuple[str, int, int]:
        line, col = doc.where(path, value=value)
        return (doc.filename, line, col)

    return locate


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[str, int, int, str]] = set()
    out = []
    for p in problems:
        key = (p.file, p.line, p.col, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def _sorted(problems: list[Problem], top: str) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.file != top, p.file, p.line, p.col))


def extends_problem(target: str) -> str | None:
    """Why an `extends:` value is not allowed, or None."""
    if target.startswith(BUILTIN):
        name = target[len(BUILTIN) :]
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):
            return f"extends: {target!r} is not a shipped policy name"
        return None
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", target):
        return f"extends: {target!r} is a URL; name a file in this repository"
    if target.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", target):
        return f"extends: {target!r} is absolute; use a path relative to the repository root"
    if ".." in re.split(r"[/\\]", target):
        return f"extends: {target!r} uses '..'; the file must be inside the repository"
    return None


def _layers(
    top: YamlDoc, read_file: ReadFile | None, repo_path: str | None = None
) -> tuple[list[YamlDoc], list[Problem]]:
    """[defaults, deepest extended policy, ..., top] and the problems found on the way."""
    problems: list[Problem] = []
    chain = [top]
    seen = [_normal(repo_path or top.filename)]
    doc = top
    while isinstance(doc.data, dict) and "extends" in doc.data:
        target = doc.data["extends"]
        if not isinstance(target, str):
            break  # the schema reports the type
        nxt, problem = _follow(doc, target, seen, read_file)
        if problem is not None:
            problems.append(problem)
        if nxt is None:
            break
        problems += nxt[1]
        if nxt[0] is None:
            break
        doc = nxt[0]
        chain.append(doc)
        seen.append(doc.filename)
    defaults = _default_layer()
    layers = ([defaults] if defaults else []) + list(reversed(chain))
    return layers, problems


def _follow(
    doc: YamlDoc, target: str, seen: list[str], read_file: ReadFile | None
) -> tuple[tuple[YamlDoc | None, list[Problem]] | None, Problem | None]:
    where = ("extends",)
    why = extends_problem(target)
    if why:
        return None, doc.problem(where, why, value=True)
    name = _normal(target)
    if name in [_normal(s) for s in seen]:
        cycle = " → ".join([*seen[seen.index(name) if name in seen else 0 :], name])
        return None, doc.problem(where, f"extends: cycle: {cycle}", value=True)
    if len(seen) > MAX_EXTENDS_DEPTH:
        return None, doc.problem(
            where, f"extends: more than {MAX_EXTENDS_DEPTH} policy files deep", value=True
        )
    text = _read_policy(target, read_file)
    if text is None:
        return None, doc.problem(where, f"extends: policy file {target!r} not found", value=True)
    loaded, problems = read_yaml(text, name)
    return (loaded, problems), None


def _normal(target: str) -> str:
    if target.startswith(BUILTIN):
        return target
    return str(PurePosixPath(target.replace("\\", "/").removeprefix("./")))


def _read_policy(target: str, read_file: ReadFile | None) -> str | bytes | None:
    if target.startswith(BUILTIN):
        from bot.resources import policy_path

        path = policy_path(target[len(BUILTIN) :] + ".yml")
        return path.read_bytes() if path.is_file() else None
    if read_file is None:
        return None
    return read_file(_normal(target))


def _default_layer() -> YamlDoc | None:
    doc = _shipped_default()
    if doc is None:
        return None
    return YamlDoc(doc.filename, copy.deepcopy(doc.data), doc.keys, doc.values)


@cache
def _shipped_default() -> YamlDoc | None:
    """The shipped defaults, parsed once per process (callers get a deep copy of the data)."""
    from bot.resources import policy_path

    path = policy_path(DEFAULT_POLICY)
    if not path.is_file():
        return None
    doc, _ = read_yaml(path.read_bytes(), DEFAULT_POLICY_NAME)
    return doc
