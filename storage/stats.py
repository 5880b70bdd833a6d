"""The numbers marketing and the team ask for: volume, sentiment, categories, authors, cases.

Digests (Slack) and reports (terminal, HTML, CSV) read the same functions, so a figure never
differs between the two. Every count follows the same rules:

- a mention counts once per brand it is linked to, in the window by when it was *posted*
  (`since <= created_at < until`);
- copies (`duplicate_of` set) are left out: a retweet storm is one post with reach, not fifty;
- a mention the team labelled `relevant = false` is left out; a sentiment or category label
  replaces the model's verdict (the newest label per field wins);
- the SQL is plain SQLAlchemy Core that runs the same on SQLite and PostgreSQL; bucketing by
  hour/day/week happens in Python, where both backends agree on time zones.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from sqlalchemy import Connection, Select, select

from core.mention import Metrics
from core.triage import SENTIMENTS
from storage.schema import (
    case_events,
    cases,
    labels,
    mention_brands,
    mention_topics,
    mentions,
    triage,
)

if TYPE_CHECKING:  # storage.store imports storage modules; only type checkers need this one
    from storage.store import Store

Bucket = Literal["hour", "day", "week"]
BUCKETS: tuple[Bucket, ...] = ("hour", "day", "week")


class VolumeRow(NamedTuple):
    bucket: datetime  # start of the hour/day/week, UTC
    brand: str
    total: int  # includes untriaged mentions, which count in no sentiment column
    negative: int
    neutral: int
    positive: int


class CategoryRow(NamedTuple):
    brand: str
    category: str
    total: int
    negative: int


class AuthorRow(NamedTuple):
    network: str
    author: str
    reach: int  # the largest reach among the author's posts in the window
    mentions: int
    negative: int
    brands: tuple[str, ...]


class ShareRow(NamedTuple):
    brand: str
    mentions: int
    share: float  # of all mentions of the brands compared, 0..1
    negative: int
    neutral: int
    positive: int

    @property
    def net_sentiment(self) -> float:
        """(positive - negative) / triaged, -1..1: one number to compare brands' mood."""
        judged = self.negative + self.neutral + self.positive
        return (self.positive - self.negative) / judged if judged else 0.0


class TopicRow(NamedTuple):
    brand: str
    topic: str
    total: int
    negative: int
    neutral: int
    positive: int


class BreachRow(NamedTuple):
    mention_id: int
    brand: str
    route: str
    status: str
    assignee: str | None
    opened_at: datetime
    sla_due_at: datetime | None
    breached_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class CaseTimes:
    """How fast the team answered cases opened in the window (p90 = nearest-rank)."""

    opened: int = 0
    responded: int = 0
    resolved: int = 0
    breached: int = 0
    open_now: int = 0  # still open, acknowledged or assigned
    median_first_response: timedelta | None = None
    p90_first_response: timedelta | None = None
    median_resolution: timedelta | None = None
    p90_resolution: timedelta | None = None
    by_route: dict[str, CaseTimes] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Row:
    """One (mention, brand) in the window with the team's labels applied."""

    id: int
    brand: str
    created_at: datetime
    network: str
    author: str
    reach: int
    sentiment: str | None
    categories: tuple[str, ...]


# ---- public API ------------------------------------------------------------------------------


def volume(
    store: Store,
    since: datetime,
    until: datetime,
    bucket: Bucket = "hour",
    brands: Sequence[str] | None = None,
) -> list[VolumeRow]:
    """Mentions and their sentiment per time bucket and brand, oldest first.

    Only buckets with mentions appear; `fill_buckets` adds the empty ones for a chart.
    """
    if bucket not in BUCKETS:
        raise ValueError(f"bucket must be one of {', '.join(BUCKETS)}, not {bucket!r}")
    counts: dict[tuple[datetime, str], Counter[str]] = defaultdict(Counter)
    for row in _rows(store, since, until, brands):
        c = counts[(floor(row.created_at, bucket), row.brand)]
        c["total"] += 1
        if row.sentiment:
            c[row.sentiment] += 1
    return [
        VolumeRow(start, brand, c["total"], *(c[s] for s in SENTIMENTS))
        for (start, brand), c in sorted(counts.items())
    ]


def categories(
    store: Store, since: datetime, until: datetime, brands: Sequence[str] | None = None
) -> list[CategoryRow]:
    """Mentions per category and brand (a mention can be in several), most frequent first."""
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for row in _rows(store, since, until, brands):
        for category in row.categories:
            c = counts[(row.brand, category)]
            c[0] += 1
            c[1] += row.sentiment == "negative"
    return sorted(
        (CategoryRow(b, cat, total, neg) for (b, cat), (total, neg) in counts.items()),
        key=lambda r: (-r.total, r.brand, r.category),
    )


