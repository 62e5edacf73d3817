"""The webhook server's settings, read once from the environment at start.

A missing or malformed setting is a `ConfigError` naming the variable, so
`release-train serve` ends with exit code 1 and a one-line message, never a traceback.
Secrets are kept out of `repr()` so a logged `Settings` shows none of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.config.outbound import Endpoint, Mode, OutboundPolicy
from bot.config.repo import CONFIG_PATH
from bot.errors import ConfigError, Problem, UsageError
from bot.transports.grafana import grafana_from_env
from bot.transports.signin import SigninSettings, signin_from_env

DEFAULT_API_URL = "https://api.github.com"
WHERE = "environment"


@dataclass(frozen=True)
class Settings:
    app_id: str
    private_key: str = field(repr=False)
    webhook_secret: str = field(repr=False)
    api_url: str = DEFAULT_API_URL
    # the operator's outbound settings (PROMETHEUS_*, RELEASE_TRAIN_SOURCES, ..._ALLOW_URLS)
    outbound: OutboundPolicy = field(default_factory=lambda: OutboundPolicy(Mode.APP))
    # "<slug>[bot]": deliveries sent by it are the bot's own; None: ask GET /app at start.
    bot_login: str | None = None
    # seconds between scheduler ticks of a repository; 0 turns the scheduler off.
    schedule_interval: float = 300.0
    log_level: str = "INFO"
    # background threads per server process that run reconciles (different repositories)
    reconcile_threads: int = 4
    # where each repository keeps its configuration (read from its default branch only)
    config_path: str = CONFIG_PATH
    # (source, target) owner/name patterns: which repositories' trains may write into which
    # other repositories (each also needs the target's own `accept_from`); () allows none
    cross_repo_writes: tuple[tuple[str, str], ...] = ()
    # METRICS_TOKEN: the bearer token `/metrics` wants ("" : loopback callers only)
    metrics_token: str = field(default="", repr=False)
    # METRICS_ADDR: serve `/metrics` on its own listener at (host, port), not the public one
    metrics_addr: tuple[str, int] | None = None
    # REDIS_URL: delivery ids deduplicated across replicas there ("": per process only)
    redis_url: str = field(default="", repr=False)
    # dashboard sign-in with GitHub (None: no client secret, the dashboard is loopback-only)
    signin: SigninSettings | None = None
    # GRAFANA_URL + GRAFANA_TOKEN: deployment events also posted as Grafana annotations
    grafana: Endpoint | None = None

    def secrets(self) -> tuple[str, ...]:
        """Every secret value, for the log redaction filter."""
        values = (
            self.private_key,
            self.webhook_secret,
            self.metrics_token,
            *_redis_secrets(self.redis_url),
            *(self.signin.secrets() if self.signin else ()),
            *self.outbound.secrets(),
            *(self.grafana.secrets() if self.grafana else ()),
        )
        return tuple(v for v in values if v)

    @property
    def prometheus_url(self) -> str | None:
        """The operator's default Prometheus (PROMETHEUS_URL), if any."""
        default = self.outbound.prometheus
        return default.url if default is not None else None


def _redis_secrets(url: str) -> tuple[str, ...]:
    """The URL and its password, if it carries one (redis://user:password@host/0)."""
    from urllib.parse import urlsplit

    password = urlsplit(url).password if url else None
    return (url, password) if password else ()


def _redis_url(env: Mapping[str, str], problems: list[Problem]) -> str:
    url = env.get("REDIS_URL", "").strip()
    if url and not url.startswith(("redis://", "rediss://", "unix://")):
        problems.append(Problem("REDIS_URL: not a redis://, rediss:// or unix:// URL", file=WHERE))
        return ""
    return url


def _private_key(env: Mapping[str, str], problems: list[Problem]) -> str:
    text = env.get("PRIVATE_KEY", "").strip()
    path = env.get("PRIVATE_KEY_PATH", "").strip()
    if not text and path:
        try:
            text = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            problems.append(
                Problem(f"PRIVATE_KEY_PATH: cannot read {path}: {exc.strerror}", file=WHERE)
            )
            return ""
    if not text:
        problems.append(
            Problem(
                "PRIVATE_KEY or PRIVATE_KEY_PATH must be set (the GitHub App's private key, PEM)",
                file=WHERE,
            )
        )
        return ""
    text = text.replace("\\n", "\n")  # keys passed through one-line env files
    if "-----BEGIN" not in text or "PRIVATE KEY-----" not in text:
        name = "PRIVATE_KEY" if env.get("PRIVATE_KEY", "").strip() else "PRIVATE_KEY_PATH"
        problems.append(Problem(f"{name}: not a PEM private key", file=WHERE))
    return text + "\n"


def _url(
    env: Mapping[str, str], name: str, default: str | None, problems: list[Problem]
) -> str | None:
    value = env.get(name, "").strip() or default
    if value is not None and not value.startswith(("http://", "https://")):
        problems.append(Problem(f"{name}: {value!r} is not an http(s) URL", file=WHERE))
    return value.rstrip("/") if value else None


def _interval(env: Mapping[str, str], problems: list[Problem]) -> float:
    raw = env.get("SCHEDULE_INTERVAL", "").strip()
    if not raw:
        return 300.0
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < 0:
        problems.append(
            Problem(f"SCHEDULE_INTERVAL: {raw!r} is not a number of seconds >= 0", file=WHERE)
        )
    return max(value, 0.0)


def _threads(env: Mapping[str, str], problems: list[Problem]) -> int:
    raw = env.get("RECONCILE_THREADS", "").strip()
    if not raw:
        return 4
    if not raw.isdigit() or not 1 <= int(raw) <= 64:
        problems.append(
            Problem(f"RECONCILE_THREADS: {raw!r} is not a number from 1 to 64", file=WHERE)
        )
        return 4
    return int(raw)


