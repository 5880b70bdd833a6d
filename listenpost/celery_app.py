"""The Celery workers' side of distributed mode: the app and the tasks that run the job table.

`listenpost worker` starts this; so does the plain `celery -A listenpost.celery_app worker`
(settings from $LISTENPOST_SETTINGS or ./settings.toml, like every command).

Every task is a trigger, not a carrier: it names a brand and a source, a job, or nothing, and
reads its work from the database. So a task run twice (acks late: a worker killed mid-task gives
its task back) or lost (the next tick sends another) changes nothing its first run did not:

- poll (I/O): one brand x source under the lease `poll:<brand>:<source>`, so at most one worker
  polls it; each page commits with its cursor; rate-limit pauses and budgets are the source's
  row in the database, read by every worker. New mentions wake triage.
- triage (CPU): one batch of untriaged mentions claimed with SKIP LOCKED (workers take disjoint
  batches; a killed worker's batch goes back), a full batch sends the next, then routing under
  the `route` lease (the outbox's unique (route, mention) keeps alerts exactly once). Queued
  alerts wake delivery.
- deliver: one pass under the `deliver` lease, so per-channel pacing (counted from delivered
  rows) and the outbox's claims hold across all workers.
- housekeeping: SLA, digests, radar and the report, by job id, each under its own lease.

Stream listeners are not tasks: the leading scheduler reads them (listenpost/dispatch.py), so
each has one reader, and what they store wakes a triage task here.
"""

from __future__ import annotations

import logging
import os
import sys

from celery.signals import worker_process_shutdown

from listenpost import config
from listenpost.jobs import table
from listenpost.pipeline import deliver as deliver_pass
from listenpost.pipeline import poll_source, route_pending, triage_batch
from listenpost.queues import DELIVER, HOUSEKEEPING, POLL, TRIAGE, make_app
from listenpost.runtime import Runtime, build
from storage.locks import lease

log = logging.getLogger(__name__)


def _settings() -> config.Settings:
    try:
        settings = config.load(config.locate(None, os.environ).path)
    except config.SettingsError as exc:
        sys.exit(f"settings error: {exc}")
    if not settings.queue.distributed:
        sys.exit('settings error: workers need [queue] broker = "redis://..." or "amqp://..."')
    return settings


settings = _settings()
app = make_app(settings)
_runtime: Runtime | None = None


def runtime() -> Runtime:
    """This worker process's Runtime, built on its first task (after the fork, so no database
    connection is shared between processes)."""
    global _runtime
    if _runtime is None:
        _runtime = build(settings, os.environ)
    return _runtime


@worker_process_shutdown.connect
def _close(**_: object) -> None:
    if _runtime is not None:
        _runtime.close()


@app.task(name=POLL)
def poll(brand: str, source: str) -> int:
    rt = runtime()
    if source not in rt.listeners or brand not in {b.name for b in settings.brands}:
        log.warning("poll %s/%s: no longer configured; dropped", brand, source)
        return 0
    with lease(rt.store, f"poll:{brand}:{source}") as held:
        if not held:
            log.debug("%s/%s is being polled by another worker", brand, source)
            return 0
        result = poll_source(rt, brand, source)
    if result.new:
        app.send_task(TRIAGE)
    return result.new


@app.task(name=TRIAGE)
def triage() -> int:
    rt = runtime()
    batch = settings.queue.triage_batch
    scored = triage_batch(rt, batch)
    if scored == batch:
        app.send_task(TRIAGE)  # more waiting: the next batch may go to another worker
    with lease(rt.store, "route", wait=True):
        queued = route_pending(rt)
    if queued:
        app.send_task(DELIVER)
    return scored


@app.task(name=DELIVER)
def deliver() -> int:
    rt = runtime()
    with lease(rt.store, "deliver") as held:
        if not held:
            return 0  # another worker's pass is on it; the next tick comes within seconds
        return deliver_pass(rt).sent


@app.task(name=HOUSEKEEPING)
def housekeeping(job_id: str) -> None:
    rt = runtime()
    job = next((j for j in table(settings) if j.id == job_id and j.enabled), None)
    if job is None:
        log.warning("job %s: not in this worker's settings; dropped", job_id)
        return
    with lease(rt.store, job_id) as held:
        if held:
            job.run(rt, *job.args)