def top_authors(
    store: Store,
    since: datetime,
    until: datetime,
    limit: int = 10,
    brands: Sequence[str] | None = None,
) -> list[AuthorRow]:
    """The authors with the largest audience who talked about the brands, widest reach first."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    seen: set[tuple[int, str, str]] = set()
    for row in _rows(store, since, until, brands):
        a = found.setdefault(
            (row.network, row.author), {"reach": 0, "ids": set(), "neg": set(), "brands": {}}
        )
        a["reach"] = max(a["reach"], row.reach)
        a["brands"][row.brand] = None
        if (row.id, row.network, row.author) in seen:
            continue  # one post linked to two brands is still one post by this author
        seen.add((row.id, row.network, row.author))
        a["ids"].add(row.id)
        if row.sentiment == "negative":
            a["neg"].add(row.id)
    ranked = sorted(
        (
            AuthorRow(net, author, a["reach"], len(a["ids"]), len(a["neg"]), tuple(a["brands"]))
            for (net, author), a in found.items()
        ),
        key=lambda r: (-r.reach, -r.mentions, r.network, r.author),
    )
    return ranked[: max(limit, 0)]


def share_of_voice(
    store: Store, since: datetime, until: datetime, brands: Sequence[str] | None = None
) -> list[ShareRow]:
    """Each brand's part of the conversation about the brands compared (yours and competitors').

    `brands` given: every one appears, with 0 when nobody mentioned it. Largest share first.
    """
    counts: dict[str, Counter[str]] = {b: Counter() for b in brands or ()}
    for row in _rows(store, since, until, brands):
        c = counts.setdefault(row.brand, Counter())
        c["total"] += 1
        if row.sentiment:
            c[row.sentiment] += 1
    everything = sum(c["total"] for c in counts.values())
    rows = [
        ShareRow(
            brand,
            c["total"],
            c["total"] / everything if everything else 0.0,
            *(c[s] for s in SENTIMENTS),
        )
        for brand, c in counts.items()
    ]
    return sorted(rows, key=lambda r: (-r.mentions, r.brand))


def topics(
    store: Store, since: datetime, until: datetime, brands: Sequence[str] | None = None
) -> list[TopicRow]:
    """Mentions per (brand, topic) as tagged at ingest or by `listenpost retag`."""
    with store.engine.begin() as conn:
        tagged: dict[int, list[tuple[str, str]]] = defaultdict(list)
        query = select(mention_topics.c.mention_id, mention_topics.c.brand, mention_topics.c.topic)
        query = query.join(mentions, mentions.c.id == mention_topics.c.mention_id).where(
            *_window(since, until)
        )
        if brands is not None:
            query = query.where(mention_topics.c.brand.in_(list(brands)))
        for r in conn.execute(query):
            tagged[r.mention_id].append((r.brand, r.topic))
        rows = _collect(conn, since, until, brands)
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for row in rows:
        for brand, topic in tagged.get(row.id, ()):
            if brand != row.brand:
                continue
            c = counts[(brand, topic)]
            c["total"] += 1
            if row.sentiment:
                c[row.sentiment] += 1
    return sorted(
        (TopicRow(b, t, c["total"], *(c[s] for s in SENTIMENTS)) for (b, t), c in counts.items()),
        key=lambda r: (r.brand, -r.total, r.topic),
    )


def case_times(
    store: Store, since: datetime, until: datetime, brands: Sequence[str] | None = None
) -> CaseTimes:
    """Response and resolution times of the cases opened in the window, overall and per route.

    First response is `first_response_at - opened_at` (acknowledge, assign or resolve, whatever
    came first); resolution is `resolved_at - opened_at`. Cases still waiting count in `opened`
    and `open_now` but in no time, so the medians describe answered cases only.
    """
    found = _cases(store, since, until, brands)
    by_route: dict[str, list[Any]] = defaultdict(list)
    for c in found:
        by_route[c.route].append(c)
    return replace(
        _times(found), by_route={route: _times(rows) for route, rows in sorted(by_route.items())}
    )


class NoteRow(NamedTuple):
    """A line of a case's log a person wrote: a note, or why it was not relevant."""

    mention_id: int
    brand: str
    at: datetime
    actor: str
    action: str  # note | not_relevant
    note: str


