"""What the Prometheus endpoint and the scale benchmark read: how far behind each source is,
how deep the outbox is, and how long alerts took."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from storage.alerting import ALERT, PENDING, SENDING
from storage.schema import mention_brands, mentions, outbox

if TYPE_CHECKING:
    from storage import Store


@dataclass(frozen=True, slots=True)
class AlertTiming:
    created_at: datetime  # the post, as its network dates it
    fetched_at: datetime  # stored by listenpost
    delivered_at: datetime  # its alert accepted by Slack


def newest_posts(store: Store) -> dict[tuple[str, str], datetime]:
    """(brand, source) -> the newest stored post's time: lag is now minus this."""
    with store.engine.begin() as conn:
        rows = conn.execute(
            select(mention_brands.c.brand, mention_brands.c.source, func.max(mentions.c.created_at))
            .join(mentions, mentions.c.id == mention_brands.c.mention_id)
            .group_by(mention_brands.c.brand, mention_brands.c.source)
        ).all()
    return {(brand, source): newest for brand, source, newest in rows if newest is not None}


def outbox_depth(store: Store) -> int:
    """Messages waiting to go out (pending or being sent), whatever holds them back."""
    with store.engine.begin() as conn:
        count = conn.scalar(
            select(func.count())
            .select_from(outbox)
            .where(outbox.c.status.in_((PENDING, SENDING)))
        )
    return int(count or 0)


def alert_timings(store: Store, delivered_from: datetime, until: datetime) -> list[AlertTiming]:
    """Alerts (not replies or digests) delivered in [delivered_from, until]."""
    with store.engine.begin() as conn:
        rows = conn.execute(
            select(mentions.c.created_at, mentions.c.fetched_at, outbox.c.delivered_at)
            .join(mentions, mentions.c.id == outbox.c.mention_id)
            .where(
                outbox.c.kind == ALERT,
                outbox.c.delivered_at >= delivered_from,
                outbox.c.delivered_at <= until,
            )
        ).all()
    return [AlertTiming(*row) for row in rows]
