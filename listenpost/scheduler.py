"""The long-running monitor: the job table (listenpost/jobs.py) run by APScheduler.

Jobs never sleep for rate limits: a RateLimited source records `disabled_until` and its next
ticks return at once until then, so one throttled network never delays the others.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable, Sequence
from datetime import datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from listenpost import metrics
from listenpost.jobs import Job, table
from listenpost.pipeline import utcnow
from listenpost.runtime import Runtime

log = logging.getLogger(__name__)


def build_scheduler(rt: Runtime, start_at: datetime | None = None) -> BackgroundScheduler:
    """The enabled jobs of listenpost/jobs.py, each coalesced and never run twice at once."""
    return schedule(table(rt.settings), lambda job: (job.run, (rt, *job.args)), start_at)


def schedule(
    jobs: Sequence[Job],
    call: Callable[[Job], tuple[Callable[..., object], tuple[object, ...]]],
    start_at: datetime | None = None,
) -> BackgroundScheduler:
    """APScheduler over the enabled `jobs`; `call(job)` says what a run does: the job itself
    in `listenpost run`, sending it to its Celery queue in `listenpost scheduler`."""
    scheduler = BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=4)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        timezone="UTC",
    )
    start_at = start_at or utcnow()
    for job in jobs:
        if not job.enabled:
            continue
        run, args = call(job)
        scheduler.add_job(
            run,
            "interval",
            args=args,
            id=job.id,
            name=job.name,
            seconds=int(job.every.total_seconds()),
            jitter=int(job.jitter.total_seconds()) or None,
            next_run_time=job.first_run(start_at),
        )
    return scheduler


def stop_on_signals(stop: threading.Event, received: list[int] | None = None) -> None:
    """Ctrl-C / SIGTERM set `stop` (from the main thread only); a second one leaves at once.
    Each signal is appended to `received`, so the CLI can exit 130 on Ctrl-C as `poll` does."""
    if threading.current_thread() is not threading.main_thread():
        return

    def on_signal(signum: int, _frame: object) -> None:
        if received is not None:
            received.append(signum)
        if stop.is_set():
            # Second Ctrl-C: leave now. Every page commits atomically with its cursor,
            # so what a running job had not committed is simply fetched again next start.
            log.warning("stopping now; uncommitted pages will be fetched again")
            os._exit(128 + signum)
        log.info("stopping after the running jobs commit (Ctrl-C again to stop now)")
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)


def run_forever(rt: Runtime, stop: threading.Event | None = None) -> int | None:
    """Run until Ctrl-C / SIGTERM (or `stop` is set); running jobs finish their current page.

    Returns the signal that stopped it (None when `stop` was set)."""
    stop = stop or rt.stopping
    received: list[int] = []
    stop_on_signals(stop, received)
    if metrics.serve(rt.settings.metrics, rt.store):
        where = rt.settings.metrics
        log.info("metrics on http://%s:%d/metrics", where.host, where.port)
    scheduler = build_scheduler(rt)
    scheduler.start()
    polls = sum(job.id.startswith("poll:") for job in scheduler.get_jobs())
    log.info(
        "listening: %d poll job(s) for %d brand(s); Ctrl-C to stop", polls, len(rt.settings.brands)
    )
    from alerts.app import start_for_run  # buttons and /listenpost (issue 6)

    alerts = rt.settings.alerts
    slack_app = start_for_run(
        rt.store, alerts.slack, alerts.slack.base_url, rt.env, rt.routes, alerts.replies
    )
    from listenpost import streams  # firehoses matched locally (issue 21)

    running = streams.start_for_run(rt)
    try:
        stop.wait()
    finally:
        if slack_app is not None:
            slack_app.stop()
        rt.stopping.set()
        running.join()  # each stream commits what it read, with its cursor
        log.info("stopping: waiting for running jobs to commit")
        scheduler.shutdown(wait=True)
    return received[0] if received else None
