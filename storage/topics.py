"""Topics per mention: which product lines ("sync", "mobile") a brand's mention is about.

Tagging runs on the stored words with the same query language as brands (core/query.py),
so "sync OR bookmarks" means the same thing in a topic as in a brand's query. Ingest tags what a
page newly linked; `listenpost retag` replaces every tag after topics change (and repairs
mentions a crash left untagged between the page commit and the tagging).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection, and_, delete, select

from core.query import Query, fields
from storage import db
from storage.schema import mention_brands, mention_topics, mentions

if TYPE_CHECKING:
    from storage.store import Store

log = logging.getLogger(__name__)

BATCH = 500


@dataclass
class RetagReport:
    mentions: int = 0
    tags: int = 0
    pruned: int = 0  # tags of brands no longer configured


def topics_of(
    title: str | None, text: str, lang: str | None, topics: Mapping[str, Query]
) -> list[str]:
    """The topics whose query matches the post, in settings order."""
    words = fields(title, text)
    return [name for name, query in topics.items() if query.matches(words, lang)]


def tag(store: Store, brand: str, ids: Sequence[int], topics: Mapping[str, Query]) -> int:
    """Tag mentions newly linked to `brand`; returns how many tags were added.

    Idempotent: a tag already there is kept, so re-running after a crash is harmless.
    """
    if not topics or not ids:
        return 0
    added = 0
    with store.engine.begin() as conn:
        for start in range(0, len(ids), BATCH):
            rows = _tags(conn, brand, ids[start : start + BATCH], topics)
            for row in rows:
                added += (
                    conn.execute(
                        db.insert(conn, mention_topics)
                        .values(**row)
                        .on_conflict_do_nothing()
                        .returning(mention_topics.c.mention_id)
                    ).first()
                    is not None
                )
    return added


def tag_linked(store: Store, brand: str, ids: Sequence[int], topics: Mapping[str, Query]) -> int:
    """`tag` for the ingest path: never raises, because the page is already committed and a
    tagging problem must not make the poll look failed (nor re-store the page one by one).
    What is left untagged, `listenpost retag` fills in."""
    try:
        return tag(store, brand, ids, topics)
    except Exception:
        log.exception(
            "%s: could not tag %d mention(s) with topics; run `listenpost retag`", brand, len(ids)
        )
        return 0


def retag(
    store: Store, brands: Mapping[str, Mapping[str, Query]], prune: bool = True
) -> RetagReport:
    """Replace the topic tags of every mention of each brand in `brands` ({brand: topics}).

    One transaction per batch of mentions, so a retag of years of data never holds the database
    for long and an interrupted one can simply be run again. With `prune`, tags of brands not in
    `brands` (removed from settings) are dropped.
    """
    report = RetagReport()
    for brand, topics in brands.items():
        last = 0
        while True:
            with store.engine.begin() as conn:
                ids = conn.scalars(
                    select(mention_brands.c.mention_id)
                    .where(mention_brands.c.brand == brand, mention_brands.c.mention_id > last)
                    .order_by(mention_brands.c.mention_id)
                    .limit(BATCH)
                ).all()
                if not ids:
                    break
                rows = _tags(conn, brand, ids, topics)
                conn.execute(
                    delete(mention_topics).where(
                        and_(mention_topics.c.brand == brand, mention_topics.c.mention_id.in_(ids))
                    )
                )
                if rows:
                    conn.execute(mention_topics.insert(), rows)
            report.mentions += len(ids)
            report.tags += len(rows)
            last = ids[-1]
    if prune:
        with store.engine.begin() as conn:
            gone = delete(mention_topics)
            if brands:
                gone = gone.where(mention_topics.c.brand.not_in(list(brands)))
            report.pruned = conn.execute(gone).rowcount or 0
    return report


def topics_for(store: Store, ids: Iterable[int]) -> dict[int, list[tuple[str, str]]]:
    """{mention id: [(brand, topic), ...]} for webhooks, reports and alerts."""
    wanted = list(ids)
    found: dict[int, list[tuple[str, str]]] = {}
    with store.engine.begin() as conn:
        for start in range(0, len(wanted), BATCH):
            for r in conn.execute(
                select(mention_topics)
                .where(mention_topics.c.mention_id.in_(wanted[start : start + BATCH]))
                .order_by(mention_topics.c.brand, mention_topics.c.topic)
            ):
                found.setdefault(r.mention_id, []).append((r.brand, r.topic))
    return found


def _tags(
    conn: Connection, brand: str, ids: Sequence[int], topics: Mapping[str, Query]
) -> list[dict[str, object]]:
    if not topics:
        return []
    rows: list[dict[str, object]] = []
    for r in conn.execute(
        select(mentions.c.id, mentions.c.title, mentions.c.text, mentions.c.lang)
        .where(mentions.c.id.in_(list(ids)))
        .order_by(mentions.c.id)
    ):
        for topic in topics_of(r.title, r.text, r.lang, topics):
            rows.append({"mention_id": r.id, "brand": brand, "topic": topic})
    return rows
