"""The numbers behind `listenpost report`: gathered once, then printed, drawn or exported.

Everything comes from storage/stats.py, so the terminal tables, the HTML report, the CSV files
and the Slack digest can never disagree. Rendering lives next door (html.py,
charts.py, csv.py, terminal.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from storage import people, stats
from storage.stats import (
    AuthorRow,
    BreachRow,
    Bucket,
    CaseTimes,
    CategoryRow,
    NoteRow,
    ShareRow,
    TopicRow,
    VolumeRow,
)

if TYPE_CHECKING:
    from storage import Store

TOP_AUTHORS = 15


@dataclass(frozen=True)
class Report:
    since: datetime
    until: datetime
    brands: list[str]  # the brands the report is about; [] = every brand in the data
    compared: list[str]  # brands and their competitors, for share of voice
    bucket: Bucket
    volume: list[VolumeRow]  # per bucket and brand (focus brands), empty buckets filled
    voice: list[VolumeRow]  # per bucket and brand (compared brands), for share over time
    share: list[ShareRow]
    categories: list[CategoryRow]
    topics: list[TopicRow]
    authors: list[AuthorRow]
    cases: CaseTimes
    breaches: list[BreachRow]
    notes: list[NoteRow] = field(default_factory=list)  # what people wrote on the cases
    names: dict[str, str] = field(default_factory=dict)  # Slack id -> name (storage/people.py)
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def person(self, user_id: str | None) -> str:
        """"Bo Smith (U0BO)" where Slack told us the name, else the id."""
        return people.label(user_id, self.names) or "—"

    @property
    def title(self) -> str:
        who = ", ".join(self.brands) if self.brands else "all brands"
        return f"{who}: {self.since:%Y-%m-%d %H:%M} to {self.until:%Y-%m-%d %H:%M} UTC"

    @property
    def totals(self) -> dict[str, VolumeRow]:
        """Per focus brand, the whole window in one row (bucket = since)."""
        sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for r in self.volume:
            s = sums[r.brand]
            for i, v in enumerate((r.total, r.negative, r.neutral, r.positive)):
                s[i] += v
        return {b: VolumeRow(self.since, b, *s) for b, s in sums.items()}

    def series(self, rows: Sequence[VolumeRow] | None = None) -> dict[str, list[VolumeRow]]:
        """Rows by brand, each in time order: what a line chart draws."""
        out: dict[str, list[VolumeRow]] = defaultdict(list)
        for r in self.volume if rows is None else rows:
            out[r.brand].append(r)
        return dict(out)


def bucket_for(since: datetime, until: datetime) -> Bucket:
    """Hours for a few days, days up to a quarter, weeks beyond: charts stay readable."""
    span = until - since
    if span <= timedelta(days=3):
        return "hour"
    if span <= timedelta(days=92):
        return "day"
    return "week"


def focus_brands(settings: object, wanted: Sequence[str] | None) -> tuple[list[str], list[str]]:
    """(brands reported on, brands compared in share of voice).

    Default: every configured brand that alerts (your own), compared with their competitors.
    """
    configured = list(getattr(settings, "brands", ()))
    if wanted:
        focus = list(dict.fromkeys(wanted))
    else:
        focus = [b.name for b in configured if b.alerts] or [b.name for b in configured]
    competitors = {b.name: b.competitors for b in configured}
    compared = list(dict.fromkeys([*focus, *(c for b in focus for c in competitors.get(b, ()))]))
    return focus, compared


def build(
    store: Store,
    settings: object,
    since: datetime,
    until: datetime,
    brands: Sequence[str] | None = None,
    bucket: Bucket | None = None,
) -> Report:
    if until <= since:
        raise ValueError(
            f"the report window is empty: {since:%Y-%m-%d %H:%M} is not before "
            f"{until:%Y-%m-%d %H:%M}"
        )
    focus, compared = focus_brands(settings, brands)
    scope = focus or None  # no brands configured: whatever the database holds
    others = compared or None
    bucket = bucket or bucket_for(since, until)
    volume = stats.volume(store, since, until, bucket, scope)
    voice = stats.volume(store, since, until, bucket, others)
    if scope is None:
        focus = sorted({r.brand for r in volume})
        compared = list(focus)
    breaches = stats.breaches(store, since, until, scope)
    notes = stats.case_notes(store, since, until, scope)
    return Report(
        since=since,
        until=until,
        brands=focus,
        compared=compared,
        bucket=bucket,
        volume=stats.fill_buckets(volume, since, until, bucket, focus),
        voice=stats.fill_buckets(voice, since, until, bucket, compared),
        share=stats.share_of_voice(store, since, until, compared or None),
        categories=stats.categories(store, since, until, scope),
        topics=stats.topics(store, since, until, scope),
        authors=stats.top_authors(store, since, until, TOP_AUTHORS, scope),
        cases=stats.case_times(store, since, until, scope),
        breaches=breaches,
        notes=notes,
        names=people.names(
            store, {b.assignee for b in breaches if b.assignee} | {n.actor for n in notes}
        ),
    )


def duration(value: timedelta | None) -> str:
    """'—', '45s', '12m', '3h 05m', '2d 4h': response times people read at a glance."""
    if value is None:
        return "—"
    seconds = int(value.total_seconds())
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


SHARE_COLUMNS = ["brand", "mentions", "share", "negative", "positive", "net sentiment"]


def share_rows(report: Report) -> list[list[object]]:
    """Share of voice per brand: the same rows in every format."""
    return [
        [
            r.brand,
            r.mentions,
            percent(r.share, 1),
            r.negative,
            r.positive,
            f"{r.net_sentiment:+.2f}",
        ]
        for r in report.share
    ]


CASE_COLUMNS = [
    "route",
    "cases",
    "answered",
    "resolved",
    "open",
    "breached",
    "median first response",
    "p90 first response",
    "median resolution",
    "p90 resolution",
]


def case_rows(report: Report) -> list[list[object]]:
    """Response and resolution times, all routes first: the same rows in every format."""
    cases = {"all routes": report.cases, **report.cases.by_route}
    return [
        [
            name,
            c.opened,
            c.responded,
            c.resolved,
            c.open_now,
            c.breached,
            duration(c.median_first_response),
            duration(c.p90_first_response),
            duration(c.median_resolution),
            duration(c.p90_resolution),
        ]
        for name, c in cases.items()
    ]


def percent(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


NOTE_COLUMNS = ["when (UTC)", "mention", "brand", "by", "what", "note"]


def note_rows(report: Report) -> list[list[object]]:
    """The case notes and not-relevant reasons: the same rows in every format."""
    return [
        [
            f"{n.at:%Y-%m-%d %H:%M}",
            n.mention_id,
            n.brand,
            report.person(n.actor),
            "not relevant" if n.action == "not_relevant" else "note",
            n.note,
        ]
        for n in report.notes
    ]
