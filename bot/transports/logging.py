"""JSON logs for the server, with secrets redacted before anything is written.

Each line is one JSON object: time, level, logger, message and the context the bot
knows (`delivery`, `repo`, `train_id`, `event`, ...) passed through `extra=`. A
`Redactor` removes every secret the process knows (webhook secret, private key,
installation tokens as they are minted) and anything shaped like a credential
(GitHub tokens, JWTs, PEM keys, `Authorization` values). The `RedactionFilter` applies it
to each record, and the formatter applies it again to the final line (tracebacks too).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, Any

MASK = "[REDACTED]"
CONTEXT_KEYS = (
    "delivery",
    "repo",
    "train_id",
    "event",
    "action",
    "installation",
    "outcome",
    "status",
    "duration_ms",
    "attempt",
    "reason",
    "trigger",
    "error",
    "number",
    "sender",
    "next_due",
    "host",
    "port",
)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
        MASK,
    ),
    (re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{16,})"), MASK),
    (re.compile(r"\bv1\.[0-9a-f]{40}\b"), MASK),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+"), MASK),
    (re.compile(r"(?i)\b(token|bearer)(\s+)[A-Za-z0-9._~+/=-]{12,}"), r"\1\2" + MASK),
    (
        re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(?:[A-Za-z]+ +)?[^\s\"',}]+"),
        r"\1" + MASK,
    ),
)


class Redactor:
    """Replace known secret values and credential-shaped strings with a mask.

    Secrets given at start are kept for good; secrets added later (minted tokens, one an
    hour per installation) are kept in a bounded, most-recent-first set.
    """

    def __init__(self, secrets: Iterable[str] = (), *, recent: int = 512) -> None:
        self._lock = threading.Lock()
        self._fixed: set[str] = set()
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._recent_max = recent
        self._sorted: list[tuple[str, str]] = []  # (secret, its JSON-escaped form)
        for secret in secrets:
            self._fixed |= _variants(secret)
        self._resort()

    def add(self, secret: str) -> None:
        """Remember a secret (e.g. a freshly minted installation token)."""
        with self._lock:
            for value in _variants(secret):
                self._recent[value] = None
                self._recent.move_to_end(value)
            while len(self._recent) > self._recent_max:
                self._recent.popitem(last=False)
            self._resort()

    def _resort(self) -> None:
        ordered = sorted(self._fixed | set(self._recent), key=len, reverse=True)
        self._sorted = [(v, json.dumps(v)[1:-1]) for v in ordered]

    def __call__(self, text: str) -> str:
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        for secret, escaped in self._sorted:  # replaced whole on change: safe to iterate
            if secret in text:
                text = text.replace(secret, MASK)
            if escaped != secret and escaped in text:
                text = text.replace(escaped, MASK)
        return text


def _variants(secret: str) -> set[str]:
    """A secret, stripped, and each long line of it (PEM bodies are logged line by line)."""
    values = {secret, secret.strip()}
    values |= {line.strip() for line in secret.splitlines() if len(line.strip()) >= 16}
    return {v for v in values if len(v) >= 4}


class RedactionFilter(logging.Filter):
    """Render each record's message once, redacted, so no handler sees the raw values."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redactor(record.getMessage())
        record.args = None
        if record.exc_info:  # a traceback's text is redacted too, once, here
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text, record.exc_info = self.redactor(text), None
        for key in CONTEXT_KEYS:
            value = record.__dict__.get(key)
            if isinstance(value, str):
                record.__dict__[key] = self.redactor(value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; the final text is redacted once more."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in CONTEXT_KEYS:
            value = record.__dict__.get(key)
            if value is not None:
                doc[key] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:  # already rendered (and redacted) by RedactionFilter
            doc["exc"] = record.exc_text
        return self.redactor(json.dumps(doc, default=str))


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at the time of each record (test captures and
    redirections made after start-up included)."""

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def configure(
    redactor: Redactor,
    *,
    level: str = "INFO",
    stream: IO[str] | None = None,
    logger_name: str = "release_train",
) -> logging.Logger:
    """Attach one redacting JSON handler to `logger_name` (idempotent) and return it."""
    logger = logging.getLogger(logger_name)
    for old in list(logger.handlers):
        if getattr(old, "_release_train", False):
            logger.removeHandler(old)
    handler: logging.Handler = (
        logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    )
    handler.addFilter(RedactionFilter(redactor))
    handler.setFormatter(JsonFormatter(redactor))
    handler._release_train = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return logger


def server_log_config(redactor: Redactor, level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` for the HTTP server's own loggers (granian's start-up,
    worker and crash lines): the same redacting JSON handler as the bot's lines."""

    def handler() -> logging.Handler:
        made = _StderrHandler()
        made.addFilter(RedactionFilter(redactor))
        made.setFormatter(JsonFormatter(redactor))
        return made

    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {},
        "handlers": {"scrubbed": {"()": handler}},
        "loggers": {
            name: {"handlers": ["scrubbed"], "level": level, "propagate": False}
            for name in ("_granian", "granian.access")
        },
    }
