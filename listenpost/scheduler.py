"""The long-running monitor: one APScheduler job per (brand, source), plus the outbox.

Jobs never sleep for rate limits: a RateLimited source records `disabled_until` and its next
ticks return at once until then, so one throttled network never delays the others.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import threading
from datetime import datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from listenpost.pipeline import deliver, poll_source, process, utcnow
from listenpost.runtime import Runtime

log = logging.getLogger(__name__)

OUTBOX_EVERY = timedelta(seconds=20)


def _jitter(interval: timedelta) -> int:
    """Up to 10 % of the interval (max 60 s) so many brands do not hit one API in lockstep."""
    return int(min(60.0, interval.total_seconds() * 0.1))


def poll_and_process(rt: Runtime, brand: str, source: str) -> None:
    result = poll_source(rt, brand, source)
    if result.new and not rt.stopping.is_set():  # what was stored is processed on next start
        process(rt)


def build_scheduler(rt: Runtime, start_at: datetime | None = None) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=4)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        timezone="UTC",
    )
    start_at = start_at or utcnow()
    source_settings = rt.settings.source_settings()
    for brand in rt.settings.brands:
        for name in rt.listeners:
            interval = source_settings[name].interval
            scheduler.add_job(
                poll_and_process,
                "interval",
                args=(rt, brand.name, name),
                id=f"poll:{brand.name}:{name}",
                name=f"poll {brand.name} on {name}",
                seconds=int(interval.total_seconds()),
                jitter=_jitter(interval),
                # Spread the first runs over a few seconds instead of a thundering start.
                next_run_time=start_at + timedelta(seconds=random.uniform(0, 3)),
            )
    scheduler.add_job(
        process,
        "interval",
        args=(rt,),
        id="outbox",
        name="triage, route and deliver",
        seconds=int(OUTBOX_EVERY.total_seconds()),
        next_run_time=start_at + OUTBOX_EVERY,
    )
    pace = rt.settings.alerts.fatigue.policy().pace_window
    scheduler.add_job(
        deliver,
        "interval",
        args=(rt,),
        id="deliver",
        name="deliver queued alerts at the channels' pace",
        seconds=max(1, round(pace.total_seconds())),
        next_run_time=start_at + pace,
    )
    if rt.settings.radar.enabled and rt.settings.brands:
        from alerts import spike_watch  # the crisis radar (issue 7)

        spike_watch.schedule(scheduler, rt, start_at)
    from alerts import followup  # SLA escalations and digests (issue 6)

    followup.schedule(scheduler, rt, start_at)
    from listenpost import report_schedule  # the monthly report into Slack (issue 7)

    report_schedule.schedule(scheduler, rt, start_at)
    return scheduler


def run_forever(rt: Runtime, stop: threading.Event | None = None) -> None:
    """Run until Ctrl-C / SIGTERM (or `stop` is set); running jobs finish their current page."""
    stop = stop or rt.stopping
    if threading.current_thread() is threading.main_thread():

        def on_signal(signum: int, _frame: object) -> None:
            if stop.is_set():
                # Second Ctrl-C: leave now. Every page commits atomically with its cursor,
                # so what a running job had not committed is simply fetched again next start.
                log.warning("stopping now; uncommitted pages will be fetched again")
                os._exit(128 + signum)
            log.info("stopping after the running jobs commit (Ctrl-C again to stop now)")
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, on_signal)
    scheduler = build_scheduler(rt)
    scheduler.start()
    polls = sum(job.id.startswith("poll:") for job in scheduler.get_jobs())
    log.info(
        "listening: %d poll job(s) for %d brand(s); Ctrl-C to stop", polls, len(rt.settings.brands)
    )
    from alerts.app import start_for_run  # buttons and /listenpost (issue 6)

    slack_app = start_for_run(rt.store, rt.settings.alerts, rt.env, rt.routes)
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
