"""Every SQL statement listenpost runs, behind one small API.

The rule that keeps data safe: what a listener fetched and the cursor that covers it are
committed in one transaction, so a crash either keeps both or neither, and a restart re-fetches
exactly what was not kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, func, or_, select, update

from core.mention import Mention, Metrics
from core.triage import Triage
from storage import db, streams
from storage.alerting import SLACK_KINDS, in_turn, link_threads, slack_ready
from storage.ingest import save_mentions
from storage.label_rows import insert_label, labels_in, overridden
from storage.records import OutboxItem, SourceState, StoredMention
from storage.sanitize import storable
from storage.schema import mention_brands, mentions, outbox, source_state, triage
from storage.streams import StreamHealth, StreamState

PENDING, SENDING, DELIVERED, FAILED = "pending", "sending", "delivered", "failed"


def _now() -> datetime:
    return datetime.now(UTC)


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = db.create(url)
        db.migrate(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    # ---- ingestion ---------------------------------------------------------------------------

    def get_cursor(self, brand: str, source: str) -> str | None:
        with self.engine.begin() as conn:
            return conn.scalar(
                select(source_state.c.cursor).where(
                    source_state.c.brand == brand, source_state.c.source == source
                )
            )

    def save_page(
        self,
        brand: str,
        source: str,
        page: Sequence[Mention],
        cursor: str | None,
        now: datetime | None = None,
    ) -> list[int]:
        """Store a page and (if given) the cursor after it, atomically.

        Returns the ids of mentions newly linked to `brand`: what this page added for it.
        """
        now = now or _now()
        with self.engine.begin() as conn:
            linked = save_mentions(conn, brand, source, [storable(m) for m in page], now)
            if cursor is not None:
                self._set_state(conn, brand, source, cursor=cursor)
        return linked

    # ---- triage and routing ------------------------------------------------------------------

    def untriaged(self, limit: int = 256) -> list[StoredMention]:
        with self.engine.begin() as conn:
            return self._load(conn, conn.scalars(_untriaged_ids(limit)).all())

    @contextmanager
    def claim_untriaged(self, limit: int = 256) -> Iterator[TriageClaim]:
        """Untriaged mentions that no one else is scoring, and a way to save their verdicts.

        On PostgreSQL the rows stay locked (FOR NO KEY UPDATE SKIP LOCKED) until the block ends,
        and the verdicts are saved in that same transaction: workers scoring at once take
        disjoint batches, and a worker killed mid-batch only lets its batch go back. On SQLite
        (one process) nothing is held while the model runs, so polls can keep writing.
        """
        if self.engine.dialect.name != "postgresql":
            yield TriageClaim(self.untriaged(limit), self.save_triage)
            return
        with self.engine.begin() as conn:
            ids = conn.scalars(
                _untriaged_ids(limit).with_for_update(
                    of=mentions, skip_locked=True, key_share=True
                )
            ).all()
            yield TriageClaim(
                self._load(conn, ids), lambda results: _save_triage(conn, results, _now())
            )

    def save_triage(
        self, results: Sequence[tuple[int, Triage]], now: datetime | None = None
    ) -> None:
        with self.engine.begin() as conn:
            _save_triage(conn, results, now or _now())

    def unrouted(self, limit: int = 256) -> list[StoredMention]:
        with self.engine.begin() as conn:
            ids = conn.scalars(
                select(mentions.c.id)
                .join(triage, triage.c.mention_id == mentions.c.id)
                .where(mentions.c.routed_at.is_(None))
                .order_by(mentions.c.id)
                .limit(limit)
            ).all()
            return self._load(conn, ids)

    def enqueue_alerts(
        self,
        alerts: Sequence[tuple[int, str, str]],
        routed_ids: Sequence[int],
        now: datetime | None = None,
    ) -> int:
        """Queue (mention, route, channel) alerts and mark mentions routed, in one transaction."""
        now = now or _now()
        added = 0
        with self.engine.begin() as conn:
            for mention_id, route, channel in alerts:
                queued = conn.execute(
                    db.insert(conn, outbox)
                    .values(
                        route=route,
                        mention_id=mention_id,
                        channel=channel,
                        status=PENDING,
                        attempts=0,
                        not_before=None,  # due at once, whatever clock the caller uses
                        created_at=now,
                    )
                    .on_conflict_do_nothing()
                    .returning(outbox.c.id)  # not rowcount: SQLAlchemy has none for INSERT
                ).first()
                added += queued is not None
            # Replies and copies of alerted posts go under those alerts' messages instead.
            link_threads(conn, routed_ids, now)
            if routed_ids:
                conn.execute(
                    update(mentions).where(mentions.c.id.in_(routed_ids)).values(routed_at=now)
                )
        return added

    # ---- outbox ------------------------------------------------------------------------------

    def due_alerts(self, now: datetime, limit: int = 50, after: int = 0) -> list[OutboxItem]:
        """Due Slack messages with an id above `after`, oldest first (a pass pages with it), each
        only once its channel's older messages are out of the way (`alerting.in_turn`)."""
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(outbox)
                # not webhook/zendesk
                .where(_claimable(now), slack_ready(), in_turn(now), outbox.c.id > after)
                .order_by(outbox.c.id)  # oldest first: alerts arrive in the order they happened
                .limit(limit)
            ).all()
            loaded = {m.id: m for m in self._load(conn, [r.mention_id for r in rows])}
        return [
            OutboxItem(
                r.id,
                r.route,
                r.channel,
                loaded[r.mention_id],
                r.attempts,
                kind=r.kind,
                thread_of=r.thread_of,
                payload=r.payload,
                created_at=r.created_at,
                interrupted=r.status == SENDING,
            )
            for r in rows
        ]

    def mark_delivered(
        self, outbox_id: int, channel_id: str | None, ts: str | None, now: datetime
    ) -> None:
        self._outbox_update(
            outbox_id, status=DELIVERED, channel_id=channel_id, ts=ts, delivered_at=now
        )

    def claim(self, outbox_id: int, now: datetime, lease: datetime) -> bool:
        """Take an alert for sending; False if another process holds it or it is not due.

        Two processes on one database (`run` plus a cron `poll --once` or a `backfill`) must not
        both post the same alert. A claim expires at `lease`, so a sender that died mid-send
        hands the alert back instead of holding it forever.
        """
        with self.engine.begin() as conn:
            result = conn.execute(
                update(outbox)
                .where(outbox.c.id == outbox_id, _claimable(now))
                .values(status=SENDING, not_before=lease)
            )
        return bool(result.rowcount)

    def mark_retry(self, outbox_id: int, error: str, not_before: datetime) -> None:
        self._outbox_update(
            outbox_id,
            status=PENDING,
            attempts=outbox.c.attempts + 1,
            last_error=error,
            not_before=not_before,
        )

    def pause_channel(self, channel: str | None, until: datetime) -> int:
        """Hold every pending alert for `channel` (None: every channel) until `until`, without
        counting an attempt.

        Slack's Retry-After is per channel: sending the next queued alert early would only earn
        another 429; a revoked token holds everything until a person fixes it. Returns how many
        alerts were held.
        """
        held = [
            outbox.c.status.in_((PENDING, SENDING)),
            or_(outbox.c.not_before.is_(None), outbox.c.not_before < until),
        ]
        if channel is not None:
            held.append(outbox.c.channel == channel)
        else:  # "every channel" is Slack's: a revoked Slack token must not hold webhooks
            held.append(outbox.c.kind.in_(SLACK_KINDS))
        with self.engine.begin() as conn:
            result = conn.execute(update(outbox).where(*held).values(not_before=until))
        return result.rowcount or 0

    def mark_failed(self, outbox_id: int, error: str) -> None:
        self._outbox_update(
            outbox_id, status=FAILED, attempts=outbox.c.attempts + 1, last_error=error
        )

    def _outbox_update(self, outbox_id: int, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(outbox).where(outbox.c.id == outbox_id).values(**values))

    def delivered_count(self) -> int:
        with self.engine.begin() as conn:
            return conn.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.status == DELIVERED)
            ) or 0

    # ---- reading -----------------------------------------------------------------------------

    def mentions(
        self, brand: str | None = None, limit: int = 50, since: datetime | None = None
    ) -> list[StoredMention]:
        query = select(mentions.c.id)
        if brand is not None:
            query = query.join(
                mention_brands,
                and_(mention_brands.c.mention_id == mentions.c.id, mention_brands.c.brand == brand),
            )
        if since is not None:
            query = query.where(mentions.c.created_at >= since)
        query = query.order_by(mentions.c.created_at.desc(), mentions.c.id.desc()).limit(limit)
        with self.engine.begin() as conn:
            return self._load(conn, conn.scalars(query).all())

    def get_mention(self, mention_id: int) -> StoredMention | None:
        with self.engine.begin() as conn:
            found = self._load(conn, [mention_id])
        return found[0] if found else None

    def count_mentions(self) -> int:
        with self.engine.begin() as conn:
            return conn.scalar(select(func.count()).select_from(mentions)) or 0

    def _load(self, conn: Connection, ids: Sequence[int]) -> list[StoredMention]:
        """Full records for `ids`, in the order given, with brands and triage attached."""
        if not ids:
            return []
        rows = {r.id: r for r in conn.execute(select(mentions).where(mentions.c.id.in_(ids)))}
        brands: dict[int, list[str]] = {}
        for link in conn.execute(
            select(mention_brands.c.mention_id, mention_brands.c.brand)
            .where(mention_brands.c.mention_id.in_(ids))
            .order_by(mention_brands.c.linked_at, mention_brands.c.brand)
        ):
            brands.setdefault(link.mention_id, []).append(link.brand)
        labelled = labels_in(conn, ids)  # the team's word beats the model's, everywhere
        triaged = {
            t.mention_id: overridden(
                Triage(
                    sentiment=t.sentiment,
                    sentiment_scores=dict(t.scores),
                    urgency=t.urgency,
                    reasons=list(t.reasons),
                    categories=list(t.categories),
                    model_version=t.model_version,
                    lang=t.lang,
                    details=dict(t.details or {}),
                ),
                labelled.get(t.mention_id),
            )
            for t in conn.execute(select(triage).where(triage.c.mention_id.in_(ids)))
        }
        return [
            StoredMention(
                id=r.id,
                network=r.network,
                native_id=r.native_id,
                url=r.url,
                author=r.author,
                text=r.text,
                created_at=r.created_at,
                fetched_at=r.fetched_at,
                brands=brands.get(r.id, []),
                title=r.title,
                lang=r.lang,
                metrics=Metrics(r.likes, r.reposts, r.replies, r.followers),
                in_reply_to=r.in_reply_to,
                duplicate_of=r.duplicate_of,
                repost_of=r.repost_of,
                triage=triaged.get(r.id),
                raw=r.raw or {},
            )
            for i in ids
            if (r := rows.get(i)) is not None
        ]

    # ---- source health -----------------------------------------------------------------------

    def record_success(self, brand: str, source: str, now: datetime) -> None:
        with self.engine.begin() as conn:
            self._set_state(conn, brand, source, last_success=now, disabled_until=None)

    def record_error(
        self,
        brand: str,
        source: str,
        error: str,
        now: datetime,
        disabled_until: datetime | None = None,
    ) -> None:
        with self.engine.begin() as conn:
            self._set_state(
                conn,
                brand,
                source,
                last_error=error[:2000],
                last_error_at=now,
                disabled_until=disabled_until,
            )

    def record_budget(self, brand: str, source: str, budget: str) -> None:
        """The network's own word on requests left, for `listenpost sources` to show."""
        with self.engine.begin() as conn:
            self._set_state(conn, brand, source, rate_budget=budget[:200])

    def source_state(self, brand: str, source: str) -> SourceState | None:
        with self.engine.begin() as conn:
            row = conn.execute(
                select(source_state).where(
                    source_state.c.brand == brand, source_state.c.source == source
                )
            ).first()
        return _state(row) if row else None

    def source_states(self) -> list[SourceState]:
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(source_state).order_by(source_state.c.brand, source_state.c.source)
            ).all()
        return [_state(r) for r in rows]

    def _set_state(self, conn: Connection, brand: str, source: str, **values: Any) -> None:
        stmt = db.insert(conn, source_state).values(brand=brand, source=source, **values)
        conn.execute(
            stmt.on_conflict_do_update(index_elements=["brand", "source"], set_=values)
        )

    # ---- streams (storage/streams.py) --------------------------------------------------------

    def save_stream_batch(
        self,
        stream: str,
        channel: str,
        matched: Mapping[str, Sequence[Mention]],
        cursor: str | None,
        health: StreamHealth,
        now: datetime | None = None,
    ) -> dict[str, list[int]]:
        """Every brand's matches from one stream batch and the cursor after it, atomically."""
        return streams.save_batch(
            self.engine, stream, channel, matched, cursor, health, now or _now()
        )

    def stream_cursor(self, stream: str, channel: str) -> str | None:
        return streams.cursor(self.engine, stream, channel)

    def record_stream_error(
        self, stream: str, channel: str, error: str | None, now: datetime | None = None
    ) -> None:
        streams.record_error(self.engine, stream, channel, error, now or _now())

    def stream_states(self) -> list[StreamState]:
        return streams.states(self.engine)

    def ping(self) -> str:
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "sqlite":
                version = conn.exec_driver_sql("select sqlite_version()").scalar()
                mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
                return f"sqlite {version} ({str(mode).upper()}) at {self.engine.url.database}"
            version = conn.exec_driver_sql("show server_version").scalar()
            return f"{self.engine.dialect.name} {version}"


