"""A fetched page as rows: one row per post, a link per brand, copies grouped under the original.

Runs inside the caller's transaction (the one that also stores the cursor), so nothing here
commits. The grouping reads before it writes, hence `take_turns`: two polls ingesting the same
post at once would otherwise both insert it, or both think they hold the original.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select, update

from listeners.mention import Mention
from storage import db
from storage.dedup import dup_key
from storage.schema import mention_brands, mentions


def save_mentions(
    conn: Connection, brand: str, source: str, page: Sequence[Mention], now: datetime
) -> list[int]:
    """Upsert `page` and link it to `brand`; returns the ids that are new for this brand."""
    db.take_turns(conn, "ingest")
    linked: list[int] = []
    for mention in page:
        mention_id, inserted = _upsert(conn, mention, now)
        if _link(conn, mention_id, brand, source, now):
            linked.append(mention_id)
            if not inserted:
                # Routes can be limited to brands: routing again lets this brand's routes see
                # it; alerts already queued are not queued twice (outbox is unique).
                conn.execute(
                    update(mentions).where(mentions.c.id == mention_id).values(routed_at=None)
                )
    return linked


def _upsert(conn: Connection, m: Mention, now: datetime) -> tuple[int, bool]:
    existing = conn.scalar(
        select(mentions.c.id).where(
            mentions.c.network == m.network, mentions.c.native_id == m.native_id
        )
    )
    metrics = {
        "likes": m.metrics.likes,
        "reposts": m.metrics.reposts,
        "replies": m.metrics.replies,
        "followers": m.metrics.followers,
    }
    if existing is not None:
        # Reach changes as a post spreads; the text we triaged and alerted on stays.
        fresh = {k: v for k, v in metrics.items() if v is not None}
        if fresh:
            conn.execute(update(mentions).where(mentions.c.id == existing).values(**fresh))
        return existing, False
    created_at = m.created_at if m.created_at.tzinfo else m.created_at.replace(tzinfo=UTC)
    key = dup_key(m.text, m.title)
    mention_id = conn.execute(
        insert(mentions)
        .values(
            network=m.network,
            native_id=m.native_id,
            url=m.url,
            author=m.author,
            title=m.title,
            text=m.text,
            lang=m.lang,
            created_at=created_at,
            fetched_at=now,
            in_reply_to=m.in_reply_to,
            raw=m.raw,
            dup_key=key,
            **metrics,
        )
        .returning(mentions.c.id)
    ).scalar_one()
    if key is not None:
        _group(conn, mention_id, key, created_at)
    return mention_id, True


def _group(conn: Connection, mention_id: int, key: str, created_at: datetime) -> None:
    """Point the new mention at the earliest post with the same words, or become it."""
    original = conn.execute(
        select(mentions.c.id, mentions.c.created_at, mentions.c.routed_at)
        .where(
            mentions.c.dup_key == key,
            mentions.c.duplicate_of.is_(None),
            mentions.c.id != mention_id,
        )
        .order_by(mentions.c.created_at, mentions.c.id)
        .limit(1)
    ).first()
    if original is None:
        return
    if original.created_at <= created_at:
        conn.execute(
            update(mentions).where(mentions.c.id == mention_id).values(duplicate_of=original.id)
        )
        return
    # Networks are polled in any order: an older copy fetched later takes over the group.
    conn.execute(
        update(mentions)
        .where(mentions.c.dup_key == key, mentions.c.id != mention_id)
        .values(duplicate_of=mention_id)
    )
    if original.routed_at is not None:
        # The group's words were already routed (and maybe alerted) via the former original.
        conn.execute(
            update(mentions)
            .where(mentions.c.id == mention_id)
            .values(routed_at=original.routed_at)
        )


def _link(conn: Connection, mention_id: int, brand: str, source: str, now: datetime) -> bool:
    """True when the link is new. RETURNING, not rowcount: psycopg reports -1 for inserts."""
    added = conn.execute(
        db.insert(conn, mention_brands)
        .values(mention_id=mention_id, brand=brand, source=source, linked_at=now)
        .on_conflict_do_nothing()
        .returning(mention_brands.c.mention_id)
    ).first()
    return added is not None
