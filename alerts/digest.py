"""Daily and weekly digests: what was heard, how it felt, and how fast the team answered.

A digest covers the period that ended at its last scheduled time (`at` on the channel's own
wall clock, every day or on `weekday`), e.g. a daily 09:00 digest covers yesterday 09:00 to
today 09:00. Each (channel, period, start) is sent once: the `digests` row is claimed before
sending and marked sent after, so restarts and a second process never repeat it. A monitor
that was down for a week sends the latest period only, not a backlog of stale digests.

Contents: volume and sentiment mix, top categories, cases opened / open now / breached,
median first response and resolution, the alerts held back by quiet hours, and a PNG chart of
volume stacked by sentiment uploaded with files_upload_v2. Numbers come from storage/stats.py,
the same functions reports use.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from alerts.chart import volume_chart
from alerts.render import LINE_LIMIT, escape, inert, network_name, safe_url
from alerts.sender import DeliveryFailed, RetryLater, Sender
from alerts.timing import zone
from core.triage import SENTIMENTS
from storage import alerting, cases, db, stats
from storage.schema import digests

if TYPE_CHECKING:
    from alerts.settings import DigestSettings
    from storage import Store

log = logging.getLogger(__name__)

HELD_SHOWN = 10
CATEGORIES_SHOWN = 5
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True, slots=True)
class Period:
    start: datetime  # UTC
    end: datetime  # UTC, exclusive


def latest_period(settings: DigestSettings, now: datetime) -> Period:
    """The most recent complete period at `now`, computed on the channel's wall clock."""
    tz = zone(settings.timezone)
    hour, minute = (int(part) for part in settings.at.split(":"))
    local = now.astimezone(tz)
    end = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if settings.every == "weekly":
        end -= timedelta(days=(local.weekday() - _WEEKDAYS.index(settings.weekday)) % 7)
        if end > local:
            end -= timedelta(days=7)
        start = _wall(end.replace(tzinfo=None) - timedelta(days=7), tz)
    else:
        if end > local:
            end -= timedelta(days=1)
        start = _wall(end.replace(tzinfo=None) - timedelta(days=1), tz)
    end = _wall(end.replace(tzinfo=None), tz)  # the same wall-clock time across DST changes
    return Period(start.astimezone(UTC), end.astimezone(UTC))


def send_due_digests(
    store: Store,
    sender: Sender,
    configured: Sequence[DigestSettings],
    now: datetime | None = None,
) -> int:
    """Send every configured digest whose latest period was not sent yet; returns how many."""
    now = now or datetime.now(UTC)
    sent = 0
    for settings in configured:
        period = latest_period(settings, now)
        if not _claim(store, settings, period):
            continue
        try:
            sent += send_digest(store, sender, settings, period, now)
        except Exception:  # one digest's bug must not stop the others or the scheduler
            log.exception("digest for %s could not be sent", settings.channel)
    return sent


def send_digest(
    store: Store, sender: Sender, settings: DigestSettings, period: Period, now: datetime
) -> int:
    """Post one digest and its chart; 1 if posted, 0 if Slack said to try later or refused."""
    brands = list(settings.brands) or None
    # Only what was held before the period ended: a later one belongs to the next digest.
    held = alerting.held_alerts(store, settings.channel, before=period.end)
    text, blocks = render_digest(store, settings, period, held)
    try:
        delivery = sender.send(settings.channel, text, blocks)
    except (RetryLater, DeliveryFailed) as exc:
        # The row stays unsent: the next scheduler tick (a minute later) tries again.
        log.warning("digest for %s not sent: %s", settings.channel, exc)
        return 0
    _mark_sent(store, settings, period, delivery.channel_id, delivery.ts, now)
    alerting.release_held(store, [outbox_id for outbox_id, _, _ in held], now)
    tz = zone(settings.timezone)
    step = timedelta(hours=1) if settings.every == "daily" else timedelta(days=1)
    rows = stats.volume(store, period.start, period.end, bucket="hour", brands=brands)
    title = f"Mentions per {'hour' if step < timedelta(days=1) else 'day'} by sentiment"
    # Slack gets the bytes and the file goes; the console prints the path, so it stays.
    keep = delivery.ts is None
    folder = Path(tempfile.mkdtemp(prefix="listenpost-digest-"))
    chart = volume_chart(rows, period.start, period.end, step, folder / "digest.png", title, tz)
    try:
        sender.upload_file(
            delivery.channel_id or settings.channel,
            chart,
            title=f"{settings.every.capitalize()} digest {_span(period, tz)}",
            thread_ts=delivery.ts,
        )
    except (RetryLater, DeliveryFailed) as exc:
        log.warning("digest chart for %s not uploaded: %s", settings.channel, exc)
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
    return 1


