"""Following alerts up: SLA breaches escalated, digests sent when due.

Both only read the database and queue or send; a failing run is logged and the next tick tries
again, so neither can stop polling or delivery (listenpost/jobs.py runs them every minute).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from alerts.digest import send_due_digests
from alerts.sla import check_slas

if TYPE_CHECKING:
    from alerts.routes import Route
    from alerts.sender import Sender
    from alerts.settings import DigestSettings
    from storage import Store

log = logging.getLogger(__name__)


def sla_tick(store: Store, routes: Sequence[Route], now: datetime | None = None) -> int:
    """Queue escalations for cases past their SLA (the outbox job sends them)."""
    try:
        return check_slas(store, routes, now)
    except Exception:
        log.exception("SLA check failed; it runs again in a minute")
        return 0


def digest_tick(
    store: Store,
    sender: Sender,
    digests: Sequence[DigestSettings],
    now: datetime | None = None,
) -> int:
    try:
        return send_due_digests(store, sender, digests, now)
    except Exception:
        log.exception("digests failed; they are tried again in a minute")
        return 0
