"""The scheduler jobs that follow alerts up: SLA breaches every minute, digests when due.

Both only read the database and queue or send; a failing run is logged and the next tick tries
again, so neither can stop polling or delivery.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from alerts.digest import send_due_digests
from alerts.sla import check_slas

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler

    from listenpost.runtime import Runtime

log = logging.getLogger(__name__)

SLA_EVERY = timedelta(minutes=1)  # a breach is escalated at most a minute late
DIGEST_EVERY = timedelta(minutes=1)  # digests go out within a minute of their `at`


def sla_tick(rt: Runtime, now: datetime | None = None) -> int:
    """Queue escalations for cases past their SLA (the outbox job sends them)."""
    try:
        return check_slas(rt.store, rt.routes, now)
    except Exception:
        log.exception("SLA check failed; it runs again in a minute")
        return 0


def digest_tick(rt: Runtime, now: datetime | None = None) -> int:
    try:
        return send_due_digests(rt.store, rt.sender, rt.settings.alerts.digests, now)
    except Exception:
        log.exception("digests failed; they are tried again in a minute")
        return 0


def schedule(scheduler: BaseScheduler, rt: Runtime, start_at: datetime) -> None:
    """Add the jobs the settings ask for: SLA checks when a route has an SLA, digests when any
    are configured."""
    if any(r.sla for r in rt.routes):
        scheduler.add_job(
            sla_tick,
            "interval",
            args=(rt,),
            id="sla",
            name="escalate missed SLAs",
            seconds=int(SLA_EVERY.total_seconds()),
            next_run_time=start_at + SLA_EVERY,
        )
    if rt.settings.alerts.digests:
        scheduler.add_job(
            digest_tick,
            "interval",
            args=(rt,),
            id="digests",
            name="send digests",
            seconds=int(DIGEST_EVERY.total_seconds()),
            next_run_time=start_at + DIGEST_EVERY,
        )
