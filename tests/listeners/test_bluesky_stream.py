"""Jetstream: events into posts, instances in turn, and where a reconnect resumes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakes.jetstream import FakeJetstream
from listeners.bluesky_stream import BlueskyStreamListener, BlueskyStreamSettings
from listeners.http import HttpClient
from listenpost import config
from tests.listeners.stream_harness import Run, wait_for

DID = "did:plc:alice"


@pytest.fixture
def js() -> Iterator[FakeJetstream]:
    with FakeJetstream() as fake:
        yield fake


def listener(http: HttpClient, *urls: str, **settings: object) -> BlueskyStreamListener:
    return BlueskyStreamListener(
        BlueskyStreamSettings(url=list(urls), read_timeout=1, max_backoff=0.2, **settings),
        http,
        {},
    )


def test_posts_edits_and_handles_are_heard_the_rest_only_counted(
    js: FakeJetstream, http: HttpClient
) -> None:
    run = Run(listener(http, js.url), "all", None).wait_ready()
    js.post(DID, "3ka", "first acme post", langs=["en", "fr"])
    js.identity(DID, "alice.bsky.social")
    js.post(DID, "3kb", "replying about acme", reply_to=f"at://{DID}/app.bsky.feed.post/3ka")
    js.post(DID, "3ka", "first acme post, edited", operation="update")
    js.delete(DID, "3kb")
    js.account(DID, active=False)
    js.post(DID, "3kc", "a like is not a post", collection="app.bsky.feed.like")
    wait_for(lambda: sum(b.events for b in run.batches) >= 6)
    run.finish()

    heard = [h for b in run.batches for h in b.posts]
    assert [h.mention.text for h in heard] == [
        "first acme post",
        "replying about acme",
        "first acme post, edited",
    ]
    first, reply, edit = heard
    assert first.mention.native_id == f"at://{DID}/app.bsky.feed.post/3ka"
    assert first.mention.url == f"https://bsky.app/profile/{DID}/post/3ka"  # handle not known
    assert first.langs == ("en", "fr") and first.mention.lang == "en"
    assert reply.mention.author == "alice.bsky.social"  # learnt from the identity event
    assert reply.mention.url == "https://bsky.app/profile/alice.bsky.social/post/3kb"
    assert reply.mention.in_reply_to == f"at://{DID}/app.bsky.feed.post/3ka"
    assert edit.mention.native_id == first.mention.native_id  # stored once
    assert sum(b.events for b in run.batches) == 6  # the like was never sent (wantedCollections)
    assert js.connections[0].query["wantedCollections"] == ["app.bsky.feed.post"]
    assert json.loads(run.cursor)["time_us"] == js.events[-2]["time_us"]


def test_instances_are_tried_in_turn(js: FakeJetstream, http: HttpClient) -> None:
    with FakeJetstream() as down:
        down.refuse()
        run = Run(listener(http, down.url, js.url), "all", None).wait_ready()
        time_us = js.post(DID, "3ka", "acme")
        wait_for(lambda: run.ids)
        run.finish()
    assert "503" in run.errors[0]
    assert json.loads(run.cursor) == {"time_us": time_us, "instance": js.url}


def test_a_cursor_resumes_exactly_on_its_instance_and_rewinds_on_another(
    js: FakeJetstream, http: HttpClient
) -> None:
    same = json.dumps({"time_us": 1_700_000_000_000_000, "instance": js.url})
    Run(listener(http, js.url, rewind=5), "all", same).wait_ready().finish()
    assert js.connections[-1].cursor == 1_700_000_000_000_000

    other = json.dumps({"time_us": 1_700_000_000_000_000, "instance": "wss://elsewhere/subscribe"})
    Run(listener(http, js.url, rewind=5), "all", other).wait_ready().finish()
    assert js.connections[-1].cursor == 1_700_000_000_000_000 - 5_000_000


def test_an_old_plain_cursor_and_garbage_are_read(js: FakeJetstream, http: HttpClient) -> None:
    Run(listener(http, js.url, rewind=1), "all", "1700000000000000").wait_ready().finish()
    assert js.connections[-1].cursor == 1_700_000_000_000_000 - 1_000_000
    Run(listener(http, js.url), "all", "not a cursor").wait_ready().finish()
    assert js.connections[-1].cursor is None  # from now


def test_url_takes_a_host_or_a_list() -> None:
    assert BlueskyStreamSettings(url="jetstream.example").url == [
        "wss://jetstream.example/subscribe"
    ]


def test_a_bad_instance_is_one_line_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('[sources.bluesky_stream]\nurl = ["https://jetstream.example/subscribe"]\n')
    with pytest.raises(config.SettingsError) as err:
        config.load(path)
    message = str(err.value)
    assert "sources.bluesky_stream.url" in message and "\n" not in message
    path.write_text("[sources.bluesky_stream]\nrewind = -1\n")
    with pytest.raises(config.SettingsError, match=r"sources\.bluesky_stream\.rewind"):
        config.load(path)
