"""The GitHub App webhook server: a Flask app from `create_app(settings)`.

`POST /webhook` checks size and signature, drops duplicate deliveries, routes the event to a
repository and hands it to the background worker, answering 202 at once. The worker runs the
reconciler (by default the shell's `reconcile` with a githubkit client holding the
installation's token); the scheduler ticks watched repositories. `GET /healthz` and
`GET /metrics` (Prometheus text format) complete the surface.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, request

from bot.errors import ExternalError
from bot.insights.dashboard import Source, metrics_of, source_from_env
from bot.insights.metrics import export_gauges
from bot.transports.access import metrics_allowed
from bot.transports.auth import AppAuth
from bot.transports.dedup import SharedSeen
from bot.transports.grafana import GrafanaAnnotator
from bot.transports.logging import Redactor, configure
from bot.transports.metrics import Metrics
from bot.transports.metrics_http import MetricsListener
from bot.transports.result import ResultView, view
from bot.transports.scheduler import STAGGER_WINDOW, Scheduler, discover, stagger
from bot.transports.settings import Settings
from bot.transports.signin_web import signin_blueprint
from bot.transports.webhook import MAX_BODY, SeenDeliveries, WebhookEndpoint
from bot.transports.worker import Job, Worker

LOG = logging.getLogger("release_train.app")


@dataclass(frozen=True)
class ReconcileRequest:
    """What the reconciler is asked to do: look at `repo` as of `now`."""

    repo: str
    now: datetime
    installation_id: int | None
    delivery: str | None
    events: tuple[str, ...] = ()
    attempt: int = 0
    # re-runs and check-run buttons pressed (bot.core.gates.events.GateRequest), in order
    gate_requests: tuple[Any, ...] = ()


Reconciler = Callable[[ReconcileRequest], object]
Clock = Callable[[], datetime]


def github_reconciler(
    settings: Settings, auth: AppAuth, bot_login: Callable[[], str | None]
) -> Reconciler:
    """The production reconcile: installation token → `GitHubClient` → `reconcile`."""

    from bot.core.consent import operator_policy

    operator = operator_policy(settings.cross_repo_writes)

    def run(req: ReconcileRequest) -> object:
        from bot.adapters.github import GitHubClient
        from bot.adapters.prometheus import judge_client
        from bot.adapters.ratelimit import limiter_for
        from bot.config.repo import load_repo_config
        from bot.shell.reconcile import reconcile
        from bot.transports.scoped import reconcile_token

        inst = req.installation_id or auth.installation_for(req.repo)
        # tokens are narrowed per reconcile; GitHub's rate limit is the installation's
        limiter = limiter_for(settings.api_url, f"installation:{inst}")

        def read_config(token: str) -> object:
            with GitHubClient(req.repo, token, api_url=settings.api_url, limiter=limiter) as reader:
                return load_repo_config(reader, settings.config_path, repo=req.repo)

        token = reconcile_token(auth, inst, req.repo, operator, read_config)
        client = GitHubClient(
            req.repo,
            token,
            api_url=settings.api_url,
            bot_login=bot_login() or "",
            limiter=limiter,
            app_id=int(settings.app_id) if settings.app_id.isdigit() else 0,
        )
        with client:
            # Each button press or re-run is acted on in its own pass (a hold must not be
            # lost to a coalesced re-evaluation); a plain pass when there were none.
            result: object = None
            for request in req.gate_requests or (None,):
                result = reconcile(
                    req.repo,
                    req.now,
                    client=client,
                    delivery=req.delivery,
                    gate_request=request,
                    config_path=settings.config_path,
                    outbound=settings.outbound,
                    prometheus=judge_client(settings.outbound),
                    cross_repo=operator,
                )
            return result

    return run


class Runtime:
    """Everything one app instance owns: metrics, worker, scheduler, App auth, logs."""

    def __init__(
        self,
        settings: Settings,
        reconciler: Reconciler | None,
        clock: Clock,
        *,
        worker_threads: int | None = None,
        debounce: float = 0.25,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.redactor = Redactor(settings.secrets())
        self.metrics = Metrics()
        self.seen: SeenDeliveries | SharedSeen = (
            SharedSeen(settings.redis_url) if settings.redis_url else SeenDeliveries()
        )
        self.auth = AppAuth(
            settings.app_id, settings.private_key, settings.api_url, on_token=self.redactor.add
        )
        self.reconciler = reconciler or github_reconciler(
            settings, self.auth, lambda: self.bot_login
        )
        self.bot_login = settings.bot_login
        self.worker = Worker(
            self._reconcile,
            threads=worker_threads or settings.reconcile_threads,
            debounce=debounce,
            on_depth=self.metrics.queue_depth.set,
            on_outcome=self.metrics.worker_failure,
        )
        self.scheduler = Scheduler(self.worker.submit, interval=settings.schedule_interval)
        self.metrics_listener = (
            MetricsListener(settings.metrics_addr, self.metrics.render, settings.metrics_token)
            if settings.metrics_addr
            else None
        )
        self.grafana = (
            GrafanaAnnotator(settings.grafana, settings.outbound) if settings.grafana else None
        )
        self.queue: Any = None  # bot.transports.queue.QueueHandOff under `serve --queue`
        self._stop = threading.Event()
        self._sample_rate_limit = reconciler is None
        self._rate_sampled: dict[int, float] = {}

    def start(self) -> None:
        if self.metrics_listener is not None:
            self.metrics_listener.start()
        self.worker.start()
        if self.queue is not None:
            self.queue.start()
        if self.settings.schedule_interval > 0:
            self.scheduler.start()
            threading.Thread(target=self._discover_loop, name="discover", daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        self.scheduler.stop()
        self.worker.stop()
        if self.queue is not None:
            self.queue.close()
        if self.metrics_listener is not None:
            self.metrics_listener.stop()
        if isinstance(self.seen, SharedSeen):
            self.seen.close()

    def _reconcile(self, job: Job) -> None:
        now = self.clock()
        req = ReconcileRequest(
            job.repo,
            now,
            job.installation_id,
            job.delivery,
            job.events,
            job.attempt,
            job.gate_requests,
        )
        started = time.monotonic()
        try:
            result = self.reconciler(req)
        except Exception:
            self.metrics.reconciled("error", time.monotonic() - started)
            raise
        took = time.monotonic() - started
        seen = view(result)
        self._record(job, seen, took)
        if any(self.settings.config_path in p for p in seen.problems) and not seen.trains:
            self.scheduler.unwatch(job.repo)  # no config: nothing to tick until one lands
        elif self.settings.schedule_interval > 0:
            self.scheduler.report(job.repo, job.installation_id, seen.seconds_until_due(now))
        failed = [p for p in seen.problems if p.startswith("GitHub")]
        if failed:  # GitHub failed part way: let the worker retry with backoff
            raise ExternalError("GitHub", f"reconcile of {job.repo} incomplete: {failed[0]}")

    def _record(self, job: Job, seen: ResultView, took: float) -> None:
        """Metrics and one log line for a finished reconcile."""
        outcome = "problem" if seen.problems else "ok"
        self.metrics.reconciled(outcome, took)
        self.metrics.set_train_states(job.repo, [t.state for t in seen.trains])
        self.metrics.events.set(job.repo, seen.events)
        if self.grafana is not None:
            self.grafana.post(job.repo, seen.events)
        inst = job.installation_id
        self.metrics.github(str(inst or "unknown"), seen.requests, self._rate_limit(inst))
        extra: dict[str, Any] = {
            "repo": job.repo,
            "delivery": job.delivery,
            "trigger": ",".join(job.events),
            "train_id": ",".join(t.id for t in seen.trains) or None,
            "duration_ms": round(took * 1000, 1),
            "outcome": outcome,
        }
        LOG.info("reconciled %s: %d action(s)", job.repo, len(seen.actions), extra=extra)
        for problem in seen.problems:
            LOG.warning("reconcile problem: %s", problem, extra=extra)

    def _rate_limit(self, installation_id: int | None) -> int | None:
        """Sample the installation's rate limit at most once a minute (production only)."""
        if not self._sample_rate_limit or installation_id is None:
            return None
        now = time.monotonic()
        if now - self._rate_sampled.get(installation_id, -1e9) < 60:
            return None
        self._rate_sampled[installation_id] = now
        try:
            return self.auth.rate_limit_remaining(installation_id)
        except ExternalError:
            return None

    def _discover_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._discover_once()
                return
            except Exception as exc:
                LOG.warning("discovery failed; retrying in 60s", extra={"error": str(exc)})
                if self._stop.wait(60):
                    return

    def _discover_once(self) -> None:
        if self.bot_login is None:
            self.bot_login = f"{self.auth.app_slug()}[bot]"
        found = discover(
            self.auth.installations,
            self.auth.repositories,
            lambda repo, inst: self.auth.has_file(repo, inst, self.settings.config_path),
        )
        window = min(self.settings.schedule_interval, STAGGER_WINDOW)
        for i, (repo, inst) in enumerate(found):
            self.scheduler.watch(repo, inst, first_in=stagger(i, len(found), window))
        LOG.info("watching %d repositories", len(found))


