"""The radar's scheduled check: judge the windows that just closed, remember, tell Slack.

Runs once a window. For each brand it loads, in one query, the mentions the detector needs (the
windows being judged plus the same hours of past weeks and days), judges the brand's volume and
each watched category and term, and keeps each crisis in its `spikes` row. Slack hears about a
crisis once: the first key to be confirmed posts the alert, keys confirmed while it is still
active are told in its thread instead of posting their own, and from then on the message is
edited in place (chat.update) and the thread gets the news: a new peak, a new most-reached post,
a flare-up, the end.

Nothing waits or retries here: a failed Slack call leaves the news queued in the spike's row and
the next check sends it.
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import accumulate
from typing import TYPE_CHECKING, Any

from alerts.sender import DeliveryFailed, RetryLater, Sender
from core.mention import Metrics, display_text
from core.query import fields, parse
from radar.detect import Counts, Judge, Params, Reading, advance, align, needed_ranges
from radar.message import (
    SpikeView,
    TopPost,
    also_reply,
    ended_reply,
    fingerprint,
    peak_reply,
    post_reply,
    render_spike,
    reopened_reply,
    reply,
)
from radar.settings import RadarSettings
from radar.terms import over_represented
from storage.spikes import (
    ACTIVE,
    ENDED,
    PENDING,
    QUIET,
    RadarRow,
    SpikeRecord,
    Track,
    delete_spike,
    first_seen,
    load_rows,
    open_spikes,
    save_spike,
)

if TYPE_CHECKING:
    from storage import Store

log = logging.getLogger(__name__)

MAX_CATCH_UP = 16  # windows judged in one go after the monitor was down
PEAK_STEP = 1.25  # a new peak is news when it beats the last one announced by this much
TOP_POSTS = 3


@dataclass
class RadarReport:
    judged: int = 0  # windows judged, all keys together
    alerts: int = 0  # new spike messages
    updates: int = 0  # messages edited in place
    replies: int = 0  # thread replies
    ended: int = 0
    failures: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Watch:
    """One thing whose volume is watched: the brand, one of its categories, or a term."""

    scope: str
    key: str
    matches: Callable[[RadarRow], bool]
    exclude: tuple[str, ...]  # words that cannot be news (the brand's own name)


class RowSeries:
    """Counts over loaded mentions, answered by binary search."""

    def __init__(self, rows: Sequence[RadarRow], first: datetime | None) -> None:
        self.first_seen = first
        self._times = [r.created_at for r in rows]
        self._negative = [0, *accumulate(r.sentiment == "negative" for r in rows)]

    def counts(self, start: datetime, end: datetime) -> Counts:
        a, b = bisect_left(self._times, start), bisect_left(self._times, end)
        return Counts(b - a, self._negative[b] - self._negative[a])


def check(
    store: Store,
    sender: Sender,
    radar: RadarSettings,
    brands: Mapping[str, str],
    channel: str,
    now: datetime | None = None,
) -> RadarReport:
    """One radar pass over every brand (name -> query text); `now` for tests and replays."""
    now = now or datetime.now(UTC)
    report = RadarReport()
    if not radar.enabled:
        return report
    for brand, query in brands.items():
        try:
            _Check(store, sender, radar, brand, query, radar.channel or channel, now, report).run()
        except Exception as exc:  # one brand's trouble must not silence the others
            log.exception("radar: checking %s failed", brand)
            report.failures.append(f"{brand}: {type(exc).__name__}: {exc}")
    return report


def watches(brand: str, query: str, radar: RadarSettings) -> list[Watch]:
    """What to watch for a brand, brand volume first (it leads when several spike at once)."""
    own = parse(query).words()
    out: list[Watch] = []
    if "brand" in radar.scopes:
        out.append(Watch("brand", brand, lambda r: True, own))
    if "category" in radar.scopes:
        out += [
            Watch("category", c, lambda r, c=c: c in r.categories, own) for c in radar.categories
        ]
    if "term" in radar.scopes:
        for term in radar.terms:
            q = parse(term)
            out.append(
                Watch(
                    "term", term, lambda r, q=q: q.matches(fields(r.title, r.text)), own + q.words()
                )
            )
    return out


def track_ended_quietly(record: SpikeRecord, events: Sequence[str]) -> bool:
    """An ended spike within its cooldown, with nothing new to say."""
    return (
        record.track.phase == ENDED
        and "ended" not in events
        and not record.details.get("replies")
        and bool(record.details.get("posted") or record.details.get("folded_into"))
    )


def _reach(row: RadarRow) -> int:
    return Metrics(followers=row.followers, likes=row.likes, reposts=row.reposts).reach()


@dataclass
class _Judged:
    watch: Watch
    record: SpikeRecord
    events: list[str]
    last: Reading
    view: SpikeView | None = None


class _Check:
    def __init__(
        self,
        store: Store,
        sender: Sender,
        radar: RadarSettings,
        brand: str,
        query: str,
        channel: str,
        now: datetime,
        report: RadarReport,
    ) -> None:
        self.store = store
        self.sender = sender
        self.params: Params = radar.params()
        self.brand = brand
        self.watches = watches(brand, query, radar)
        self.channel = channel
        self.report = report
        window = self.params.window
        self.latest = align(now - radar.lag_delta, window) - window  # last window fully in
        self.now = now

    def run(self) -> None:
        first = first_seen(self.store, self.brand)
        if first is None:
            return
        p = self.params
        records: dict[tuple[str, str], SpikeRecord] = {}
        for r in open_spikes(self.store, self.brand, ended_since=self.latest - p.cooldown):
            records[(r.scope, r.key)] = r  # oldest first, so the newest row per key wins
        plans = {
            (w.scope, w.key): self._windows(records.get((w.scope, w.key))) for w in self.watches
        }
        starts = sorted({s for windows in plans.values() for s in windows})
        if not starts:
            return  # this window was already judged (a second process, or a quick restart)
        rows = load_rows(self.store, self.brand, needed_ranges(starts, p, first))
        judged: list[_Judged] = []
        for watch in self.watches:
            key = (watch.scope, watch.key)
            if plans[key]:
                found = self._judge(watch, records.get(key), plans[key], rows, first)
                if found is not None:
                    judged.append(found)
        self._announce(judged, list(records.values()), rows)

    def _windows(self, record: SpikeRecord | None) -> list[datetime]:
        w = self.params.window
        last = record.track.last_window if record else None
        if last is None:
            return [self.latest]
        if last >= self.latest:
            return []
        start = max(last + w, self.latest - (MAX_CATCH_UP - 1) * w)
        return [start + i * w for i in range(int((self.latest - start) / w) + 1)]

    def _judge(
        self,
        watch: Watch,
        record: SpikeRecord | None,
        windows: list[datetime],
        rows: Sequence[RadarRow],
        first: datetime,
    ) -> _Judged | None:
        judge = Judge(RowSeries([r for r in rows if watch.matches(r)], first), self.params)
        track = record.track if record else Track()
        events: list[str] = []
        peak: Reading | None = None
        reading: Reading | None = None
        for start in windows:
            reading = judge.window(start)
            track, happened = advance(track, reading, self.params)
            events += happened
            self.report.judged += 1
            if track.peak_at == reading.start and ("peak" in happened or track.phase == ACTIVE):
                peak = reading
        assert reading is not None
        if (
            record is not None
            and record.track.confirmed_at is not None
            and (track.phase == QUIET or track.confirmed_at is None)
        ):
            record = None  # the old crisis cooled down; anything now is a new one
            events = [e for e in events if e not in ("dismissed",)]
        if track.phase == QUIET:
            if record is not None and record.id is not None and record.track.phase == PENDING:
                delete_spike(self.store, record.id)
            return None
        if record is None:
            record = SpikeRecord(self.brand, watch.scope, watch.key, track, updated_at=self.now)
        details = dict(record.details)
        if reading.trigger and "trigger" not in details:
            details["trigger"] = reading.trigger
        record = replace(record, track=track, updated_at=self.now, details=details)
        if peak is not None and peak.expected is not None:
            record = replace(
                record,
                baseline=peak.expected.total,
                observed=peak.observed.total,
                ratio=peak.size,
                negative_share=peak.negative_share,
            )
        elif record.id is None and reading.expected is not None:
            record = replace(
                record,
                baseline=reading.expected.total,
                observed=reading.observed.total,
                ratio=reading.size,
                negative_share=reading.negative_share,
            )
        if "ended" in events:
            self.report.ended += 1
        return _Judged(watch, save_spike(self.store, record), events, reading)

    # ---- telling Slack -----------------------------------------------------------------------

    def _announce(
        self, judged: list[_Judged], known: list[SpikeRecord], rows: Sequence[RadarRow]
    ) -> None:
        lead = next(
            (
                r
                for r in known
                if r.track.phase == ACTIVE
                and r.details.get("posted")
                and not r.details.get("folded_into")
            ),
            None,
        )
        lead_news: list[str] = []
        for item in judged:
            record = item.record
            if lead is not None and record.id == lead.id and record.track.phase != ACTIVE:
                lead = None  # it ended in this check: nothing new joins its thread
            if record.track.confirmed_at is None or record.track.phase == PENDING:
                continue  # a single odd window (or an unconfirmed flare-up) tells nobody
            details = dict(record.details)
            if track_ended_quietly(record, item.events):
                continue  # its final message went out when it ended
            if not details.get("posted") and not details.get("folded_into"):
                if lead is not None and lead.id != record.id:
                    details["folded_into"] = lead.id
                    item.record = save_spike(self.store, replace(record, details=details))
                    lead_news.append(also_reply(self._view(item, rows)))
                    continue
                if record.track.phase == ACTIVE:
                    lead = record
            if details.get("folded_into"):
                continue
            item.view = self._view(item, rows)
            item.record = self._news(item, details)
        for item in judged:
            if item.view is None:
                continue
            if lead is not None and item.record.id == lead.id and lead_news:
                details = dict(item.record.details)
                details["replies"] = [*details.get("replies", []), *lead_news]
                item.record = save_spike(self.store, replace(item.record, details=details))
                lead_news = []
            self._deliver(item.record, item.view)
        if lead_news and lead is not None and lead.id is not None:
            self._queue_on(lead, lead_news)

    def _news(self, item: _Judged, details: dict[str, Any]) -> SpikeRecord:
        """Queue the thread replies this check's events deserve; returns the saved record."""
        view = item.view
        assert view is not None
        track = item.record.track
        replies: list[str] = list(details.get("replies", []))
        announced: list[int] = list(details.get("announced_posts", []))
        fresh = [p for p in view.top if p.id not in announced]
        if details.get("posted"):
            if "reopened" in item.events:
                replies.append(reopened_reply(view))
            if "peak" in item.events and track.peak >= details.get("announced_peak", 0) * PEAK_STEP:
                replies.append(peak_reply(view))
                details["announced_peak"] = track.peak
            replies += [post_reply(p) for p in fresh]
            if "ended" in item.events:
                replies.append(ended_reply(view))
        else:
            details["announced_peak"] = track.peak  # the first message shows all of it
        details["announced_posts"] = announced + [p.id for p in fresh]
        details["replies"] = replies
        return save_spike(self.store, replace(item.record, details=details))

    def _queue_on(self, lead: SpikeRecord, news: list[str]) -> None:
        """News for a lead judged earlier (its thread gets it on the next check)."""
        details = dict(lead.details)
        details["replies"] = [*details.get("replies", []), *news]
        save_spike(self.store, replace(lead, details=details))

    def _deliver(self, record: SpikeRecord, view: SpikeView) -> None:
        details = dict(record.details)
        text, blocks = render_spike(view)
        rendered = fingerprint(text, blocks)
        try:
            if not details.get("posted"):
                delivery = self.sender.send(self.channel, text, blocks)
                record = replace(
                    record,
                    channel=self.channel,
                    channel_id=delivery.channel_id,
                    ts=delivery.ts,
                )
                details.update(posted=True, rendered=rendered)
                record = save_spike(self.store, replace(record, details=details))
                self.report.alerts += 1
                log.info(
                    "radar: spike for %s (%s %s) announced", self.brand, record.scope, record.key
                )
            elif details.get("rendered") != rendered and record.channel_id and record.ts:
                self.sender.update(record.channel_id, record.ts, text, blocks)
                details["rendered"] = rendered
                record = save_spike(self.store, replace(record, details=details))
                self.report.updates += 1
            while details.get("replies"):
                fallback, reply_blocks = reply(details["replies"][0])
                self.sender.send(
                    record.channel or self.channel, fallback, reply_blocks, thread_ts=record.ts
                )
                details["replies"] = details["replies"][1:]
                record = save_spike(self.store, replace(record, details=details))
                self.report.replies += 1
        except (RetryLater, DeliveryFailed) as exc:
            # Kept in the row: the next check sends what is still queued.
            log.warning("radar: Slack refused the spike message for %s: %s", self.brand, exc)
            self.report.failures.append(f"{self.brand}: {exc}")

    def _view(self, item: _Judged, rows: Sequence[RadarRow]) -> SpikeView:
        record, watch, last = item.record, item.watch, item.last
        track = record.track
        assert track.started_at is not None and record.id is not None
        end = last.end
        during = [
            r
            for r in load_rows(self.store, self.brand, [(track.started_at, end)])
            if watch.matches(r)
        ]
        before = [r for r in rows if r.created_at < track.started_at and watch.matches(r)]
        triaged = [r for r in during if r.sentiment is not None]
        negative = sum(r.sentiment == "negative" for r in triaged)
        usual = [r for r in before if r.sentiment is not None]
        top = sorted(
            during,
            key=lambda r: (_reach(r), (r.likes or 0) + (r.reposts or 0)),
            reverse=True,
        )[:TOP_POSTS]
        expected = last.expected
        return SpikeView(
            spike_id=record.id,
            brand=self.brand,
            scope=record.scope,
            key=record.key,
            active=track.phase != ENDED,
            started_at=track.started_at,
            ended_at=track.ended_at,
            as_of=end,
            window=self.params.window,
            observed=last.observed.total,
            expected=expected.total if expected else 0.0,
            size=last.size,
            peak=max(track.peak, last.size if track.phase == ACTIVE else 0.0),
            peak_at=track.peak_at,
            peak_observed=record.observed,
            mentions=len(during),
            negative_share=negative / len(triaged) if triaged else None,
            usual_negative_share=(
                sum(r.sentiment == "negative" for r in usual) / len(usual) if usual else None
            ),
            negative_led=str(record.details.get("trigger", "")).startswith("negative"),
            drivers=tuple(
                over_represented(
                    (fields(r.title, r.text) for r in during),
                    (fields(r.title, r.text) for r in before),
                    exclude=watch.exclude,
                )
            ),
            networks=tuple(Counter(r.network for r in during).most_common(5)),
            top=tuple(
                TopPost(
                    id=r.id,
                    network=r.network,
                    author=r.author,
                    url=r.url,
                    text=display_text(r.title, r.text),
                    reach=_reach(r),
                    followers=r.followers,
                    likes=r.likes,
                    reposts=r.reposts,
                )
                for r in top
            ),
        )



def next_check(after: datetime, radar: RadarSettings) -> datetime:
    """The first check after `after`: once the window open then has closed, plus `lag`, so it
    judges full windows."""
    window = radar.window_delta
    return align(after, window) + window + radar.lag_delta
