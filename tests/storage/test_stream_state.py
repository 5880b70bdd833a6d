"""A stream batch: mentions for several brands and the stream's cursor, in one transaction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.mention import Mention
from storage import Store
from storage.streams import StreamHealth

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def post(native_id: str, text: str = "acme and globex") -> Mention:
    return Mention("bluesky", native_id, f"https://bsky.app/{native_id}", "alice", text, NOW)


def test_one_batch_links_each_brand_and_moves_the_cursor(store: Store) -> None:
    a, b = post("at://a"), post("at://b", "only acme")
    linked = store.save_stream_batch(
        "bluesky_stream",
        "all",
        {"Acme": [a, b], "Globex": [a]},
        "42",
        StreamHealth(NOW, 1.5, 300.0, 2.0),
        now=NOW,
    )
    assert len(linked["Acme"]) == 2 and len(linked["Globex"]) == 1
    assert linked["Globex"][0] in linked["Acme"]  # one row, two brands
    assert store.count_mentions() == 2
    assert store.stream_cursor("bluesky_stream", "all") == "42"
    [state] = store.stream_states()
    assert (state.lag_s, state.events_per_s, state.matched_per_s) == (1.5, 300.0, 2.0)
    assert state.connected_since == NOW
    assert {m.native_id: m.brands for m in store.mentions()}["at://a"] == ["Acme", "Globex"]


def test_a_replayed_batch_stores_and_links_nothing_twice(store: Store) -> None:
    batch = {"Acme": [post("at://a")], "Globex": [post("at://a")]}
    store.save_stream_batch("bluesky_stream", "all", batch, "1", StreamHealth())
    again = store.save_stream_batch("bluesky_stream", "all", batch, "2", StreamHealth())
    assert again == {"Acme": [], "Globex": []}
    assert store.count_mentions() == 1
    assert store.stream_cursor("bluesky_stream", "all") == "2"


def test_a_refused_batch_keeps_neither_mentions_nor_cursor(store: Store) -> None:
    store.save_stream_batch("bluesky_stream", "all", {}, "7", StreamHealth())
    unwritable = object()  # fails at the cursor's write, after the mentions' INSERTs
    with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises
        store.save_stream_batch(
            "bluesky_stream",
            "all",
            {"Acme": [post("at://a")], "Globex": [post("at://b")]},
            unwritable,  # type: ignore[arg-type]
            StreamHealth(),
        )
    assert store.count_mentions() == 0
    assert store.stream_cursor("bluesky_stream", "all") == "7"


def test_errors_are_recorded_and_cleared_without_touching_the_cursor(store: Store) -> None:
    store.save_stream_batch("mastodon_stream", "mastodon.social", {}, "99", StreamHealth(NOW))
    store.record_stream_error("mastodon_stream", "mastodon.social", "closed the connection", NOW)
    [state] = store.stream_states()
    assert state.last_error == "closed the connection" and state.last_error_at == NOW
    assert state.connected_since is None and state.cursor == "99"
    store.record_stream_error("mastodon_stream", "mastodon.social", None, NOW)
    assert store.stream_states()[0].last_error is None
    assert store.stream_states()[0].last_error_at == NOW  # when it last went wrong stays


def test_channels_of_a_stream_keep_their_own_cursors(store: Store) -> None:
    store.save_stream_batch("reddit_new", "posts", {}, "p", StreamHealth())
    store.save_stream_batch("reddit_new", "comments", {}, "c", StreamHealth())
    assert store.stream_cursor("reddit_new", "posts") == "p"
    assert store.stream_cursor("reddit_new", "comments") == "c"
    assert store.stream_cursor("reddit_new", "other") is None
