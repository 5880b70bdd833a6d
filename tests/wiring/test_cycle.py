"""One brand, a fake Hacker News and a fake Slack on 127.0.0.1: the whole cycle, for real."""

from __future__ import annotations

import json
import time
from pathlib import Path

from fakes.hackernews import FakeHackerNews, comment, story
from fakes.server import Response
from fakes.slack import FakeSlack
from listeners.http import HttpClient
from listenpost import config
from listenpost.pipeline import run_cycle
from listenpost.runtime import Runtime, build
from tests.wiring.conftest import settings_text

NOW = int(time.time())


def make_runtime(tmp_path: Path, hn: FakeHackerNews, slack: FakeSlack, triager) -> Runtime:
    path = tmp_path / "settings.toml"
    path.write_text(
        settings_text(tmp_path / "lp.db", {"hackernews": {"base_url": hn.base_url}}, slack.base_url)
    )
    settings = config.load(path)
    http = HttpClient(timeout=2, retries=1, backoff=0.01)
    rt = build(settings, {"SLACK_BOT_TOKEN": slack.token}, http=http)
    rt.__dict__["triager"] = triager  # share the loaded model across tests
    return rt


def seed(hn: FakeHackerNews) -> None:
    hn.items += [
        story(101, NOW - 300, "Acme Cloud is down again, outage for 3 hours, this is terrible"),
        story(102, NOW - 200, "Love the new Acme dashboard, great work team"),
        comment(103, NOW - 100, "Acme is hiring backend engineers"),  # excluded by -hiring
    ]


def test_cycle_stores_triages_and_alerts_once(tmp_path, hn, slack, triager) -> None:
    seed(hn)
    rt = make_runtime(tmp_path, hn, slack, triager)
    report = run_cycle(rt)
    assert report.new == 2
    stored = {m.native_id: m for m in rt.store.mentions()}
    assert set(stored) == {"101", "102"}  # the -hiring post never reaches storage
    assert stored["101"].triage.sentiment == "negative"
    assert stored["101"].triage.urgency in {"high", "critical"}
    assert len(slack.messages) == 1
    assert "down again" in slack.messages[0]["text"]
    assert slack.messages[0]["channel"] == "#brand-alerts"

    again = run_cycle(rt)
    assert again.new == 0
    assert rt.store.count_mentions() == 2
    assert len(slack.messages) == 1, "a second poll must alert nothing new"
    rt.close()


def test_channel_ping_in_a_post_is_neutralised(tmp_path, hn, slack, triager) -> None:
    hn.items.append(
        story(201, NOW - 50, "<!channel> Acme outage: <https://evil.example|acme.com> is down!!")
    )
    rt = make_runtime(tmp_path, hn, slack, triager)
    run_cycle(rt)
    assert len(slack.messages) == 1
    sent = json.dumps(slack.messages[0])
    assert "<!channel>" not in sent
    assert "<https://evil.example|" not in sent
    assert "&lt;!channel&gt;" in sent
    rt.close()


def test_rate_limited_source_keeps_data_and_cursor(tmp_path, hn, slack, triager) -> None:
    seed(hn)
    rt = make_runtime(tmp_path, hn, slack, triager)
    run_cycle(rt)
    cursor = rt.store.get_cursor("Acme", "hackernews")
    assert cursor is not None

    hn.items.append(story(104, NOW - 10, "Acme outage again, everything is down"))
    hn.script.append(
        Response.json({"message": "Too many requests", "status": 429}, 429, {"Retry-After": "120"})
    )
    report = run_cycle(rt)
    assert report.polls[0].error and "rate limited" in report.polls[0].error
    assert rt.store.get_cursor("Acme", "hackernews") == cursor
    assert rt.store.count_mentions() == 2
    # Paused, not hammered: the next cycle does not even send a request.
    sent_before = len(hn.searches)
    paused = run_cycle(rt)
    assert paused.polls[0].skipped_until is not None
    assert len(hn.searches) == sent_before
    rt.close()


def test_server_error_then_recovery_loses_nothing(tmp_path, hn, slack, triager) -> None:
    seed(hn)
    rt = make_runtime(tmp_path, hn, slack, triager)
    hn.outage = Response.json({"message": "Internal error", "status": 500}, 500)
    failed = run_cycle(rt)
    assert failed.polls[0].error
    assert rt.store.get_cursor("Acme", "hackernews") is None
    assert rt.store.count_mentions() == 0
    hn.outage = None
    recovered = run_cycle(rt)
    assert recovered.new == 2
    assert len(slack.messages) == 1
    rt.close()


def test_slack_429_then_success_delivers_exactly_once(tmp_path, hn, slack, triager) -> None:
    seed(hn)
    slack.rate_limit(retry_after=1)
    rt = make_runtime(tmp_path, hn, slack, triager)
    first = run_cycle(rt)
    assert first.delivery.retried == 1
    assert slack.messages == []
    time.sleep(1.1)
    run_cycle(rt)
    run_cycle(rt)
    assert len(slack.messages) == 1
    rt.close()