def parse_listen_address(raw: str) -> tuple[str, int]:
    """`HOST:PORT`, `[V6]:PORT`, `:PORT` or `PORT` (host 127.0.0.1) as (host, port), or a
    `ValueError` saying what is wrong."""
    host, sep, port = raw.strip().rpartition(":")
    if not sep:
        host, port = "", raw.strip()
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"{raw!r} is not HOST:PORT (a port from 1 to 65535)")
    if any(c.isspace() or c in "/@?#" for c in host):
        raise ValueError(f"{raw!r} is not HOST:PORT (the host is not an address or a name)")
    return host, int(port)


def _metrics_addr(env: Mapping[str, str], problems: list[Problem]) -> tuple[str, int] | None:
    raw = env.get("METRICS_ADDR", "").strip()
    if not raw:
        return None
    try:
        return parse_listen_address(raw)
    except ValueError as exc:
        problems.append(Problem(f"METRICS_ADDR: {exc}", file=WHERE))
        return None


def config_path_problem(path: str) -> str:
    """Why `path` cannot name the configuration ("" when it can). It must be a relative
    path inside the repository: no `..`, not absolute, `/` separators, a file name."""
    if not path:
        return "is empty"
    if "\\" in path:
        return "uses backslashes; use / between folders"
    if any(ord(c) < 32 or ord(c) == 127 for c in path):
        return "contains control characters"
    if path.startswith(("/", "~")) or (path[:1].isalpha() and path[1:2] == ":"):
        return "is absolute; give a path relative to the repository root"
    parts = path.split("/")
    if ".." in parts:
        return "leaves the repository (`..`); give a path inside it"
    if path.endswith("/") or parts[-1] in ("", "."):
        return "names a folder, not a file"
    return ""


def checked_config_path(path: str | None) -> str:
    """`path` normalised (`./a//b.yml` -> `a/b.yml`; empty -> the default), or a
    `UsageError` saying why it cannot name the configuration."""
    raw = (path or "").strip()
    if not raw:
        return CONFIG_PATH
    why = config_path_problem(raw)
    if why:
        raise UsageError(f"config path {raw!r} {why}")
    return "/".join(p for p in raw.split("/") if p not in ("", "."))


def _config_path(env: Mapping[str, str], problems: list[Problem]) -> str:
    raw = env.get("RELEASE_TRAIN_CONFIG", "")
    try:
        return checked_config_path(raw)
    except UsageError as exc:
        problems.append(Problem(f"RELEASE_TRAIN_CONFIG: {exc.message}", file=WHERE))
        return CONFIG_PATH


def _outbound(
    env: Mapping[str, str], listeners: tuple[tuple[str, int], ...], problems: list[Problem]
) -> OutboundPolicy:
    from bot.config.operator import outbound_from_env

    try:
        return outbound_from_env(env, Mode.APP, listeners=listeners)
    except ConfigError as exc:
        problems.extend(exc.problems)
        return OutboundPolicy(Mode.APP)


def _cross_repo(env: Mapping[str, str], problems: list[Problem]) -> tuple[tuple[str, str], ...]:
    from bot.core.consent import parse_operator_pairs

    try:
        return parse_operator_pairs(env.get("CROSS_REPO_WRITES", ""))
    except ValueError as exc:
        problems.append(Problem(f"CROSS_REPO_WRITES: {exc}", file=WHERE))
        return ()


def settings_from_env(
    env: Mapping[str, str], *, listeners: tuple[tuple[str, int], ...] = ()
) -> Settings:
    """Read `Settings` from `env` (pass `os.environ`); every problem is reported at once.
    `listeners`: the (host, port) pairs this server binds, which repositories may not reach."""
    problems: list[Problem] = []
    metrics_addr = _metrics_addr(env, problems)
    redis_url = _redis_url(env, problems)
    if metrics_addr is not None:  # repositories may not reach this listener either
        listeners = (*listeners, metrics_addr)
    app_id = env.get("APP_ID", "").strip()
    if not app_id:
        problems.append(Problem("APP_ID must be set (the GitHub App's numeric id)", file=WHERE))
    elif not app_id.isdigit():
        problems.append(Problem(f"APP_ID: {app_id!r} is not a number", file=WHERE))
    key = _private_key(env, problems)
    secret = env.get("WEBHOOK_SECRET", "")
    if not secret:
        problems.append(
            Problem("WEBHOOK_SECRET must be set (the App's webhook secret)", file=WHERE)
        )
    api_url = _url(env, "GITHUB_API_URL", DEFAULT_API_URL, problems) or DEFAULT_API_URL
    outbound = _outbound(env, listeners, problems)
    interval = _interval(env, problems)
    threads = _threads(env, problems)
    config_path = _config_path(env, problems)
    cross_repo = _cross_repo(env, problems)
    signin = signin_from_env(env, api_url, problems)
    grafana = grafana_from_env(env, problems)
    if problems:
        raise ConfigError(problems)
    slug = env.get("APP_SLUG", "").strip()
    return Settings(
        app_id=app_id,
        private_key=key,
        webhook_secret=secret,
        api_url=api_url,
        outbound=outbound,
        bot_login=f"{slug}[bot]" if slug else None,
        schedule_interval=interval,
        log_level=env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO",
        reconcile_threads=threads,
        config_path=config_path,
        cross_repo_writes=cross_repo,
        metrics_token=env.get("METRICS_TOKEN", "").strip(),
        metrics_addr=metrics_addr,
        redis_url=redis_url,
        signin=signin,
        grafana=grafana,
    )