def render_digest(
    store: Store,
    settings: DigestSettings,
    period: Period,
    held: Sequence[tuple[int, int, datetime]] = (),
) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, Block Kit blocks) of a digest."""
    brands = list(settings.brands) or None
    tz = zone(settings.timezone)
    rows = stats.volume(store, period.start, period.end, bucket="day", brands=brands)
    total = sum(r.total for r in rows)
    mix = {s: sum(getattr(r, s) for r in rows) for s in SENTIMENTS}
    top = Counter[str]()
    for row in stats.categories(store, period.start, period.end, brands=brands):
        top[row.category] += row.total
    times = stats.case_times(store, period.start, period.end, brands=brands)
    open_now = len(cases.list_cases(store, statuses=("open", "acknowledged", "assigned")))

    title = f"📊 {settings.every.capitalize()} digest · {_span(period, tz)}"
    sentiment = " · ".join(f"{s} {_share(mix[s], total)}" for s in SENTIMENTS) if total else "-"
    categories = ", ".join(
        f"{inert(name.replace('_', ' '), 60)} ({count})"
        for name, count in top.most_common(CATEGORIES_SHOWN)
    )
    fields = [
        f"*Mentions*\n{total}",
        f"*Sentiment*\n{sentiment}",
        f"*Cases*\n{times.opened} opened · {open_now} open now · {times.breached} breached",
        "*Response / resolution (median)*\n"
        f"{_duration(times.median_first_response)} / {_duration(times.median_resolution)}",
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150], "emoji": True}},
        {"type": "section", "fields": [_mrkdwn(f) for f in fields]},
        {"type": "section", "text": _mrkdwn(f"*Top categories*: {categories or 'none'}")},
    ]
    during = [h for h in held if h[2] >= period.start]
    earlier = [h for h in held if h[2] < period.start]  # a digest that could not be sent
    if during:
        blocks.append({"type": "section", "text": _mrkdwn(_held_text(store, during))})
    if earlier:
        text = _held_text(store, earlier, "Held during quiet hours before this period")
        blocks.append({"type": "section", "text": _mrkdwn(text)})
    brand_note = ", ".join(inert(b, 60) for b in settings.brands) or "all brands"
    blocks.append(
        {"type": "context", "elements": [_mrkdwn(f"{brand_note} · chart in the thread")]}
    )
    fallback = (
        f"{settings.every.capitalize()} digest: {total} mentions, {times.opened} cases opened, "
        f"{times.breached} breached"
    )
    return fallback, blocks


def _held_text(
    store: Store,
    held: Sequence[tuple[int, int, datetime]],
    heading: str = "Held during quiet hours",
) -> str:
    """The alerts quiet hours kept back, so nothing was silently dropped."""
    lines = [f"*{heading}* ({len(held)})"]
    for _, mention_id, _ in held[:HELD_SHOWN]:
        m = store.get_mention(mention_id)
        if m is None:
            continue
        author = inert(" ".join(m.author.split()) or "unknown", 60)
        line = f"• *{author}* on {network_name(m.network)}: {inert(' '.join(m.text.split()), 120)}"
        if url := safe_url(m.url):
            line += f" <{escape(url)}|View post>"
        lines.append(line[:LINE_LIMIT * 2])
    if len(held) > HELD_SHOWN:
        lines.append(f"…and {len(held) - HELD_SHOWN} more (`listenpost mentions`)")
    return "\n".join(lines)[:2900]


def _claim(store: Store, settings: DigestSettings, period: Period) -> bool:
    """True when this period's digest still has to be sent (row created or left unsent)."""
    with store.engine.begin() as conn:
        conn.execute(
            db.insert(conn, digests)
            .values(channel=settings.channel, period=settings.every, period_start=period.start)
            .on_conflict_do_nothing()
        )
        sent_at = conn.scalar(
            select(digests.c.sent_at).where(
                digests.c.channel == settings.channel,
                digests.c.period == settings.every,
                digests.c.period_start == period.start,
            )
        )
    return sent_at is None


def _mark_sent(
    store: Store,
    settings: DigestSettings,
    period: Period,
    channel_id: str | None,
    ts: str | None,
    now: datetime,
) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            update(digests)
            .where(
                digests.c.channel == settings.channel,
                digests.c.period == settings.every,
                digests.c.period_start == period.start,
            )
            .values(sent_at=now, channel_id=channel_id, ts=ts)
        )


def _wall(naive_local: datetime, tz: Any) -> datetime:
    return naive_local.replace(tzinfo=tz)


def _span(period: Period, tz: Any) -> str:
    start, end = period.start.astimezone(tz), period.end.astimezone(tz)
    return f"{start:%a %d %b %H:%M} → {end:%a %d %b %H:%M} ({tz})"


def _share(part: int, total: int) -> str:
    return f"{round(100 * part / total)}%"


def _duration(value: timedelta | None) -> str:
    if value is None:
        return "-"
    minutes = int(value.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min" if hours < 48 else f"{hours // 24} days"


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}