def case_notes(
    store: Store, since: datetime, until: datetime, brands: Sequence[str] | None = None
) -> list[NoteRow]:
    """Notes and not-relevant reasons on cases opened in the window, oldest first."""
    if since.tzinfo is None or until.tzinfo is None:
        raise ValueError("stats windows need timezone-aware UTC datetimes")
    query = (
        select(
            case_events.c.mention_id,
            mention_brands.c.brand,
            case_events.c.at,
            case_events.c.actor,
            case_events.c.action,
            case_events.c.note,
        )
        .join(cases, cases.c.mention_id == case_events.c.mention_id)
        .join(mention_brands, mention_brands.c.mention_id == case_events.c.mention_id)
        .where(
            cases.c.opened_at >= since,
            cases.c.opened_at < until,
            case_events.c.action.in_(("note", "not_relevant")),
            case_events.c.note.is_not(None),
        )
        .order_by(case_events.c.at, case_events.c.id, mention_brands.c.linked_at)
    )
    if brands is not None:
        query = query.where(mention_brands.c.brand.in_(list(brands)))
    with store.engine.begin() as conn:
        rows = conn.execute(query).all()
    seen: dict[tuple[int, datetime, str, str], NoteRow] = {}
    for r in rows:  # one line per event, under the mention's first brand
        seen.setdefault((r.mention_id, r.at, r.action, r.note), NoteRow(*r))
    return list(seen.values())


def breaches(
    store: Store, since: datetime, until: datetime, brands: Sequence[str] | None = None
) -> list[BreachRow]:
    """Cases opened in the window that missed their SLA, most recent breach first."""
    rows = [c for c in _cases(store, since, until, brands) if c.breached_at is not None]
    return sorted(
        (
            BreachRow(
                c.mention_id,
                c.brand,
                c.route,
                c.status,
                c.assignee,
                c.opened_at,
                c.sla_due_at,
                c.breached_at,
                c.first_response_at,
                c.resolved_at,
            )
            for c in rows
        ),
        key=lambda r: (r.breached_at, r.mention_id),
        reverse=True,
    )


def floor(moment: datetime, bucket: Bucket) -> datetime:
    """The start of the UTC hour/day/week (weeks start on Monday, like ISO weeks) of `moment`."""
    hour = moment.replace(minute=0, second=0, microsecond=0)
    if bucket == "hour":
        return hour
    day = hour.replace(hour=0)
    if bucket == "day":
        return day
    return day - timedelta(days=day.weekday())


def step(bucket: Bucket) -> timedelta:
    return {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}[
        bucket
    ]


def fill_buckets(
    rows: Iterable[VolumeRow],
    since: datetime,
    until: datetime,
    bucket: Bucket,
    brands: Iterable[str],
) -> list[VolumeRow]:
    """`rows` with a zero row for every empty bucket of every brand: a gap in a chart is a quiet
    hour, not a missing point."""
    have = {(r.bucket, r.brand): r for r in rows}
    names = list(dict.fromkeys([*brands, *(b for _, b in have)]))
    out: list[VolumeRow] = []
    start = floor(since, bucket)
    while start < until:
        for brand in names:
            out.append(have.get((start, brand), VolumeRow(start, brand, 0, 0, 0, 0)))
        start += step(bucket)
    return out


# ---- internals -------------------------------------------------------------------------------


def _window(since: datetime, until: datetime) -> list[Any]:
    if since.tzinfo is None or until.tzinfo is None:
        raise ValueError("stats windows need timezone-aware UTC datetimes")
    return [
        mentions.c.created_at >= since,
        mentions.c.created_at < until,
        mentions.c.duplicate_of.is_(None),
    ]


def _scope(since: datetime, until: datetime, brands: Sequence[str] | None) -> Select[Any]:
    query = (
        select(
            mentions.c.id,
            mention_brands.c.brand,
            mentions.c.created_at,
            mentions.c.network,
            mentions.c.author,
            mentions.c.followers,
            mentions.c.likes,
            mentions.c.reposts,
            triage.c.sentiment,
            triage.c.categories,
        )
        .join(mention_brands, mention_brands.c.mention_id == mentions.c.id)
        .outerjoin(triage, triage.c.mention_id == mentions.c.id)
        .where(*_window(since, until))
    )
    if brands is not None:
        query = query.where(mention_brands.c.brand.in_(list(brands)))
    return query


