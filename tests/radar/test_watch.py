"""The radar end to end: stored mentions -> scheduled checks -> one Slack alert per crisis,
edited in place and followed in its thread, against the local fake Slack Web API."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from alerts.console import ConsoleSender
from alerts.slack import SlackSender
from core.mention import Mention, Metrics
from core.triage import Triage
from fakes.slack import FakeSlack
from listenpost.config import BrandSettings, Settings, StorageSettings
from listenpost.runtime import build
from listenpost.scheduler import build_scheduler
from radar.settings import RadarSettings
from radar.watch import RadarReport, check
from storage import Store
from storage.spikes import open_spikes, recent_spikes

W = timedelta(minutes=15)
AFTER = timedelta(minutes=6)  # checks run this long after a window closes (lag is 5 min)
OPENERS = ("Again!", "Seriously,", "Wow.", "Ugh,", "Hey team:", "Day ruined:", "So")
STORM = datetime(2026, 6, 3, 14, 0, tzinfo=UTC)  # a Wednesday afternoon
HISTORY_START = STORM - timedelta(weeks=2)
RADAR = RadarSettings(history_weeks=2, terms=["#acmedown"], categories=["outage"])
BRANDS = {"Acme": "acme"}
_ids = itertools.count(1)


def mention(at: datetime, text: str, network: str = "x", followers: int = 50) -> Mention:
    n = next(_ids)
    return Mention(
        network=network,
        native_id=f"{network}-{n}",
        url=f"https://example.com/{network}/status/{n}",
        author=f"user{n}",
        text=text,
        created_at=at,
        metrics=Metrics(followers=followers, likes=n % 7, reposts=n % 3),
    )


def verdict(sentiment: str, categories: Sequence[str] = ()) -> Triage:
    return Triage(
        sentiment=sentiment,  # type: ignore[arg-type]
        sentiment_scores={"negative": 0.1, "neutral": 0.1, "positive": 0.1, sentiment: 0.9},
        urgency="medium",
        reasons=[],
        categories=list(categories),
        model_version="test",
    )


def store_posts(
    store: Store, posts: Sequence[Mention], sentiment: str, cats: Sequence[str]
) -> None:
    ids = store.save_page("Acme", "x", list(posts), None)
    store.save_triage([(i, verdict(sentiment, cats)) for i in ids])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """Two weeks of ordinary traffic: two posts an hour, one in five negative."""
    s = Store(f"sqlite:///{tmp_path / 'radar.db'}")
    t = HISTORY_START
    calm: list[Mention] = []
    while t < STORM:
        calm.append(mention(t + timedelta(minutes=7), f"Using acme for invoices, ticket {t:%j%H}"))
        calm.append(mention(t + timedelta(minutes=37), f"Acme dashboard looks nice, day {t:%j%H}"))
        t += timedelta(hours=1)
    ids = s.save_page("Acme", "x", calm, None)
    s.save_triage(
        [(i, verdict("negative" if k % 5 == 0 else "neutral")) for k, i in enumerate(ids)]
    )
    yield s
    s.close()


@pytest.fixture
def sender(slack: FakeSlack) -> SlackSender:
    return SlackSender(slack.token, base_url=slack.base_url)


def storm_window(store: Store, start: datetime, count: int, big: int | None = None) -> None:
    """`count` angry posts about an outage in the window at `start` (one by `big` followers)."""
    posts = [
        mention(
            start + timedelta(seconds=40 * k),
            f"{OPENERS[k % 7]} acme login is down, outage since lunch #acmedown {start:%H%M} {k}",
            network=("x", "reddit", "bluesky")[k % 3],
        )
        for k in range(count)
    ]
    if big is not None:
        posts.append(
            mention(
                start + timedelta(minutes=5), "Huge acme outage, everyone is locked out", "x", big
            )
        )
    store_posts(store, posts, "negative", ["outage", "complaint"])


def run(store: Store, sender: SlackSender, window_end: datetime) -> RadarReport:
    """The scheduled check, six minutes after a window closed (lag is five)."""
    return check(store, sender, RADAR, BRANDS, "#brand-alerts", now=window_end + AFTER)


def top_level(slack: FakeSlack) -> list[dict[str, Any]]:
    return [m for m in slack.messages if not m.get("thread_ts")]


def texts(blocks: list[dict[str, Any]]) -> str:
    out = []
    for block in blocks:
        if "text" in block:
            out.append(block["text"]["text"])
        out += [e.get("text", "") for e in block.get("elements", [])]
    return "\n".join(out)


def test_one_storm_is_one_alert_updated_in_place_and_followed_in_its_thread(
    store: Store, sender: SlackSender, slack: FakeSlack
) -> None:
    storm_window(store, STORM, 14)
    first = run(store, sender, STORM + W)
    assert first.judged >= 1 and slack.messages == []  # one odd window tells nobody
    assert [s.track.phase for s in open_spikes(store, "Acme", STORM)] == ["pending"] * 3

    storm_window(store, STORM + W, 16)
    run(store, sender, STORM + 2 * W)
    alerts = top_level(slack)
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert["channel"] == "#brand-alerts"
    body = texts(alert["blocks"])
    assert "Spike: Acme" in alert["blocks"][0]["text"]["text"]
    drivers = next(line for line in body.splitlines() if line.startswith("*Driving it*"))
    terms = [t.split(" (")[0] for t in drivers.removeprefix("*Driving it* ").split(", ")]
    assert "outage" in terms and "#acmedown" in terms and "acme" not in terms  # not the brand
    assert "Networks* X" in body and "Reddit" in body and "Bluesky" in body
    assert "Most-reached posts" in body and "|View post>" in body
    negative = next(line for line in body.splitlines() if line.startswith("*Negative*"))
    usual = int(negative.split("(usually ")[1].split(" %")[0])
    assert negative.startswith("*Negative* 100 %") and 10 <= usual <= 30  # history: 1 in 5
    # The category and the hashtag spiked with it: said in the thread, not as more alerts.
    thread = slack.thread(alert["ts"])
    assert sorted(m["text"].split(":")[0] for m in thread) == ["📊 Also rising"] * 2
    assert any("category outage" in m["text"] for m in thread)
    assert any("term #acmedown" in m["text"] for m in thread)

    run(store, sender, STORM + 2 * W)  # the same window again: nothing new to say
    assert len(slack.messages) == 3 and slack.updates == []

    storm_window(store, STORM + 2 * W, 45, big=2_000_000)
    run(store, sender, STORM + 3 * W)
    assert len(top_level(slack)) == 1
    assert slack.updates and {u["ts"] for u in slack.updates} == {alert["ts"]}
    assert {u["channel"] for u in slack.updates} == {alert["channel_id"]}
    assert "Huge acme outage" in texts(slack.updates[-1]["blocks"])
    news = [m["text"] for m in slack.thread(alert["ts"])]
    assert any(t.startswith("📈 New peak") for t in news)
    assert any("most-reached" in t and "2M followers" in t for t in news)

    end = STORM + 3 * W
    for _ in range(12):  # quiet windows until it is declared over
        end += W
        run(store, sender, end)
        if any(t.startswith("✅ Ended") for t in (m["text"] for m in slack.thread(alert["ts"]))):
            break
    final = slack.updates[-1]
    assert final["blocks"][0]["text"]["text"].startswith("✅ Ended: Acme spike, peak")
    ended = [m["text"] for m in slack.thread(alert["ts"]) if m["text"].startswith("✅")]
    assert len(ended) == 1 and "Ended after" in ended[0] and "mentions in all" in ended[0]
    assert end - STORM <= timedelta(hours=2, minutes=30)
    assert len(top_level(slack)) == 1
    spikes = {s.scope: s for s in recent_spikes(store, "Acme")}
    assert spikes["brand"].track.phase == "ended" and spikes["brand"].ts == alert["ts"]
    assert spikes["category"].details["folded_into"] == spikes["brand"].id


def test_a_flare_up_within_the_cooldown_continues_the_same_alert(
    store: Store, sender: SlackSender, slack: FakeSlack
) -> None:
    storm_window(store, STORM, 14)
    storm_window(store, STORM + W, 16)
    run(store, sender, STORM + W)
    run(store, sender, STORM + 2 * W)
    [alert] = top_level(slack)
    end = STORM + 2 * W
    for _ in range(12):
        end += W
        run(store, sender, end)
    assert slack.updates[-1]["blocks"][0]["text"]["text"].startswith("✅ Ended")

    flare = end + timedelta(hours=1)  # well inside the six-hour cooldown
    storm_window(store, flare, 15)
    storm_window(store, flare + W, 15)
    run(store, sender, flare + W)
    # One odd window after the end changes nothing in Slack until the next confirms it.
    assert slack.updates[-1]["blocks"][0]["text"]["text"].startswith("✅ Ended")
    run(store, sender, flare + 2 * W)

    assert top_level(slack) == [alert]  # no second alert
    assert any(m["text"].startswith("🔁 Flaring up again") for m in slack.thread(alert["ts"]))
    assert slack.updates[-1]["blocks"][0]["text"]["text"].startswith("📈 Spike: Acme")


def test_a_storm_of_copies_is_one_post_and_raises_no_alert(
    store: Store, sender: SlackSender, slack: FakeSlack
) -> None:
    for start in (STORM, STORM + W):
        copies = [
            mention(start + timedelta(seconds=30 * k), "RT @acme_angry: Acme lost my order")
            for k in range(20)
        ]
        store_posts(store, copies, "negative", ["complaint"])
    run(store, sender, STORM + W)
    run(store, sender, STORM + 2 * W)
    assert slack.messages == []


def test_a_rate_limited_alert_goes_out_once_on_the_next_check(
    store: Store, sender: SlackSender, slack: FakeSlack
) -> None:
    storm_window(store, STORM, 14)
    storm_window(store, STORM + W, 16)
    storm_window(store, STORM + 2 * W, 16)
    run(store, sender, STORM + W)
    slack.rate_limit(retry_after=30)
    report = run(store, sender, STORM + 2 * W)
    assert report.failures and slack.messages == []
    run(store, sender, STORM + 3 * W)
    assert len(top_level(slack)) == 1


def test_post_text_in_the_alert_is_inert(
    store: Store, sender: SlackSender, slack: FakeSlack
) -> None:
    storm_window(store, STORM, 14)
    storm_window(store, STORM + W, 16)
    hostile = mention(
        STORM + W + timedelta(minutes=2),
        "<!channel> acme is down <https://evil.example|acme.com/refund> *now*",
        followers=5_000_000,
    )
    store_posts(store, [hostile], "negative", ["outage"])
    run(store, sender, STORM + W)
    run(store, sender, STORM + 2 * W)
    [alert] = top_level(slack)
    body = texts(alert["blocks"])
    assert "<!channel>" not in body and "&lt;!channel&gt;" in body
    assert "<https://evil.example" not in body
    assert "<!channel>" not in alert["text"]


def test_the_job_runs_every_window_just_after_it_closes(tmp_path: Path) -> None:
    settings = Settings(
        storage=StorageSettings(url=f"sqlite:///{tmp_path / 'lp.db'}"),
        brands=[BrandSettings(name="Acme", query="acme")],
        sources={},
        radar=RadarSettings(window="15m", lag="2m"),
    )
    rt = build(settings, {})
    scheduler = build_scheduler(rt, datetime(2026, 6, 3, 14, 7, 30, tzinfo=UTC))
    [job] = [j for j in scheduler.get_jobs() if j.id == "radar"]
    assert job.id == "radar"
    assert job.trigger.interval == W
    assert job.next_run_time == datetime(2026, 6, 3, 14, 17, tzinfo=UTC)  # 14:15 + lag
    rt.close()


def test_without_slack_the_terminal_shows_the_alert_once_then_only_the_news(store: Store) -> None:
    console = Console(record=True, width=200)
    terminal = ConsoleSender(console)
    storm_window(store, STORM, 14)
    storm_window(store, STORM + W, 16)
    check(store, terminal, RADAR, BRANDS, "#brand-alerts", now=STORM + W + AFTER)
    check(store, terminal, RADAR, BRANDS, "#brand-alerts", now=STORM + 2 * W + AFTER)
    storm_window(store, STORM + 2 * W, 45, big=2_000_000)
    check(store, terminal, RADAR, BRANDS, "#brand-alerts", now=STORM + 3 * W + AFTER)
    shown = console.export_text()
    assert shown.count("Spike: Acme") == 1  # a printed panel cannot be edited: not reprinted
    assert "New peak" in shown and "Also rising" in shown
