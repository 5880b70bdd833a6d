"""Deliver queued Slack messages: exactly one per (route, mention), even across restarts.

The outbox row is the only state. A row leaves "pending" only by being marked delivered,
failed (a person must act), held (quiet hours, for the digest) or retried with a `not_before`
time, so a process killed mid-pass picks up where the database says it stopped. A send that
Slack accepted but whose `mark_delivered` never ran (a crash in between) is the one case that
can repeat a message; that window is one HTTP round trip.

Rows come in kinds (storage/alerting.py): an alert, a reply threaded under an alert (sent only
once the alert has its ts), a burst's "N more like this" message with its listed alerts, and
an SLA escalation. Before sending, `alerts.fatigue.prepare` holds quiet-hours alerts and folds
bursts. Delivering an alert opens its case, with the route's SLA.

Nothing here sleeps: a rate limit, an outage or per-channel pacing only moves `not_before` or
leaves rows pending, and the next scheduled pass tries again. Pacing counts what the database
says was delivered to the channel in the last few seconds (at most `Policy.burst` messages per
`Policy.pace_window`), so it holds across passes, restarts and processes.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from alerts.fatigue import Policy, prepare, render_group, render_list, render_reply
from alerts.render import render
from alerts.sender import Delivery, DeliveryFailed, Misconfigured, RetryLater, Sender
from alerts.sla import render_escalation
from alerts.timing import sla_for
from storage import alerting, cases
from storage.records import OutboxItem

if TYPE_CHECKING:
    from alerts.routes import Route
    from storage import Store

log = logging.getLogger(__name__)

# A sender that died mid-send releases its alert after this: three times the Slack client's
# 10 s timeout, so a live send never loses its claim, and a crash costs half a minute.
CLAIM_LEASE = timedelta(seconds=30)
SETUP_PAUSE = timedelta(minutes=10)  # revoked token, app not in channel: check again after this
BACKOFF_BASE = 30.0  # seconds before the first retry after a 5xx or network error
BACKOFF_CAP = 600.0  # never wait more than ten minutes between tries, however long the outage
BATCH = 50
PREPARE_LIMIT = 1000  # due alerts looked at together for quiet hours and bursts


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0  # rescheduled with a not_before (rate limit, outage)
    failed: int = 0  # permanent answers only: the error is stored and nothing retries it
    deferred: int = 0  # left pending untouched: channel paused or paced this pass
    held: int = 0  # quiet hours: kept for the channel's next digest (or its quiet hours' end)
    grouped: int = 0  # folded into a burst's "N more like this" thread


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min ... capped at 10 min: spaces retries out during a long Slack outage,
    and the alerts still go out within minutes of its end."""
    # Rate-limited retries count as attempts too, so the exponent is bounded before it overflows.
    return timedelta(seconds=min(BACKOFF_BASE * 2 ** min(attempts, 16), BACKOFF_CAP))


def deliver_due(
    store: Store,
    sender: Sender,
    now: datetime | None = None,
    max_attempts: int = 8,
    *,
    routes: Sequence[Route] = (),
    policy: Policy | None = None,
    digest_channels: Collection[str] = (),
) -> DeliveryReport:
    """One pass over the due messages.

    A channel that answered with Retry-After (or a transient error) gets nothing more in this
    pass; its other messages stay pending with their attempts untouched and other channels
    carry on. A transient failure (429, 5xx, timeout, network) never makes a message fail, however
    long it lasts: only a permanent answer does, and setup problems are held for a person.
    `max_attempts` bounds only unexpected sender errors (a bug). `routes` give SLAs and quiet
    hours; `digest_channels` are the channels whose digest lists held alerts.
    """
    run = _Pass(store, sender, now or datetime.now(UTC), max_attempts, policy or Policy())
    run.routes = {r.name: r for r in routes}
    try:
        due = store.due_alerts(run.now, limit=PREPARE_LIMIT)
        prepared = prepare(store, due, routes, run.policy, digest_channels, run.now)
        run.report.held = prepared.held + prepared.postponed
        run.report.grouped = prepared.folded
    except Exception:  # fatigue control is a courtesy; it must never block the alerts
        log.exception("quiet hours / burst grouping failed; delivering as usual this pass")
    seen: set[int] = set()
    after = 0
    # Paged by id, not "due and not seen": rows a paced channel leaves pending must not fill
    # every page while another channel's alerts wait behind them.
    while items := store.due_alerts(run.now, limit=BATCH, after=after):
        after = items[-1].id
        for item in items:
            if item.id in seen:
                continue  # sent as a line of an earlier list message
            seen.add(item.id)
            if _listed(item):
                siblings = [
                    i
                    for i in items
                    if i.id not in seen and _listed(i) and i.thread_of == item.thread_of
                ][: run.policy.list_size - 1]
                seen.update(i.id for i in siblings)
                run.deliver([item, *siblings])
            else:
                run.deliver([item])
    return run.report


