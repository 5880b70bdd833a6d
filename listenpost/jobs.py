"""Every scheduled job of the monitor in one table: what runs, how often, and whether settings
turn it on. listenpost/scheduler.py runs the table with APScheduler in one process; with
`[queue]` set, listenpost/dispatch.py sends each run to its Celery queue instead and
listenpost/celery_app.py's tasks run these same functions on the workers.

Features below the wiring never see the Runtime: each exposes plain functions that take what
they use. The adapters here are the only place a job's Runtime is taken apart into those
arguments. A job's function takes the Runtime, then the job's `args`.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from alerts.followup import digest_tick, sla_tick
from listenpost.config import Settings
from listenpost.pipeline import deliver, poll_source, process
from listenpost.runtime import Runtime
from radar.watch import RadarReport, check, next_check
from reports.schedule import send_due_report

log = logging.getLogger(__name__)

OUTBOX_EVERY = timedelta(seconds=20)
SLA_EVERY = timedelta(minutes=1)  # a breach is escalated at most a minute late
DIGEST_EVERY = timedelta(minutes=1)  # digests go out within a minute of their `at`
REPORT_EVERY = timedelta(hours=1)  # the scheduled report is due at most an hour late


@dataclass(frozen=True)
class Job:
    id: str
    name: str  # what a person reads in logs and `listenpost sources`
    every: timedelta
    run: Callable[..., object]  # run(rt, *args)
    enabled: bool  # settings turn it on
    first_run: Callable[[datetime], datetime]  # the start time -> the first run
    args: tuple[str, ...] = ()
    jitter: timedelta = timedelta(0)  # each run up to this much late
    # The Celery queue that runs it in distributed mode: poll (I/O), triage (CPU), deliver
    # (paced per channel) or housekeeping.
    queue: str = "housekeeping"


def table(settings: Settings) -> list[Job]:
    """The monitor's jobs for these settings, in the order they are added."""
    sources = settings.poll_settings()
    polls = [
        Job(
            id=f"poll:{brand.name}:{name}",
            name=f"poll {brand.name} on {name}",
            every=source.interval,
            run=poll,
            enabled=True,
            # Spread the first runs over a few seconds instead of a thundering start.
            first_run=lambda start: start + timedelta(seconds=random.uniform(0, 3)),
            args=(brand.name, name),
            jitter=_jitter(source.interval),
            queue="poll",
        )
        for brand in settings.brands
        for name, source in sources.items()
    ]
    pace = settings.alerts.fatigue.policy().pace_window
    radar = settings.radar
    return [
        *polls,
        Job(
            "outbox",
            "triage, route and deliver",
            OUTBOX_EVERY,
            process,
            True,
            lambda start: start + OUTBOX_EVERY,
            queue="triage",
        ),
        Job(
            "deliver",
            "deliver queued alerts at the channels' pace",
            timedelta(seconds=max(1, round(pace.total_seconds()))),
            deliver,
            True,
            lambda start: start + pace,
            queue="deliver",
        ),
        Job(
            "radar",
            "crisis radar",
            radar.window_delta,
            radar_check,
            radar.enabled and bool(settings.brands),
            # A little after each window closes (`lag`), so it judges full windows.
            lambda start: next_check(start, radar),
        ),
        Job(
            "sla",
            "escalate missed SLAs",
            SLA_EVERY,
            sla,
            any(r.sla for r in settings.alerts.routes),
            lambda start: start + SLA_EVERY,
        ),
        Job(
            "digests",
            "send digests",
            DIGEST_EVERY,
            digests,
            bool(settings.alerts.digests),
            lambda start: start + DIGEST_EVERY,
        ),
        Job(
            "report",
            f"{settings.reports.every} report",
            REPORT_EVERY,
            report,
            bool(settings.reports.slack_channel),
            lambda start: start + timedelta(minutes=1),
        ),
    ]


def _jitter(interval: timedelta) -> timedelta:
    """Up to 10 % of the interval (max 60 s) so many brands do not hit one API in lockstep."""
    return timedelta(seconds=int(min(60.0, interval.total_seconds() * 0.1)))


def poll(rt: Runtime, brand: str, source: str) -> None:
    result = poll_source(rt, brand, source)
    if result.new and not rt.stopping.is_set():  # what was stored is processed on next start
        process(rt)


def radar_check(rt: Runtime, now: datetime | None = None) -> RadarReport:
    """Every configured brand, alerts to `[radar] channel` or the default channel."""
    settings = rt.settings
    brands = {b.name: b.query for b in settings.brands}
    report = check(rt.store, rt.sender, settings.radar, brands, settings.alerts.slack.channel, now)
    if report.failures:
        log.warning("radar: %d problem(s): %s", len(report.failures), "; ".join(report.failures))
    return report


def sla(rt: Runtime, now: datetime | None = None) -> int:
    return sla_tick(rt.store, rt.routes, now)


def digests(rt: Runtime, now: datetime | None = None) -> int:
    return digest_tick(rt.store, rt.sender, rt.settings.alerts.digests, now)


def report(rt: Runtime, now: datetime | None = None) -> bool:
    settings = rt.settings
    return send_due_report(rt.store, rt.sender, settings.reports, settings, rt.redactor, now)
