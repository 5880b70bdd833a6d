"""Hand-offs: routes whose target is a signed webhook or a Zendesk ticket instead of Slack.

Routing queues them in the outbox like Slack alerts (one per route and mention, ever); this
module's own pass delivers them with the same claim/lease/retry bookkeeping, so a receiver that
is down or rate-limited only delays its hand-offs, never Slack's, and nothing is sent twice
after a restart. Both are off unless a route says `target = "webhook"` or `"zendesk"`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx

from alerts.outbox import SETUP_PAUSE, backoff
from alerts.sender import DeliveryFailed, Misconfigured, RetryLater
from alerts.webhook import WebhookClient
from alerts.zendesk import ZendeskClient, ticket
from core.secrets import RedactSecrets
from storage import handoff
from storage.records import StoredMention

if TYPE_CHECKING:
    from alerts.handoff_settings import RouteHandoff
    from alerts.routes import Route
    from storage import Store

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BATCH = 50
CLAIM_LEASE = timedelta(minutes=3)  # past the longest hand-off timeout settings allow (120 s)


@dataclass
class HandoffReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    held: list[str] = field(default_factory=list)  # targets paused this pass (why, per route)


def queue_handoffs(
    store: Store,
    routes: Sequence[Route],
    alerts: Sequence[tuple[int, str, str]],
    now: datetime | None = None,
) -> tuple[list[tuple[int, str, str]], int]:
    """Split routed (mention, route, channel) alerts: hand-offs are queued here, the Slack ones
    are returned for `Store.enqueue_alerts`. Returns (slack alerts, hand-offs newly queued).

    Queued before the caller marks the mentions routed: a crash in between re-routes them, and
    the outbox's uniqueness keeps each hand-off single.
    """
    targets = {r.name: r.target for r in routes}
    slack: list[tuple[int, str, str]] = []
    other: list[tuple[int, str, str]] = []
    for mention_id, route, channel in alerts:
        target = targets.get(route, "slack")
        if target == "slack":
            slack.append((mention_id, route, channel))
        else:
            other.append((mention_id, route, target))
    if not other:
        return slack, 0
    return slack, handoff.enqueue(store, other, now or datetime.now(UTC))


def payload(mention: StoredMention, route: str, delivery_id: str) -> dict[str, Any]:
    """The webhook body: the mention as stored and its triage (with the team's labels).

    Built once, at the first attempt, and resent unchanged; X-Listenpost-Timestamp says when
    each attempt was signed."""
    m, t = mention.metrics, mention.triage
    return {
        "type": "mention.routed",
        "delivery_id": delivery_id,
        "route": route,
        "mention": {
            "id": mention.id,
            "network": mention.network,
            "native_id": mention.native_id,
            "url": mention.url,
            "author": mention.author,
            "title": mention.title,
            "text": mention.text,
            "lang": mention.lang,
            "created_at": mention.created_at.isoformat(),
            "brands": list(mention.brands),
            "metrics": {
                "followers": m.followers,
                "likes": m.likes,
                "reposts": m.reposts,
                "replies": m.replies,
            },
            "reach": m.reach(),
            "duplicate_of": mention.duplicate_of,
        },
        "triage": None
        if t is None
        else {
            "sentiment": t.sentiment,
            "sentiment_scores": dict(t.sentiment_scores),
            "urgency": t.urgency,
            "categories": list(t.categories),
            "reasons": list(t.reasons),
            "model_version": t.model_version,
        },
    }


def deliver_handoffs(
    store: Store,
    routes: Mapping[str, RouteHandoff],
    env: Mapping[str, str],
    redactor: RedactSecrets,
    now: datetime | None = None,
    transport: httpx.BaseTransport | None = None,
) -> HandoffReport:
    """One pass over due hand-offs of `routes` (route name -> its target settings), with their
    secrets read from `env`. Never raises: a bug here must not stop Slack delivery."""
    report = HandoffReport()
    configured = {name: r for name, r in routes.items() if r.target != "slack"}
    if not configured:
        return report  # the feature is off: not even a query
    run = _Pass(
        store, env, redactor, configured, now or datetime.now(UTC), report, transport
    )
    try:
        seen: set[int] = set()
        while items := [i for i in handoff.due(store, run.now, BATCH) if i.id not in seen]:
            for item in items:
                seen.add(item.id)
                run.deliver(item)
    except Exception:
        log.exception("hand-off pass failed; pending hand-offs are retried next pass")
    finally:
        run.close()
    return report


@dataclass
class _Pass:
    store: Store
    env: Mapping[str, str]
    redactor: RedactSecrets  # this process's secrets
    routes: Mapping[str, RouteHandoff]  # name -> a webhook or zendesk target
    now: datetime
    report: HandoffReport
    transport: httpx.BaseTransport | None
    paused: set[str] = field(default_factory=set)
    clients: dict[str, WebhookClient | ZendeskClient] = field(default_factory=dict)

    def deliver(self, item: handoff.HandoffItem) -> None:
        if item.channel in self.paused:
            return
        store = self.store
        route = self.routes.get(item.route)
        if route is None or route.target != item.kind:
            store.mark_failed(item.id, f"route {item.route!r} no longer hands off to {item.kind}")
            self.report.failed += 1
            return
        if not store.claim(item.id, self.now, self.now + CLAIM_LEASE):
            return  # another process is delivering it
        where = f"{item.kind} hand-off {item.id} (route {item.route}, mention {item.mention_id})"
        try:
            client = self._client(item.route, route)
            what = f"{item.kind} {item.route}"
            key = f"listenpost-{item.route}-{item.mention_id}"
            body = item.payload
            if body is None:
                mention = store.get_mention(item.mention_id)
                if mention is None:
                    raise DeliveryFailed(f"mention {item.mention_id} no longer exists")
                body = (
                    payload(mention, item.route, key)
                    if item.kind == "webhook"
                    else ticket(mention, item.route, route.zendesk.tags)
                )
                handoff.freeze(store, item.id, body)
            if isinstance(client, WebhookClient):
                receipt = str(client.post(body, key, what))  # signed at send time
            else:
                receipt = client.create(body, key, what)
        except RetryLater as exc:
            self._retry(item, where, self._clean(exc.reason), exc.after_seconds, give_up=False)
        except Misconfigured as exc:
            self._hold(item, where, self._clean(exc.error))
        except DeliveryFailed as exc:
            error = self._clean(exc.error)
            log.error("%s failed: %s", where, error)
            store.mark_failed(item.id, error)
            self.report.failed += 1
        except Exception as exc:  # a bug: retried, but only so often
            log.exception("%s: unexpected error", where)
            reason = self._clean(f"{type(exc).__name__}: {exc}")
            self._retry(item, where, reason, None, give_up=True)
        else:
            store.mark_delivered(item.id, None, receipt[:64], self.now)
            self.report.sent += 1
            log.info("%s delivered (%s)", where, receipt)

    def _client(self, name: str, route: RouteHandoff) -> WebhookClient | ZendeskClient:
        if name in self.clients:
            return self.clients[name]
        env = self.env

        if route.target == "webhook":
            cfg = route.webhook
            secret = env.get(cfg.secret_env, "")
            if not secret:
                raise Misconfigured(
                    f"set {cfg.secret_env} to the webhook's shared signing secret", False
                )
            client: WebhookClient | ZendeskClient = WebhookClient(
                cfg.url, secret, cfg.timeout, self.transport
            )
        else:
            cfg = route.zendesk
            missing = [n for n in (cfg.email_env, cfg.token_env) if not env.get(n)]
            if missing:
                raise Misconfigured(
                    f"set {' and '.join(missing)} (the agent's email and a Zendesk API token "
                    "from Admin Center > Apps and integrations > Zendesk API)",
                    False,
                )
            client = ZendeskClient(
                cfg.url,
                env[cfg.email_env],
                env[cfg.token_env],
                cfg.timeout,
                self.transport,
            )
        self.clients[name] = client
        return client

    def _retry(
        self,
        item: handoff.HandoffItem,
        where: str,
        reason: str,
        after: float | None,
        give_up: bool,
    ) -> None:
        """Retry later. A receiver that is down or slow is waited for however long it takes;
        only a bug (`give_up`) stops after MAX_ATTEMPTS."""
        store = self.store
        self.paused.add(item.channel)
        if after is not None:  # the receiver said when (429 Retry-After)
            until = self.now + timedelta(seconds=after)
            log.info("%s: %s; target paused until %s", where, reason, until.isoformat())
            store.mark_retry(item.id, reason, until)
            store.pause_channel(item.channel, until)
            self.report.retried += 1
            return
        attempt = item.attempts + 1
        if give_up and attempt >= MAX_ATTEMPTS:
            log.error("%s: giving up after %d attempts: %s", where, attempt, reason)
            store.mark_failed(item.id, f"gave up after {attempt} attempts: {reason}")
            self.report.failed += 1
            return
        not_before = self.now + backoff(item.attempts)
        log.warning("%s: %s; retry %d at %s", where, reason, attempt, not_before.isoformat())
        store.mark_retry(item.id, reason, not_before)
        store.pause_channel(item.channel, not_before)
        self.report.retried += 1

    def _hold(self, item: handoff.HandoffItem, where: str, reason: str) -> None:
        until = self.now + SETUP_PAUSE
        log.error("%s: %s; holding this route's hand-offs until it is fixed", where, reason)
        self.paused.add(item.channel)
        self.store.mark_retry(item.id, reason, until)
        self.store.pause_channel(item.channel, until)
        self.report.retried += 1
        self.report.held.append(f"{item.route}: {reason}")

    def _clean(self, text: str) -> str:
        """Errors are stored and logged: scrub every secret this process knows, including the
        ones routes name under their own variable names."""
        names = [
            name
            for r in self.routes.values()
            for name in ((r.webhook.secret_env,) if r.webhook else (r.zendesk.token_env,))
        ]
        own = RedactSecrets([self.env[n] for n in names if self.env.get(n)])
        return own.redact(self.redactor.redact(text))

    def close(self) -> None:
        for client in self.clients.values():
            client.close()
