"""Digests: a Block Kit summary once per period, with a real PNG chart via files_upload_v2."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from alerts.console import ConsoleSender
from alerts.digest import latest_period, send_due_digests
from alerts.outbox import deliver_due
from alerts.routes import Route, decide
from alerts.settings import DigestSettings
from alerts.slack import SlackSender
from core.mention import Mention
from fakes.slack import FakeSlack
from storage import Store, alerting, cases
from tests.alerts.factories import triage
from tests.alerts.queueing import T0, mention, queue

DAILY = DigestSettings(channel="#digest", every="daily", at="09:00", timezone="Europe/Berlin")
MORNING = datetime(2024, 4, 6, 7, 30, tzinfo=UTC)  # 09:30 in Berlin, the day after T0
PNG = b"\x89PNG\r\n\x1a\n"


def heard(store: Store) -> None:
    """A day of mentions: complaints in the afternoon, praise in the evening, one alerted."""
    queue(store, [mention(n, created_at=T0 - timedelta(hours=n)) for n in range(1, 5)])
    calm = [
        mention(n, text=f"Acme support was lovely today {n}", created_at=T0 + timedelta(hours=3))
        for n in range(5, 8)
    ]
    queue(store, calm, verdict=triage("positive", "low"))


def test_daily_digest_posts_the_numbers_and_uploads_a_drawn_chart_once(
    store: Store, slack: FakeSlack, sender: SlackSender
) -> None:
    heard(store)
    deliver_due(store, sender, now=T0)  # four alerts (paced: three now, one a bit later)
    deliver_due(store, sender, now=T0 + timedelta(seconds=5))
    first = next(iter(cases.list_cases(store)))
    cases.act(store, first.mention_id, "acknowledge", "U0ANN", at=T0 + timedelta(minutes=12))

    assert send_due_digests(store, sender, [DAILY], now=MORNING) == 1
    assert send_due_digests(store, sender, [DAILY], now=MORNING + timedelta(hours=3)) == 0

    digest = next(m for m in slack.messages if m["channel"] == "#digest")
    body = json.dumps(digest["blocks"], ensure_ascii=False)
    assert "Daily digest" in body and "Fri 05 Apr 09:00 → Sat 06 Apr 09:00" in body
    assert "*Mentions*\\n7" in body
    assert "negative 57% · neutral 0% · positive 43%" in body
    assert "outage (7)" in body
    assert "4 opened · 4 open now · 0 breached" in body
    assert "12 min / -" in body  # median first response / no case resolved yet

    (chart,) = slack.files
    assert chart["data"].startswith(PNG)
    assert chart["channel_id"] == digest["channel_id"] and chart["thread_ts"] == digest["ts"]
    assert chart["title"].startswith("Daily digest")
    assert drawn_pixels(chart["data"], (0xD6, 0x45, 0x45)) > 200  # negative bars are there
    assert drawn_pixels(chart["data"], (0x3F, 0x9C, 0x6B)) > 200  # and positive ones


def test_next_period_gets_its_own_digest(
    store: Store, slack: FakeSlack, sender: SlackSender
) -> None:
    assert send_due_digests(store, sender, [DAILY], now=MORNING) == 1
    assert send_due_digests(store, sender, [DAILY], now=MORNING + timedelta(days=1)) == 1
    assert len([m for m in slack.messages if m["channel"] == "#digest"]) == 2
    assert len(slack.files) == 2


def test_a_rate_limited_digest_is_sent_on_a_later_tick(
    store: Store, slack: FakeSlack, sender: SlackSender
) -> None:
    slack.rate_limit(retry_after=30, channel="#digest")
    assert send_due_digests(store, sender, [DAILY], now=MORNING) == 0
    assert send_due_digests(store, sender, [DAILY], now=MORNING + timedelta(minutes=1)) == 1
    assert send_due_digests(store, sender, [DAILY], now=MORNING + timedelta(minutes=2)) == 0


def queue_at(store: Store, posts: list[Mention], route: Route, at: datetime) -> None:
    """Store, triage and route posts as a cycle running at `at` does."""
    ids = store.save_page("Acme", "reddit", posts, None, now=at)
    store.save_triage([(i, triage()) for i in ids])
    pending = store.unrouted()
    alerts = [(m.id, r.name, r.channel) for m in pending for r in decide(m, [route])]
    store.enqueue_alerts(alerts, [m.id for m in pending], now=at)


def test_alerts_held_in_quiet_hours_are_listed_in_the_digest(
    store: Store, slack: FakeSlack, sender: SlackSender
) -> None:
    night = datetime(2024, 4, 5, 21, 30, tzinfo=UTC)
    route = Route("night", "#digest", quiet_hours="22:00-07:00", timezone="Europe/Berlin")
    queue_at(store, [mention(1, text="<!channel> Acme app crashes at night")], route, night)
    assert deliver_due(store, sender, now=night, routes=[route], digest_channels={"#digest"}).held
    assert slack.messages == []

    send_due_digests(store, sender, [DAILY], now=MORNING)
    (digest,) = slack.messages
    body = json.dumps(digest["blocks"])
    assert "Held during quiet hours* (1)" in body
    assert "&lt;!channel&gt; Acme app crashes at night" in body and "<!channel>" not in body
    assert alerting.held_alerts(store, "#digest") == []  # listed once, not again tomorrow


def test_an_alert_held_after_the_period_ended_waits_for_the_next_digest(
    store: Store, slack: FakeSlack, sender: SlackSender
) -> None:
    """The 09:00 digest covers up to 09:00: an alert held at 09:20 (quiet until 10:00) is not
    listed under a period it was not in, and the next day's digest lists it."""
    route = Route("night", "#digest", quiet_hours="22:00-10:00", timezone="Europe/Berlin")
    night = datetime(2024, 4, 5, 21, 30, tzinfo=UTC)
    after = MORNING - timedelta(minutes=10)  # 09:20 in Berlin, after the period's 09:00 end
    queue_at(store, [mention(1, text="Acme app crashes at night")], route, night)
    queue_at(store, [mention(2, text="Acme app crashes after nine")], route, after)
    digests = {"#digest"}
    deliver_due(store, sender, now=after, routes=[route], digest_channels=digests)

    send_due_digests(store, sender, [DAILY], now=MORNING)
    (today,) = slack.messages
    body = json.dumps(today["blocks"])
    assert "Held during quiet hours* (1)" in body and "crashes at night" in body
    assert "after nine" not in body
    assert [m for _, m, _ in alerting.held_alerts(store, "#digest")] == [2]

    send_due_digests(store, sender, [DAILY], now=MORNING + timedelta(days=1))
    tomorrow = json.dumps(slack.messages[-1]["blocks"])
    assert "after nine" in tomorrow and "crashes at night" not in tomorrow


