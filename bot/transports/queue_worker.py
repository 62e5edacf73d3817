"""The RQ worker behind `release-train worker`.

`ReconcileWorker` is RQ's `SimpleWorker` (the job runs in the worker process: no fork per
reconcile, the App's token cache and HTTP pools are kept between jobs) with three changes:

- it runs only the two job functions `serve` enqueues (`bot.transports.queue.ALLOWED`);
  any other job found in the queue fails without being imported or called, and no job's
  callbacks are imported (`ReconcileJob`);
- while a job runs, a thread renews the job's heartbeat every `abandoned_after / 3`
  seconds, so the job's entry in RQ's StartedJobRegistry expires `abandoned_after`
  seconds after its worker died (SIGKILL, OOM, a lost node) rather than RQ's
  job-timeout-plus-a-minute;
- its command channel is polled every second (a SIGTERM ends an idle worker at once);
- registry maintenance, which moves such abandoned jobs back to the queue (their first
  retry is immediate), runs every `abandoned_after / 2` seconds rather than every 10
  minutes, and an idle worker wakes at least that often to do it.

The per-repository lock's TTL is half of `abandoned_after`, so by the time a dead
worker's job is re-run its lock has expired and the re-run takes it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from rq.job import Job as RQJob
from rq.worker import SimpleWorker, WorkerStatus

from bot.transports.queue import ALLOWED, connect, rq_queue
from bot.transports.queue_lock import Renewer, RepoLocks

LOG = logging.getLogger("release_train.queue")
ABANDONED_AFTER = 60.0


class ReconcileJob(RQJob):
    """RQ's job, importing nothing a job's data names but the two job functions: no other
    function, no success/failure/stopped callbacks (RQ would import and call them, some
    during registry maintenance, outside any job)."""

    @property
    def func(self) -> Any:
        if self.func_name not in ALLOWED or self.instance is not None:
            raise ValueError("refused: not a release-train job")
        return super().func

    @property
    def success_callback(self) -> Any:
        return _no_callback(self._success_callback_name)

    @property
    def failure_callback(self) -> Any:
        return _no_callback(self._failure_callback_name)

    @property
    def stopped_callback(self) -> Any:
        return _no_callback(self._stopped_callback_name)


def _no_callback(name: str | None) -> None:
    if name:
        LOG.error("refused a queued job's callback %s", str(name)[:200])
    return None


class ReconcileWorker(SimpleWorker):
    abandoned_after: float = ABANDONED_AFTER

    def execute_job(self, job: RQJob, queue: Any) -> None:
        if job.func_name not in ALLOWED:
            LOG.error("refused a queued job naming %s", str(job.func_name)[:200])
            self.handle_job_failure(job, queue, exc_string="refused: not a release-train job")
            return
        self.prepare_execution(job)
        beat = max(self.abandoned_after / 3, 0.5)
        with Renewer(lambda: self._beat(job), beat, name="job-heartbeat"):
            self.perform_job(job, queue)
        self.set_state(WorkerStatus.IDLE)

    def _beat(self, job: RQJob) -> bool:
        self.maintain_heartbeats(job)
        return True

    def get_heartbeat_ttl(self, job: RQJob) -> int:
        return max(int(self.abandoned_after), 1)

    def subscribe(self) -> None:
        """RQ's command channel, polled every second rather than every 60: on SIGTERM an
        idle worker joins this thread, and RQ's 60 s made a warm shut-down take a minute."""
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(  # type: ignore[assignment]
            sleep_time=1.0, daemon=True, exception_handler=self._pubsub_exception_handler
        )


def build_worker(
    url: str, settings: Any, *, abandoned_after: float = ABANDONED_AFTER, reconciler: Any = None
) -> Any:
    """A worker on `url`'s queue whose jobs reconcile with `settings` (the App's), through
    `reconciler` if given (benchmarks), else the production reconcile."""
    from rq.serializers import JSONSerializer

    from bot.transports.app import Runtime
    from bot.transports.queue_jobs import Context, DueTicks, install

    client = connect(url)
    queue = rq_queue(client, job_class=ReconcileJob)
    rt = Runtime(settings, reconciler, lambda: datetime.now(UTC))
    rt.scheduler = DueTicks(queue, settings.schedule_interval)
    install(Context(rt, RepoLocks(client, ttl=abandoned_after / 2), queue))
    maintenance = max(abandoned_after / 2, 1.0)
    worker = ReconcileWorker(
        [queue],
        connection=client,
        serializer=JSONSerializer,
        job_class=ReconcileJob,
        maintenance_interval=int(maintenance) or 1,
        worker_ttl=int(maintenance) + 15,  # an idle worker wakes every `maintenance` s
    )
    worker.abandoned_after = abandoned_after
    return worker
