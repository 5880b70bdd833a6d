"""SLA breaches: a case nobody acknowledged in time is escalated once and the breach recorded.

The check only queues: the escalation is an outbox row (kind "escalation", unique per route
and mention), so it goes out through the same retries, Retry-After pauses and pacing as
alerts, and a check that runs twice, or crashes between queueing and recording, never sends
two. `now` is a parameter so tests drive the clock.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from alerts.render import LINE_LIMIT, escape, inert, network_name, safe_url
from alerts.timing import escalation_target
from storage import alerting, cases
from storage.records import OutboxItem

if TYPE_CHECKING:
    from alerts.routes import Route
    from storage import Store

log = logging.getLogger(__name__)
EXCERPT = 300


def check_slas(store: Store, routes: Sequence[Route], now: datetime | None = None) -> int:
    """Escalate every case past its SLA; returns how many breaches were recorded."""
    now = now or datetime.now(UTC)
    by_name = {r.name: r for r in routes}
    breached = 0
    for case in cases.due_for_escalation(store, now):
        route = by_name.get(case.route)
        escalated = False
        # Someone already escalated it by hand: the breach is recorded, not escalated twice.
        if route is not None and route.escalate_to and case.escalated_at is None:
            kind, target = escalation_target(route.escalate_to)
            channel = target if kind == "channel" else route.channel
            payload = {
                "target": kind,
                "mention": target if kind == "group" else None,
                "sla_due_at": case.sla_due_at.isoformat() if case.sla_due_at else None,
                "opened_at": case.opened_at.isoformat(),
                "route": case.route,
            }
            alerting.enqueue_escalation(store, case.route, case.mention_id, channel, payload, now)
            escalated = True
        cases.mark_breached(store, case.mention_id, now, escalated=escalated)
        log.warning(
            "mention %d: SLA of route %s breached%s",
            case.mention_id,
            case.route,
            f", escalated to {route.escalate_to}"
            if escalated and route
            else " (escalated by hand before)"
            if case.escalated_at
            else "",
        )
        breached += 1
    return breached


def render_escalation(store: Store, item: OutboxItem) -> tuple[str, list[dict[str, Any]]]:
    """Who must look, what was missed, and where the original alert is."""
    payload = item.payload or {}
    mention = item.mention
    opened = _parse(payload.get("opened_at"))
    due = _parse(payload.get("sla_due_at"))
    waited = ""
    if opened is not None and due is not None:
        waited = f" within {_span(due - opened)}"
    # The one unescaped mention listenpost sends: validated at start-up, from settings.
    group = payload.get("mention") if payload.get("target") == "group" else None
    ping = f"{group} " if group and alerting_group_ok(group) else ""
    route = inert(str(payload.get("route", item.route)), LINE_LIMIT)
    author = inert(" ".join(mention.author.split()) or "unknown author", LINE_LIMIT)
    head = f"{ping}⏰ *SLA breached*: not acknowledged{waited} (route _{route}_)."
    alert = alerting.alert_message(store, mention.id)
    where = f"Alert in {inert(alert.channel, LINE_LIMIT)}" if alert else "Alert"
    post = f"*{author}* on {network_name(mention.network)}"
    if url := safe_url(mention.url):
        post += f" · <{escape(url)}|View post>"
    excerpt = inert(" ".join(mention.text.split()), EXCERPT)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": _mrkdwn(head)},
        {"type": "section", "text": _mrkdwn(f"{post}\n{excerpt}" if excerpt else post)},
        {"type": "context", "elements": [_mrkdwn(f"{where} · mention #{mention.id}")]},
    ]
    fallback = f"{ping}⏰ SLA breached: {author} on {network_name(mention.network)}"
    return fallback, blocks


def alerting_group_ok(value: str) -> bool:
    """A stored group mention is re-checked before it is sent unescaped."""
    try:
        return escalation_target(value)[0] == "group"
    except ValueError:
        return False


def _parse(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _span(delta: Any) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h" + (f" {rest} min" if rest else "")
    return f"{hours // 24} days"


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}
