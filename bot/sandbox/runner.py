"""Run the sandbox in-process: ``with run_sandbox() as sb: ...``.

`sb.base_url` is usable as githubkit's ``base_url``; `sb.token(login)` gives a user's
token; `sb.scenario` sets up repositories, pull requests, reviews and checks.
``run_sandbox(faults=FaultPlan(...))`` starts it with fault injection installed;
`sb.faults` is then the injector, whose ``injected`` list logs every fault.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.sandbox.gitstore import GitStore
from bot.sandbox.scenario import Scenario
from bot.sandbox.server import Server
from bot.sandbox.store import Store

if TYPE_CHECKING:
    from bot.sandbox.faults import FaultInjector, FaultPlan


@dataclass
class Sandbox:
    """A running sandbox and the handles tests need."""

    server: Server
    store: Store
    git: GitStore
    scenario: Scenario
    data_dir: Path
    seed: int = 0
    webhook_url: str | None = None
    webhook_secret: str | None = None
    deliverer: Any = None  # bot.sandbox.webhooks.Deliverer when webhook_url is set
    plugins: dict[str, Any] = field(default_factory=dict)
    faults: FaultInjector | None = None  # set when started with a FaultPlan

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def token(self, login: str) -> str:
        """The token of a user (created on first use)."""
        found = self.store.token_of(login)
        if found is not None:
            return found
        if self.store.user(login) is None:
            raise KeyError(f"no sandbox user {login!r}")
        return self.store.add_token(login)

    def bot_token(self) -> str:
        """An installation token acting as ``release-train[bot]``."""
        return self.scenario.bot_token()


def open_sandbox(
    data_dir: Path,
    *,
    seed: int = 0,
    host: str = "127.0.0.1",
    port: int = 0,
    clock: Callable[[], datetime] | None = None,
    durable: bool = True,
) -> Sandbox:
    """Build (not start) a sandbox over `data_dir`; existing state there is kept."""
    from bot.sandbox.api import build_router

    data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(data_dir / "store.json", durable=durable, seed=seed)
    git = GitStore(data_dir / "git")
    server = Server(
        store, git, build_router(), host=host, port=port, clock=clock or (lambda: datetime.now(UTC))
    )
    server.seed = seed
    scenario = Scenario(server)
    scenario.ensure_users()
    return Sandbox(server, store, git, scenario, data_dir, seed)


@contextlib.contextmanager
def run_sandbox(
    data_dir: Path | None = None,
    *,
    seed: int = 0,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    durable: bool = True,
    faults: FaultPlan | None = None,
) -> Iterator[Sandbox]:
    """Start a sandbox on a free loopback port; stop it (and its deliverer) at exit.

    With `faults`, the plan is installed before the first request (`sb.faults`)."""
    with contextlib.ExitStack() as stack:
        if data_dir is None:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sandbox-")))
        sb = open_sandbox(data_dir, seed=seed, host=host, port=port, durable=durable)
        sb.webhook_url, sb.webhook_secret = webhook_url, webhook_secret
        if webhook_url is not None:
            from bot.sandbox.webhooks import Deliverer

            sb.deliverer = Deliverer(webhook_url, webhook_secret or "", seed=seed)
            stack.callback(sb.deliverer.close)
            sb.server.deliver = sb.deliverer
        if faults is not None:
            from bot.sandbox import faults as fault_injection

            sb.faults = fault_injection.install(sb.server, faults)
        sb.server.start()
        stack.callback(sb.server.stop)
        yield sb