@dataclass(frozen=True)
class TriageClaim:
    """A batch to score and the one way to save its verdicts (in the batch's transaction)."""

    mentions: list[StoredMention]
    save: Callable[[Sequence[tuple[int, Triage]]], None]


def _untriaged_ids(limit: int) -> Select[tuple[int]]:
    return (
        select(mentions.c.id)
        .outerjoin(triage, triage.c.mention_id == mentions.c.id)
        .where(triage.c.mention_id.is_(None))
        .order_by(mentions.c.id)
        .limit(limit)
    )


def _save_triage(conn: Connection, results: Sequence[tuple[int, Triage]], now: datetime) -> None:
    for mention_id, t in results:
        saved = conn.execute(
            db.insert(conn, triage)
            .values(
                mention_id=mention_id,
                sentiment=t.sentiment,
                negative=float(t.sentiment_scores.get("negative", 0.0)),
                scores=dict(t.sentiment_scores),
                urgency=t.urgency,
                reasons=list(t.reasons),
                categories=list(t.categories),
                model_version=t.model_version,
                triaged_at=now,
                lang=t.lang,
                details=dict(t.details),
            )
            .on_conflict_do_nothing()
            .returning(triage.c.mention_id)
        ).first()
        if saved is None:
            continue  # triaged before (another process): its verdict and mute stand
        if t.lang:  # the network did not say; the detector did
            conn.execute(
                update(mentions)
                .where(mentions.c.id == mention_id, mentions.c.lang.is_(None))
                .values(lang=t.lang)
            )
        if muted_by := t.details.get("muted_by"):  # a team rule: a label, so every
            # reader (routes, stats, reports) skips it like a person's "not relevant"
            insert_label(conn, mention_id, "relevant", False, str(muted_by), "rule", now)


def _claimable(now: datetime) -> Any:
    """Due and not held: pending, or a claim whose lease ran out (its sender died)."""
    return and_(
        outbox.c.status.in_((PENDING, SENDING)),
        or_(outbox.c.not_before.is_(None), outbox.c.not_before <= now),
    )


def _state(row: Any) -> SourceState:
    return SourceState(
        brand=row.brand,
        source=row.source,
        last_success=row.last_success,
        last_error=row.last_error,
        last_error_at=row.last_error_at,
        disabled_until=row.disabled_until,
        cursor=row.cursor,
        rate_budget=row.rate_budget,
    )

