"""Streams in `listenpost run`: matched for every brand, stored with their cursor, alerted within
seconds, resumed without gaps or repeats, stopped cleanly; and shown by `listenpost sources`."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.query import parse
from fakes.jetstream import FakeJetstream
from fakes.slack import FakeSlack
from listeners.bluesky_stream import BlueskyStreamListener, BlueskyStreamSettings
from listeners.http import HttpClient
from listenpost import config
from listenpost.cli import app
from listenpost.runtime import build
from listenpost.scheduler import run_forever
from listenpost.streams import build_streams
from storage import Store
from tests.listeners.stream_harness import wait_for
from tests.wiring.conftest import settings_text

DID = "did:plc:alice"
QUERIES = {"Acme": parse("acme -hiring"), "Globex": parse('globex OR "globex corp"')}


class FlakyStore(Store):
    """A database that refuses the next `fail` stream batches (a locked or full disk)."""

    fail = 0

    def save_stream_batch(self, *args, **kwargs):
        if self.fail:
            self.fail -= 1
            raise RuntimeError("database is locked")
        return super().save_stream_batch(*args, **kwargs)


def start(store: Store, js: FakeJetstream, http: HttpClient):
    settings = BlueskyStreamSettings(url=[js.url], read_timeout=2, max_backoff=0.2)
    stop = threading.Event()
    streams = build_streams(
        {"bluesky_stream": BlueskyStreamListener(settings, http, {})}, QUERIES, store, stop
    ).start()
    wait_for(lambda: store.stream_states(), what="the stream to connect")
    return streams, stop


def stored(store: Store) -> dict[str, list[str]]:
    return {m.text: m.brands for m in store.mentions(limit=1000)}


@pytest.fixture
def http():
    with HttpClient(timeout=2, retries=1, backoff=0.01) as client:
        yield client


def test_every_brand_is_matched_stored_and_resumed_without_gaps_or_repeats(
    tmp_path: Path, http: HttpClient
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'lp.db'}")
    with FakeJetstream() as js:
        streams, stop = start(store, js, http)
        js.post(DID, "3k1", "acme and globex corp together")
        js.post(DID, "3k2", "acme is hiring")  # excluded by Acme's query
        js.post(DID, "3k3", "nothing about anyone")
        js.post(DID, "3k4", "Globex went down")
        wait_for(lambda: len(stored(store)) == 2, what="two mentions")
        stop.set()
        streams.join()
        assert not any(t.is_alive() for t in streams.tasks), "a stream did not stop"
        assert stored(store) == {
            "acme and globex corp together": ["Acme", "Globex"],
            "Globex went down": ["Globex"],
        }
        cursor = store.stream_cursor("bluesky_stream", "all")
        assert cursor is not None

        js.post(DID, "3k5", "acme while we were down")  # heard on resume, from the cursor
        streams, stop = start(store, js, http)
        js.post(DID, "3k6", "acme after the restart")
        wait_for(lambda: len(stored(store)) == 4, what="the missed and the new post")
        stop.set()
        streams.join()
    assert js.connections[-1].cursor is not None
    assert store.count_mentions() == 4
    [state] = store.stream_states()
    assert state.events_per_s is not None and state.lag_s is not None
    store.close()


def test_a_refused_commit_loses_nothing_the_cursor_waits(tmp_path: Path, http: HttpClient) -> None:
    store = FlakyStore(f"sqlite:///{tmp_path / 'lp.db'}")
    with FakeJetstream() as js:
        streams, stop = start(store, js, http)
        store.fail = 3  # the batch, then each of its mentions one by one: nothing commits
        js.post(DID, "3k1", "acme one")
        js.post(DID, "3k2", "acme two")
        wait_for(lambda: len(stored(store)) == 2, what="both posts after the database recovers")
        stop.set()
        streams.join()
    assert store.fail == 0
    assert store.count_mentions() == 2
    store.close()


def test_a_post_on_the_stream_reaches_slack_within_seconds(
    tmp_path: Path, slack: FakeSlack, triager
) -> None:
    with FakeJetstream() as js:
        path = tmp_path / "settings.toml"
        path.write_text(
            settings_text(tmp_path / "lp.db", {}, slack.base_url)
            + f'[sources.bluesky_stream]\nurl = ["{js.url}"]\nread_timeout = 5\n'
        )
        settings = config.load(path)
        assert list(settings.source_settings()) == ["bluesky_stream"]
        rt = build(settings, {"SLACK_BOT_TOKEN": slack.token}, http=HttpClient(timeout=2))
        rt.__dict__["triager"] = triager
        assert rt.listeners == {}  # a stream is not polled
        stop = threading.Event()
        runner = threading.Thread(target=run_forever, args=(rt, stop), daemon=True)
        runner.start()
        wait_for(lambda: js.connections, what="run to open the stream")
        time.sleep(0.3)
        posted = time.monotonic()
        js.post(DID, "3kout", "Acme Cloud is down again, outage for hours, this is terrible")
        wait_for(lambda: slack.messages, timeout=20, what="the alert")
        latency = time.monotonic() - posted
        stop.set()
        runner.join(15)
        assert not runner.is_alive(), "run did not stop"
        assert rt.store.stream_cursor("bluesky_stream", "all") is not None
        rt.close()
    assert "down again" in slack.messages[0]["text"]
    assert latency < 10, f"alert took {latency:.1f}s"


def test_sources_shows_each_stream_within_80_columns(tmp_path: Path, http: HttpClient) -> None:
    db = tmp_path / "lp.db"
    path = tmp_path / "settings.toml"
    path.write_text(
        settings_text(db, {"hackernews": {}})
        + '[sources.bluesky_stream]\n[sources.mastodon_stream]\ninstances = ["mastodon.social"]\n'
    )
    store = Store(f"sqlite:///{db}")
    with FakeJetstream() as js:
        streams, stop = start(store, js, http)
        for i in range(3):
            js.post(DID, f"3k{i}", f"acme {i}")
        wait_for(lambda: store.count_mentions() == 3)
        stop.set()
        streams.join()
    store.record_stream_error("bluesky_stream", "all", "closed the connection (1006)")
    store.close()
    result = CliRunner().invoke(app, ["--settings", str(path), "sources"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "bluesky_stream" in result.output and "retrying" in result.output
    assert "closed the" in result.output
    assert "mastodon_stream" in result.output and "not run" in result.output
    assert result.output.count("hackernews") == 1  # polled sources still per brand
