"""The repository's configuration, read through the GitHub port from the default branch
(never a PR's head) and cached per process by (repo, path, blob sha): parsing and validating
costs ~0.2 s, and the file rarely changes. The read itself is conditional (the adapter's ETag
cache answers an unchanged file with a 304)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from bot.config.model import Config
from bot.errors import ConfigError

if TYPE_CHECKING:
    from bot.config.outbound import OutboundPolicy

CONFIG_PATH = ".github/release-train.yml"


class FileReader(Protocol):
    def read_file(self, path: str, ref: str | None = None) -> str | None: ...


def blob_sha(text: str) -> str:
    """Git's object id of a blob with this UTF-8 content."""
    import hashlib

    data = text.encode("utf-8")
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class _Parsed:
    """A configuration file's outcome (the model, or the problems that make it invalid) and
    the files its `extends:` read, as (path, blob sha or None when absent)."""

    config: Config | None
    problems: tuple[Any, ...]
    deps: tuple[tuple[str, str | None], ...]


class ConfigCache:
    """Parsed and validated configurations by (repo, path, blob sha), bounded (least
    recently used goes first), shared by the process: validation costs ~0.2 s, and the
    config rarely changes. Thread-safe."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[str, str, str], _Parsed] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, str]) -> _Parsed | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: tuple[str, str, str], parsed: _Parsed) -> None:
        with self._lock:
            self._entries[key] = parsed
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


CONFIG_CACHE = ConfigCache()


def _sha_of(text: str | None) -> str | None:
    return None if text is None else blob_sha(text)


def load_repo_config(
    client: FileReader,
    path: str = CONFIG_PATH,
    *,
    repo: str = "",
    cache: ConfigCache | None = None,
    outbound: OutboundPolicy | None = None,
) -> Config | None:
    """The configuration from the default branch (never a PR's head); None if absent.

    The read is conditional (an unchanged file answers 304 from the adapter's ETag cache);
    an unchanged file whose extended policies are unchanged too is not parsed nor
    validated again. Raises ConfigError when invalid, ExternalError when unreadable.
    `outbound`: the operator's policy; where the configuration points the bot is checked
    against it on every load (cheap, no lookups), so a refusal is a configuration problem."""
    from bot.config.load import load_config_text

    cache = CONFIG_CACHE if cache is None else cache
    text = client.read_file(path)
    if text is None:
        return None
    key = (repo, path, blob_sha(text))
    hit = cache.get(key)
    if hit is not None and all(_sha_of(client.read_file(p)) == sha for p, sha in hit.deps):
        return _against(_outcome(hit), text, path, outbound)
    deps: list[tuple[str, str | None]] = []

    def read_file(name: str) -> str | None:
        found = client.read_file(name)
        deps.append((name, _sha_of(found)))
        return found

    try:
        config = load_config_text(text, path, read_file=read_file)
    except ConfigError as exc:
        cache.put(key, _Parsed(None, tuple(exc.problems), tuple(deps)))
        raise
    cache.put(key, _Parsed(config, (), tuple(deps)))
    return _against(config, text, path, outbound)


def _against(config: Config, text: str, path: str, outbound: OutboundPolicy | None) -> Config:
    """`config`, or ConfigError when the operator's policy refuses where it points."""
    if outbound is None:
        return config
    from bot.config.outbound_checks import outbound_problems
    from bot.config.yaml_source import read_yaml

    section: dict[str, Any] = {
        "prometheus": {"source": config.prometheus.source, "url": config.prometheus.url},
        "stages": [
            {"argocd": {"source": s.argocd.source, "server": s.argocd.server}} if s.argocd else {}
            for s in config.stages
        ],
    }
    if not outbound_problems(section, lambda where, value: (path, 0, 0), outbound):
        return config
    doc, _ = read_yaml(text, path)  # refused: read the file again for the positions
    data = doc.data if doc is not None and isinstance(doc.data, dict) else {}
    data = {**section, **data}  # a section absent here came from an extended policy file
    problems = outbound_problems(data, _locator(doc, path), outbound)
    raise ConfigError(problems or outbound_problems(section, _locator(None, path), outbound))


def _locator(doc: Any, path: str) -> Any:
    def locate(where: tuple[str | int, ...], value: bool = False) -> tuple[str, int, int]:
        if doc is None:
            return (path, 1, 1)
        line, col = doc.where(where, value=value)
        return (doc.filename, line, col)

    return locate


def _outcome(parsed: _Parsed) -> Config:
    if parsed.config is None:
        raise ConfigError(list(parsed.problems))
    return parsed.config
