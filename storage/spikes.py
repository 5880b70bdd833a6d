"""What the crisis radar reads and remembers: mentions per time range, and the spikes it found.

Counting follows the same rules as the reports (storage/stats.py): a mention counts in the
window it was *posted* in, copies (`duplicate_of` set) are left out, and a mention the team
labelled not relevant is left out. Labels on sentiment and categories are already written
through to the triage row (storage/labels.py), so reading triage reads the team's word.

A spike's life-cycle state (the detector's `Track`) and what was already said about it in Slack
live in its `spikes` row, so a restart neither forgets a crisis nor announces it twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, func, or_, select, update

from storage.label_rows import labels_in
from storage.schema import mention_brands, mentions, spikes, triage

if TYPE_CHECKING:  # storage.store imports storage modules; only type checkers need this one
    from storage.store import Store

_CHUNK = 500
# A key's phase in the spike life cycle (radar/detect.py moves it on).
QUIET, PENDING, ACTIVE, ENDED = "quiet", "pending", "active", "ended"


@dataclass(frozen=True, slots=True)
class Track:
    """A key's place in the spike life cycle, persisted between checks."""

    phase: str = QUIET
    started_at: datetime | None = None  # first anomalous window of the crisis
    confirmed_at: datetime | None = None
    ended_at: datetime | None = None
    pending_since: datetime | None = None  # first window of an unconfirmed run
    streak: int = 0
    calm: int = 0
    peak: float = 0.0
    peak_at: datetime | None = None
    last_window: datetime | None = None  # start of the last window judged


@dataclass(frozen=True, slots=True)
class RadarRow:
    """One mention as the radar counts and shows it."""

    id: int
    created_at: datetime
    network: str
    url: str
    author: str
    text: str
    title: str | None
    sentiment: str | None  # None: not triaged yet (counts in volume, not as negative)
    categories: tuple[str, ...]
    followers: int | None
    likes: int | None
    reposts: int | None


@dataclass(frozen=True, slots=True)
class SpikeRecord:
    """A `spikes` row: one crisis of one brand/category/term, from first sign to its end."""

    brand: str
    scope: str  # brand | category | term
    key: str
    track: Track
    updated_at: datetime
    baseline: float = 0.0  # the peak window: expected mentions
    observed: int = 0  # ... mentions seen
    ratio: float = 0.0  # ... size in multiples of the baseline
    negative_share: float | None = None  # ... share negative
    details: dict[str, Any] = field(default_factory=dict)
    channel: str | None = None
    channel_id: str | None = None
    ts: str | None = None
    id: int | None = None

    @property
    def status(self) -> str:
        return self.track.phase


def first_seen(store: Store, brand: str) -> datetime | None:
    """When the brand's history starts: before it, counts are unknown, not zero."""
    with store.engine.begin() as conn:
        return conn.scalar(
            select(func.min(mentions.c.created_at))
            .join(mention_brands, mention_brands.c.mention_id == mentions.c.id)
            .where(mention_brands.c.brand == brand, mentions.c.duplicate_of.is_(None))
        )


def load_rows(
    store: Store, brand: str, ranges: Sequence[tuple[datetime, datetime]]
) -> list[RadarRow]:
    """The brand's countable mentions posted in any of `ranges` ([start, end)), oldest first."""
    if not ranges:
        return []
    for start, end in ranges:
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("radar ranges need timezone-aware UTC datetimes")
    rows: list[Any] = []
    with store.engine.begin() as conn:
        for i in range(0, len(ranges), 50):  # a few OR-ed ranges per statement
            window = or_(
                *(
                    and_(mentions.c.created_at >= a, mentions.c.created_at < b)
                    for a, b in ranges[i : i + 50]
                )
            )
            rows += conn.execute(
                select(
                    mentions.c.id,
                    mentions.c.created_at,
                    mentions.c.network,
                    mentions.c.url,
                    mentions.c.author,
                    mentions.c.text,
                    mentions.c.title,
                    mentions.c.followers,
                    mentions.c.likes,
                    mentions.c.reposts,
                    triage.c.sentiment,
                    triage.c.categories,
                )
                .join(mention_brands, mention_brands.c.mention_id == mentions.c.id)
                .outerjoin(triage, triage.c.mention_id == mentions.c.id)
                .where(mention_brands.c.brand == brand, mentions.c.duplicate_of.is_(None), window)
            ).all()
        ids = [r.id for r in rows]
        irrelevant = {
            i
            for start in range(0, len(ids), _CHUNK)
            for i, said in labels_in(conn, ids[start : start + _CHUNK]).items()
            if said.get("relevant") is False
        }
    return sorted(
        (
            RadarRow(
                id=r.id,
                created_at=r.created_at,
                network=r.network,
                url=r.url,
                author=r.author,
                text=r.text,
                title=r.title,
                sentiment=r.sentiment,
                categories=tuple(r.categories or ()),
                followers=r.followers,
                likes=r.likes,
                reposts=r.reposts,
            )
            for r in {r.id: r for r in rows}.values()  # ranges never overlap; be sure anyway
            if r.id not in irrelevant
        ),
        key=lambda r: (r.created_at, r.id),
    )