def _json(code: int, /, **body: Any) -> Response:
    return Response(json.dumps(body), status=code, mimetype="application/json")


def create_app(
    settings: Settings,
    *,
    reconciler: Reconciler | None = None,
    clock: Clock | None = None,
    start: bool = True,
    worker_threads: int | None = None,
    debounce: float = 0.25,
    dashboard: Source | None = None,
) -> Flask:
    """The webhook app. `reconciler` defaults to the shell's reconcile through githubkit;
    `clock` gives the `now` each reconcile sees; `start=False` leaves the worker and
    scheduler stopped (call `app.extensions["release_train"].start()`). `dashboard` is where
    the read-only page at `/` and the release-metric gauges read the ledger from (see
    `bot.insights.dashboard.source_from_env`); without one the page says how to set it.
    The page is behind GitHub sign-in (`settings.signin`), or loopback-only without it."""
    rt = Runtime(
        settings,
        reconciler,
        clock or (lambda: datetime.now(UTC)),
        worker_threads=worker_threads,
        debounce=debounce,
    )
    configure(rt.redactor, level=settings.log_level)
    app = Flask("release_train")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.extensions["release_train"] = rt
    app.wsgi_app = WebhookEndpoint(rt, app.wsgi_app)  # type: ignore[method-assign]
    source = dashboard or source_from_env({})
    app.register_blueprint(signin_blueprint(source, settings.signin, rt.clock))
    export_gauges(rt.metrics.registry, metrics_of(source))

    @app.get("/healthz")
    def healthz() -> Response:
        return _json(
            200, status="ok", pending=len(rt.worker.pending()), watched=len(rt.scheduler.watched())
        )

    @app.get("/metrics")
    def metrics() -> Response:
        if settings.metrics_addr is not None:  # served on its own listener instead
            return _json(404, error="not found")
        if not metrics_allowed(settings.metrics_token, request.remote_addr, dict(request.headers)):
            why = "a bearer token" if settings.metrics_token else "loopback or METRICS_TOKEN"
            answer = _json(401, error=f"/metrics needs {why}")
            answer.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return answer
        data, content_type = rt.metrics.render()
        return Response(data, status=200, content_type=content_type)

    if start:
        rt.start()
    return app


def runtime(app: Flask) -> Runtime:
    """The `Runtime` behind an app made by `create_app`."""
    rt = app.extensions["release_train"]
    assert isinstance(rt, Runtime)
    return rt
