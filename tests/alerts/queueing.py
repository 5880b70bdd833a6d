"""Mentions stored, triaged and routed exactly as a pipeline cycle does, for outbox tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from alerts.routes import Route, decide
from core.mention import Mention, Metrics
from core.triage import Triage
from storage import Store
from storage.schema import outbox
from tests.alerts.factories import triage

T0 = datetime(2024, 4, 5, 15, 0, tzinfo=UTC)
ROUTES = [Route(name="default", channel="#brand-alerts")]


def mention(n: int = 1, text: str | None = None, **kw: object) -> Mention:
    fields: dict[str, object] = {
        "network": "reddit",
        "native_id": f"t3_{n}",
        "url": f"https://www.reddit.com/r/acme/comments/{n}/",
        "author": f"user{n}",
        "text": text or f"Acme is down again, I want a refund (#{n})",
        "created_at": T0 - timedelta(minutes=5),
        "metrics": Metrics(likes=10, followers=2500),
    }
    fields.update(kw)
    return Mention(**fields)  # type: ignore[arg-type]


def queue(
    store: Store,
    mentions: Sequence[Mention],
    verdict: Triage | None = None,
    routes: Sequence[Route] = ROUTES,
    brand: str = "Acme",
) -> int:
    """Store, triage and route mentions; returns how many alerts were queued."""
    ids = store.save_page(brand, "reddit", mentions, None, now=T0)
    store.save_triage([(i, verdict or triage()) for i in ids])
    pending = store.unrouted()
    alerts = [(m.id, r.name, r.channel) for m in pending for r in decide(m, routes)]
    return store.enqueue_alerts(alerts, [m.id for m in pending])


def delivered_at(store: Store, channel: str) -> list[datetime]:
    """When each distinct Slack message reached `channel` (one per ts), oldest first."""
    with store.engine.begin() as conn:
        rows = conn.execute(
            select(outbox.c.ts, outbox.c.delivered_at)
            .where(outbox.c.channel == channel, outbox.c.status == "delivered")
            .order_by(outbox.c.delivered_at)
        ).all()
    return sorted({r.ts: r.delivered_at for r in rows if r.ts}.values())


def waiting(store: Store) -> int:
    """Messages not yet delivered, failed or held: the outbox is drained when this is 0."""
    with store.engine.begin() as conn:
        return len(
            conn.execute(
                select(outbox.c.id).where(outbox.c.status.in_(("pending", "sending")))
            ).all()
        )