# ---- spikes ----------------------------------------------------------------------------------


def open_spikes(store: Store, brand: str, ended_since: datetime) -> list[SpikeRecord]:
    """The brand's spikes still in play: pending, active, or ended after `ended_since` (a
    flare-up within the cooldown continues them)."""
    with store.engine.begin() as conn:
        rows = conn.execute(
            select(spikes)
            .where(
                spikes.c.brand == brand,
                or_(
                    spikes.c.status.in_((PENDING, ACTIVE)),
                    and_(spikes.c.status == ENDED, spikes.c.ended_at >= ended_since),
                ),
            )
            .order_by(spikes.c.id)
        ).all()
    return [_record(r) for r in rows]


def recent_spikes(store: Store, brand: str | None = None, limit: int = 20) -> list[SpikeRecord]:
    """Confirmed spikes, newest first: what `listenpost spikes` lists."""
    query = select(spikes).where(spikes.c.confirmed_at.is_not(None))
    if brand is not None:
        query = query.where(spikes.c.brand == brand)
    with store.engine.begin() as conn:
        rows = conn.execute(query.order_by(spikes.c.started_at.desc()).limit(limit)).all()
    return [_record(r) for r in rows]


def save_spike(store: Store, record: SpikeRecord) -> SpikeRecord:
    """Insert or update the row; returns the record with its id."""
    t = record.track
    values = {
        "brand": record.brand,
        "scope": record.scope,
        "key": record.key,
        "status": t.phase,
        "started_at": t.started_at,
        "confirmed_at": t.confirmed_at,
        "ended_at": t.ended_at,
        "updated_at": record.updated_at,
        "baseline": record.baseline,
        "observed": record.observed,
        "ratio": record.ratio,
        "negative_share": record.negative_share,
        "details": {**record.details, "track": _track_state(t)},
        "channel": record.channel,
        "channel_id": record.channel_id,
        "ts": record.ts,
    }
    if t.phase == QUIET or t.started_at is None:
        raise ValueError("a quiet key has no spike to save")
    with store.engine.begin() as conn:
        if record.id is None:
            new_id = conn.execute(spikes.insert().values(**values).returning(spikes.c.id)).scalar()
            return replace(record, id=new_id)
        conn.execute(update(spikes).where(spikes.c.id == record.id).values(**values))
    return record


def delete_spike(store: Store, spike_id: int) -> None:
    """Forget a run of anomalous windows that was never confirmed (nobody was told of it)."""
    with store.engine.begin() as conn:
        conn.execute(delete(spikes).where(spikes.c.id == spike_id, spikes.c.status == PENDING))


def _track_state(t: Track) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "pending_since": iso(t.pending_since),
        "streak": t.streak,
        "calm": t.calm,
        "peak": t.peak,
        "peak_at": iso(t.peak_at),
        "last_window": iso(t.last_window),
    }


def _record(row: Any) -> SpikeRecord:
    details = dict(row.details or {})
    state = details.pop("track", {}) or {}

    def when(key: str) -> datetime | None:
        value = state.get(key)
        return datetime.fromisoformat(value) if value else None

    track = Track(
        phase=row.status,
        started_at=row.started_at,
        confirmed_at=row.confirmed_at,
        ended_at=row.ended_at,
        pending_since=when("pending_since"),
        streak=int(state.get("streak", 0)),
        calm=int(state.get("calm", 0)),
        peak=float(state.get("peak", 0.0)),
        peak_at=when("peak_at"),
        last_window=when("last_window"),
    )
    return SpikeRecord(
        brand=row.brand,
        scope=row.scope,
        key=row.key,
        track=track,
        updated_at=row.updated_at,
        baseline=row.baseline,
        observed=row.observed,
        ratio=row.ratio,
        negative_share=row.negative_share,
        details=details,
        channel=row.channel,
        channel_id=row.channel_id,
        ts=row.ts,
        id=row.id,
    )
