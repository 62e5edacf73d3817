"""Helpers for the transport tests: signed headers, the committed webhook examples, and a
recording reconciler (a plain fake that remembers what it was asked)."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.transports.app import ReconcileRequest
from bot.transports.signature import sign

WEBHOOKS = Path(__file__).resolve().parents[1] / "data" / "webhooks"
SECRET = "It's a Secret to Everybody"


@dataclass
class Recorder:
    """A reconciler that records each request; optionally blocks or fails on demand."""

    calls: list[ReconcileRequest] = field(default_factory=list)
    gate: threading.Event | None = None
    failures: int = 0
    active: dict[str, int] = field(default_factory=dict)
    overlaps: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, req: ReconcileRequest) -> object:
        with self.lock:
            self.calls.append(req)
            self.active[req.repo] = self.active.get(req.repo, 0) + 1
            if self.active[req.repo] > 1:
                self.overlaps += 1
            fail = self.failures > 0
            self.failures -= 1 if fail else 0
        try:
            if self.gate is not None:
                self.gate.wait(10)
            if fail:
                raise RuntimeError(f"reconcile of {req.repo} exploded")
            return None
        finally:
            with self.lock:
                self.active[req.repo] -= 1

    def repos(self) -> list[str]:
        return [c.repo for c in self.calls]


def signed_headers(
    event: str, body: bytes, *, delivery: str | None = None, secret: str = SECRET
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(secret, body),
    }


def examples(event: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((WEBHOOKS / f"{event}.json").read_text())
    return data


def example(event: str, action: str | None = None) -> dict[str, Any]:
    for payload in examples(event):
        if action is None or payload.get("action") == action:
            return payload
    raise LookupError(f"no {event}.{action} example")
