"""Deliver queued alerts: exactly one message per (route, mention), even across restarts.

The outbox row is the only state. An alert leaves "pending" only by being marked delivered,
failed (a person must act) or retried with a `not_before` time, so a process killed mid-pass
picks up where the database says it stopped. A send that Slack accepted but whose
`mark_delivered` never ran (a crash in between) is the one case that can repeat a message;
that window is one HTTP round trip.

Nothing here sleeps: a rate limit or an outage only moves `not_before`, and the next scheduled
pass tries again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from alerts.render import render
from alerts.sender import DeliveryFailed, Misconfigured, RetryLater, Sender
from storage.records import OutboxItem

if TYPE_CHECKING:
    from storage import Store

log = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=2)  # a sender that died mid-send releases its alert after this
SETUP_PAUSE = timedelta(minutes=10)  # revoked token, app not in channel: check again after this
BACKOFF_BASE = 30.0  # seconds before the first retry after a 5xx or network error
BACKOFF_CAP = 3600.0  # never wait more than an hour between tries
BATCH = 50


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0  # rescheduled with a not_before (rate limit, outage)
    failed: int = 0  # permanent: the error is stored and nothing retries it
    deferred: int = 0  # left pending untouched because their channel is paused this pass


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min ... capped at 1 h: spaces retries out during a long Slack outage."""
    # Rate-limited retries count as attempts too, so the exponent is bounded before it overflows.
    return timedelta(seconds=min(BACKOFF_BASE * 2 ** min(attempts, 16), BACKOFF_CAP))


def deliver_due(
    store: Store, sender: Sender, now: datetime | None = None, max_attempts: int = 8
) -> DeliveryReport:
    """One pass over the due alerts.

    A channel that answered with Retry-After (or a transient error) gets nothing more in this
    pass; its other alerts stay pending with their attempts untouched and other channels carry
    on. A rate limit alone never makes an alert fail (Slack said when to come back), but it
    does count as an attempt, so a later run of 5xx errors gives up sooner.
    """
    run = _Pass(store, sender, now or datetime.now(UTC), max_attempts)
    seen: set[int] = set()
    while items := [i for i in store.due_alerts(run.now, limit=BATCH) if i.id not in seen]:
        for item in items:
            seen.add(item.id)
            run.deliver(item)
    return run.report


@dataclass
class _Pass:
    store: Store
    sender: Sender
    now: datetime
    max_attempts: int
    report: DeliveryReport = field(default_factory=DeliveryReport)
    paused: set[str] = field(default_factory=set)
    stopped: bool = False  # the sender itself is misconfigured: nothing more this pass

    def deliver(self, item: OutboxItem) -> None:
        if self.stopped or item.channel in self.paused:
            self.report.deferred += 1
            return
        if not self.store.claim(item.id, self.now, self.now + CLAIM_LEASE):
            return  # another process on this database is sending it
        where = f"alert {item.id} (route {item.route}, mention {item.mention.id}) to {item.channel}"
        try:
            text, blocks = render(item.mention)
        except Exception as exc:  # a bug must not block the queue behind this item forever
            log.exception("%s: could not render", where)
            self._fail(item, f"could not render: {exc}")
            return
        try:
            delivery = self.sender.send(item.channel, text, blocks)
        except RetryLater as exc:
            self.paused.add(item.channel)
            if exc.after_seconds is None:
                self._backoff(item, exc.reason, where)
                return
            until = self.now + timedelta(seconds=exc.after_seconds)
            log.info("%s: %s; channel paused until %s", where, exc.reason, until.isoformat())
            self.store.mark_retry(item.id, exc.reason, until)
            self.store.pause_channel(item.channel, until)
            self.report.retried += 1
        except Misconfigured as exc:
            until = self.now + SETUP_PAUSE
            scope = "every channel" if exc.whole_sender else item.channel
            log.error("%s: %s; holding alerts for %s until it is fixed", where, exc.error, scope)
            self.store.mark_retry(item.id, exc.error, until)
            self.store.pause_channel(None if exc.whole_sender else item.channel, until)
            self.report.retried += 1
            if exc.whole_sender:
                self.stopped = True
            else:
                self.paused.add(item.channel)
        except DeliveryFailed as exc:
            log.error("%s failed: %s", where, exc.error)
            self._fail(item, exc.error)
        except Exception as exc:  # an unexpected sender error is retried, but only so often
            log.exception("%s: unexpected error", where)
            self.paused.add(item.channel)
            self._backoff(item, f"{type(exc).__name__}: {exc}", where)
        else:
            self.store.mark_delivered(item.id, delivery.channel_id, delivery.ts, self.now)
            self.report.sent += 1

    def _backoff(self, item: OutboxItem, reason: str, where: str) -> None:
        attempt = item.attempts + 1
        if attempt >= self.max_attempts:
            log.error("%s: giving up after %d attempts: %s", where, attempt, reason)
            self._fail(item, f"gave up after {attempt} attempts: {reason}")
            return
        not_before = self.now + backoff(item.attempts)
        log.warning("%s: %s; retry %d at %s", where, reason, attempt, not_before.isoformat())
        self.store.mark_retry(item.id, reason, not_before)
        # Hold the channel's queue too: its waiting alerts must not fill every batch of due
        # alerts while other channels starve behind them.
        self.store.pause_channel(item.channel, not_before)
        self.report.retried += 1

    def _fail(self, item: OutboxItem, error: str) -> None:
        self.store.mark_failed(item.id, error)
        self.report.failed += 1
