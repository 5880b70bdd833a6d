"""Mastodon SSE: events into posts, the missed stretch from the REST timeline, tokens."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from fakes.mastodon import status, tagged
from fakes.mastodon_stream import FakeMastodonStreaming
from listeners.errors import AuthError
from listeners.http import HttpClient
from listeners.mastodon_stream import MastodonStreamListener, MastodonStreamSettings, parse_events
from tests.listeners.stream_harness import Run, wait_for


@pytest.fixture
def md() -> Iterator[FakeMastodonStreaming]:
    with FakeMastodonStreaming(heartbeat=0.1) as fake:
        yield fake


def listener(
    http: HttpClient, *instances: str, env: dict[str, str] | None = None, **settings: object
) -> MastodonStreamListener:
    return MastodonStreamListener(
        MastodonStreamSettings(
            instances=list(instances), read_timeout=1, max_backoff=0.2, **settings
        ),
        http,
        env or {},
    )


def start(stream: MastodonStreamListener, cursor: str | None) -> Run:
    return Run(stream, stream.channels()[0], cursor)


def test_server_sent_events_are_parsed_as_mastodon_writes_them() -> None:
    lines = [
        ":)",
        "event: update",
        'data: {"a":',
        "data: 1}",
        "",
        ":thump",
        "event: delete",
        "data: 42",
        "",
    ]
    assert list(parse_events(iter(lines))) == [
        None,
        ("update", '{"a":\n1}'),
        None,
        ("delete", "42"),
    ]


def test_updates_are_heard_deletes_and_heartbeats_counted(
    md: FakeMastodonStreaming, http: HttpClient
) -> None:
    run = start(listener(http, md.url), None).wait_ready()
    first = status(time.time(), "<p>Acme is <b>down</b></p>", spoiler_text="outage", language="de")
    md.add(first)
    md.delete(first["id"])
    wait_for(lambda: sum(b.events for b in run.batches) >= 2)
    run.finish()
    [heard] = [h for b in run.batches for h in b.posts]
    assert heard.mention.native_id == first["uri"]
    assert heard.mention.text == "Acme is down" and heard.mention.title == "outage"
    assert heard.langs == ("de",)
    assert heard.text == "outage\x1fAcme is down"  # title and body, never bridged by a phrase
    assert run.cursor == first["id"]


def test_the_stretch_missed_while_disconnected_is_read_from_the_timeline(
    md: FakeMastodonStreaming, http: HttpClient
) -> None:
    first = start(listener(http, md.url), None).wait_ready()
    early = status(time.time(), "<p>acme before</p>")
    md.add(early)
    first.wait_heard([early["uri"]]).finish()
    missed = [status(time.time(), f"<p>acme missed {i}</p>") for i in range(45)]  # > one page
    md.add(*missed)

    second = start(listener(http, md.url), first.cursor).wait_ready()
    live = status(time.time(), "<p>acme live</p>")
    md.add(live)
    second.wait_heard([m["uri"] for m in missed] + [live["uri"]]).finish()
    assert len(second.ids) == len(set(second.ids))
    assert md.timeline_reads and all("min_id" in q for q in md.timeline_reads)
    assert second.cursor == live["id"]


def test_hashtag_channels_stream_their_tag_only(
    md: FakeMastodonStreaming, http: HttpClient
) -> None:
    stream = listener(http, md.url, hashtags=["#Acme", "globex"])
    host = md.url.removeprefix("http://")
    assert stream.channels() == [f"{host} #acme", f"{host} #globex"]
    run = Run(stream, f"{host} #acme", None).wait_ready()
    tagged_post = status(time.time(), tagged("new release", "acme"), tags=["acme"])
    md.add(status(time.time(), tagged("other", "globex"), tags=["globex"]), tagged_post)
    run.wait_heard([tagged_post["uri"]]).finish()
    assert run.ids == [tagged_post["uri"]]
    assert md.streams_opened[0] == {"tag": ["acme"]}


def test_the_token_goes_to_the_first_instance_only(http: HttpClient) -> None:
    with FakeMastodonStreaming(token="secret-token") as home, FakeMastodonStreaming() as other:
        env = {"MASTODON_ACCESS_TOKEN": "secret-token"}
        stream = listener(http, home.url, other.url, env=env)
        assert stream._headers(home.url) == {"Authorization": "Bearer secret-token"}
        assert stream._headers(other.url) is None
        assert len(set(stream.channels())) == 2  # one channel per instance, ports and all
        Run(stream, stream.channels()[0], None).wait_ready().finish()
        Run(stream, stream.channels()[1], None).wait_ready().finish()


def test_an_instance_requiring_sign_in_is_an_auth_error(http: HttpClient) -> None:
    with FakeMastodonStreaming(token="secret-token") as locked:
        run = start(listener(http, locked.url), None)
        wait_for(lambda: run.error is not None)
        assert isinstance(run.error, AuthError)
        assert "secret-token" not in str(run.error)