def _listed(item: OutboxItem) -> bool:
    return item.kind == alerting.THREAD and bool((item.payload or {}).get("listed"))


@dataclass
class _Pass:
    store: Store
    sender: Sender
    now: datetime
    max_attempts: int
    policy: Policy
    routes: dict[str, Route] = field(default_factory=dict)
    report: DeliveryReport = field(default_factory=DeliveryReport)
    paused: set[str] = field(default_factory=set)
    budget: dict[str, int] = field(default_factory=dict)  # messages each channel may still get
    stopped: bool = False  # the sender itself is misconfigured: nothing more this pass

    def deliver(self, items: list[OutboxItem]) -> None:
        """Send one message for `items` (one row, or the folded alerts one list reply shows)."""
        channel = items[0].channel
        if self.stopped or channel in self.paused or not self._paced(channel):
            self.report.deferred += len(items)
            return
        items = [i for i in items if self.store.claim(i.id, self.now, self.now + CLAIM_LEASE)]
        if not items:
            return  # another process on this database is sending them
        item = items[0]
        where = (
            f"{item.kind} {item.id} (route {item.route}, mention {item.mention.id}) to {channel}"
        )
        try:
            target, thread_ts, text, blocks = self._message(items)
        except Exception as exc:  # a bug must not block the queue behind this item forever
            log.exception("%s: could not render", where)
            for i in items:
                self._fail(i, f"could not render: {exc}")
            return
        try:
            delivery = self._landed(item, target, thread_ts) or self.sender.send(
                target, text, blocks, thread_ts=thread_ts, marker=item.id
            )
        except RetryLater as exc:
            self.paused.add(channel)
            if exc.after_seconds is None:
                for i in items:
                    self._backoff(i, exc.reason, where, give_up=False)
                return
            until = self.now + timedelta(seconds=exc.after_seconds)
            log.info("%s: %s; channel paused until %s", where, exc.reason, until.isoformat())
            for i in items:
                self.store.mark_retry(i.id, exc.reason, until)
            self.store.pause_channel(channel, until)
            self.report.retried += len(items)
        except Misconfigured as exc:
            until = self.now + SETUP_PAUSE
            scope = "every channel" if exc.whole_sender else channel
            log.error("%s: %s; holding alerts for %s until it is fixed", where, exc.error, scope)
            for i in items:
                self.store.mark_retry(i.id, exc.error, until)
            self.store.pause_channel(None if exc.whole_sender else channel, until)
            self.report.retried += len(items)
            if exc.whole_sender:
                self.stopped = True
            else:
                self.paused.add(channel)
        except DeliveryFailed as exc:
            log.error("%s failed: %s", where, exc.error)
            for i in items:
                self._fail(i, exc.error)
        except Exception as exc:  # an unexpected sender error is retried, but only so often
            log.exception("%s: unexpected error", where)
            self.paused.add(channel)
            for i in items:
                self._backoff(i, f"{type(exc).__name__}: {exc}", where, give_up=True)
        else:
            for i in items:
                self.store.mark_delivered(i.id, delivery.channel_id, delivery.ts, self.now)
            if delivery.ts is not None:  # a Slack message; the console has no rate limit
                self.budget[channel] -= 1
            self.report.sent += len(items)
            if item.kind == alerting.ALERT:
                self._open_case(item)
            elif item.kind == alerting.GROUP:
                shown = {**(item.payload or {}), "shown": (item.payload or {}).get("count", 0)}
                alerting.set_payload(self.store, item.id, shown)
            elif _listed(item) and item.thread_of is not None:
                self._recount(item.thread_of)

    def _landed(self, item: OutboxItem, target: str, thread_ts: str | None) -> Delivery | None:
        """For a send a crash cut off (its claim ran out): the message, if Slack took it before
        the crash, so it is recorded instead of posted twice."""
        if not item.interrupted:
            return None
        channel_id = target if thread_ts else alerting.channel_id_for(self.store, item.channel)
        found = self.sender.landed(channel_id, item.id, thread_ts) if channel_id else None
        if found is not None:
            log.info("%s %d was posted before a crash: recorded, not resent", item.kind, item.id)
        return found

    def _paced(self, channel: str) -> bool:
        """Whether `channel` may get another message now (Slack: ~1 per second per channel)."""
        if channel not in self.budget:
            since = self.now - self.policy.pace_window
            self.budget[channel] = self.policy.burst - alerting.sent_since(
                self.store, channel, since
            )
        return self.budget[channel] > 0

    def _message(
        self, items: list[OutboxItem]
    ) -> tuple[str, str | None, str, list[dict[str, Any]]]:
        """(channel, thread ts, fallback text, blocks) for the message `items` make."""
        item = items[0]
        if item.kind == alerting.GROUP:
            return (item.channel, None, *render_group(item.payload or {}))
        if item.kind == alerting.ESCALATION:
            return (item.channel, None, *render_escalation(self.store, item))
        if item.kind != alerting.THREAD:
            return (item.channel, None, *render(item.mention))
        parent = alerting.posted(self.store, item.thread_of) if item.thread_of else None
        # The console has no ts: its replies are printed as messages of their own.
        target = (parent.channel_id if parent else None) or item.channel
        thread_ts = parent.ts if parent else None
        if _listed(item):
            return (target, thread_ts, *render_list([i.mention for i in items]))
        return (target, thread_ts, *render_reply(item.mention))

    def _recount(self, group_id: int) -> None:
        """Alerts that joined a burst after its message went out: "7 more" becomes "10 more"
        in place (chat.update), so the channel's count stays true."""
        group = alerting.posted(self.store, group_id)
        payload = dict(group.payload or {}) if group else {}
        if group is None or group.ts is None or group.channel_id is None:
            return
        if payload.get("count") == payload.get("shown"):
            return
        try:
            self.sender.update(group.channel_id, group.ts, *render_group(payload))
        except Exception as exc:  # the list reply is out; a stale count is only cosmetic
            log.warning("burst message %d: count not updated: %s", group_id, exc)
            return
        alerting.set_payload(self.store, group_id, {**payload, "shown": payload.get("count")})

    def _open_case(self, item: OutboxItem) -> None:
        """The alert is in front of the team: its case (and SLA clock) starts now."""
        route = self.routes.get(item.route)
        sla = sla_for(route.sla, item.mention) if route is not None else None
        due = self.now + sla if sla is not None else None
        try:
            cases.open_case(self.store, item.mention.id, item.route, self.now, sla_due_at=due)
        except Exception:  # the message is out; a missing case must not resend it
            log.exception("alert %d delivered but its case could not be opened", item.id)

    def _backoff(self, item: OutboxItem, reason: str, where: str, give_up: bool) -> None:
        """Retry later; `give_up` after `max_attempts` only for a bug, never for an outage: a
        transient failure must not become a lost alert."""
        attempt = item.attempts + 1
        if give_up and attempt >= self.max_attempts:
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
        if item.kind in (alerting.ALERT, alerting.GROUP):
            alerting.fail_children(self.store, item.id, error)