def test_weekly_period_ends_at_the_last_scheduled_weekday_on_the_local_clock() -> None:
    weekly = DigestSettings(
        channel="#d", every="weekly", at="08:30", weekday="monday", timezone="America/New_York"
    )
    # Wednesday 10 April 2024, 15:00 UTC; Monday 8 April 08:30 in New York is 12:30 UTC.
    period = latest_period(weekly, datetime(2024, 4, 10, 15, 0, tzinfo=UTC))
    assert period.end == datetime(2024, 4, 8, 12, 30, tzinfo=UTC)
    # The week before began in EST (DST started 10 March): 13:30 UTC, same wall-clock time.
    assert period.start == datetime(2024, 4, 1, 12, 30, tzinfo=UTC)
    before = latest_period(DAILY, datetime(2024, 4, 6, 6, 59, tzinfo=UTC))  # 08:59 Berlin
    assert before.end == datetime(2024, 4, 5, 7, 0, tzinfo=UTC)


def drawn_pixels(png: bytes, colour: tuple[int, int, int]) -> int:
    """How many pixels of the image are (close to) `colour`: proof something was drawn."""
    from matplotlib.image import imread

    image = imread(io.BytesIO(png), format="png")
    target = [c / 255 for c in colour]
    close = (abs(image[:, :, :3] - target) < 0.05).all(axis=2)
    return int(close.sum())


def test_on_the_console_the_digest_prints_and_keeps_its_chart(store: Store) -> None:
    out = io.StringIO()
    console = ConsoleSender(Console(file=out, width=300, color_system=None))
    heard(store)
    assert send_due_digests(store, console, [DAILY], now=MORNING) == 1
    printed = out.getvalue()
    assert "Daily digest" in printed and "Mentions" in printed
    path = Path(printed.split("for #digest: ")[1].split()[0])
    assert path.read_bytes().startswith(PNG)
    path.unlink()