def _labels(conn: Connection, since: datetime, until: datetime) -> dict[int, dict[str, object]]:
    """Newest label per field of every mention in the window, in one query (no id lists, so no
    parameter limits however large the window)."""
    in_window = select(mentions.c.id).where(*_window(since, until))
    found: dict[int, dict[str, object]] = {}
    for r in conn.execute(
        select(labels.c.mention_id, labels.c.field, labels.c.value)
        .where(labels.c.mention_id.in_(in_window.scalar_subquery()))
        .order_by(labels.c.created_at, labels.c.id)
    ):
        found.setdefault(r.mention_id, {})[r.field] = r.value  # oldest first: newest wins
    return found


def _collect(
    conn: Connection, since: datetime, until: datetime, brands: Sequence[str] | None
) -> list[_Row]:
    labelled = _labels(conn, since, until)
    rows: list[_Row] = []
    for r in conn.execute(_scope(since, until, brands).order_by(mentions.c.created_at)):
        said = labelled.get(r.id, {})
        if said.get("relevant") is False:
            continue
        sentiment = said.get("sentiment", r.sentiment)
        cats = said.get("category", r.categories or [])
        rows.append(
            _Row(
                id=r.id,
                brand=r.brand,
                created_at=r.created_at,
                network=r.network,
                author=r.author,
                reach=Metrics(followers=r.followers, likes=r.likes, reposts=r.reposts).reach(),
                sentiment=sentiment if isinstance(sentiment, str) else None,
                categories=tuple(dict.fromkeys(str(c) for c in cats or ())),
            )
        )
    return rows


def _rows(
    store: Store, since: datetime, until: datetime, brands: Sequence[str] | None
) -> list[_Row]:
    with store.engine.begin() as conn:
        return _collect(conn, since, until, brands)


class _Case(NamedTuple):
    mention_id: int
    brand: str
    route: str
    status: str
    assignee: str | None
    opened_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    sla_due_at: datetime | None
    breached_at: datetime | None


def _cases(
    store: Store, since: datetime, until: datetime, brands: Sequence[str] | None
) -> list[_Case]:
    """Cases opened in the window, one per mention (its first linked brand), minus the ones
    labelled not relevant."""
    if since.tzinfo is None or until.tzinfo is None:
        raise ValueError("stats windows need timezone-aware UTC datetimes")
    query = (
        select(
            cases.c.mention_id,
            mention_brands.c.brand,
            cases.c.route,
            cases.c.status,
            cases.c.assignee,
            cases.c.opened_at,
            cases.c.first_response_at,
            cases.c.resolved_at,
            cases.c.sla_due_at,
            cases.c.breached_at,
        )
        .join(mention_brands, mention_brands.c.mention_id == cases.c.mention_id)
        .where(cases.c.opened_at >= since, cases.c.opened_at < until)
        .order_by(cases.c.mention_id, mention_brands.c.linked_at, mention_brands.c.brand)
    )
    if brands is not None:
        query = query.where(mention_brands.c.brand.in_(list(brands)))
    with store.engine.begin() as conn:
        found: dict[int, _Case] = {}
        for r in conn.execute(query):
            found.setdefault(r.mention_id, _Case(*r))
        irrelevant = _irrelevant(conn, list(found))
    return [c for i, c in found.items() if i not in irrelevant]


def _irrelevant(conn: Connection, ids: list[int]) -> set[int]:
    out: set[int] = set()
    for start in range(0, len(ids), 500):
        newest: dict[int, object] = {}
        for r in conn.execute(
            select(labels.c.mention_id, labels.c.value)
            .where(labels.c.mention_id.in_(ids[start : start + 500]), labels.c.field == "relevant")
            .order_by(labels.c.created_at, labels.c.id)
        ):
            newest[r.mention_id] = r.value
        out.update(i for i, v in newest.items() if v is False)
    return out


_OPEN = ("open", "acknowledged", "assigned")


def _times(found: Sequence[_Case]) -> CaseTimes:
    response = [c.first_response_at - c.opened_at for c in found if c.first_response_at]
    resolution = [c.resolved_at - c.opened_at for c in found if c.resolved_at]
    return CaseTimes(
        opened=len(found),
        responded=len(response),
        resolved=len(resolution),
        breached=sum(c.breached_at is not None for c in found),
        open_now=sum(c.status in _OPEN for c in found),
        median_first_response=_median(response),
        p90_first_response=percentile(response, 0.9),
        median_resolution=_median(resolution),
        p90_resolution=percentile(resolution, 0.9),
    )


def _median(values: Sequence[timedelta]) -> timedelta | None:
    if not values:
        return None
    return timedelta(seconds=statistics.median(v.total_seconds() for v in values))


def percentile(values: Sequence[timedelta], q: float) -> timedelta | None:
    """Nearest-rank percentile: always a time some case really took, never an interpolation."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]
