"""What the radar counts from the database and what it remembers about a spike."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from core.mention import Mention, Metrics
from storage import Store
from storage.labels import add_label
from storage.spikes import (
    ACTIVE,
    ENDED,
    PENDING,
    SpikeRecord,
    Track,
    delete_spike,
    first_seen,
    load_rows,
    open_spikes,
    recent_spikes,
    save_spike,
)
from tests.storage.factories import verdict

T = datetime(2026, 5, 6, 14, 0, tzinfo=UTC)


def post(n: int, text: str, minutes: float, network: str = "x", **kw: object) -> Mention:
    return Mention(
        network=network,
        native_id=f"{network}-{n}",
        url=f"https://example.com/{network}/{n}",
        text=text,
        created_at=T + timedelta(minutes=minutes),
        metrics=Metrics(followers=10 * n),
        **{"author": f"user{n}", **kw},  # type: ignore[arg-type]
    )


def test_counts_leave_out_copies_and_mentions_labelled_not_relevant(store: Store) -> None:
    ids = store.save_page(
        "Acme",
        "x",
        [
            post(1, "Acme login is down for everyone", 1),
            post(2, "RT @user1: Acme login is down for everyone", 2),  # a copy
            # user1's cross-post on Bluesky: the same person, the same words
            post(3, "Acme login is down for everyone", 3, network="bluesky",
                 author="user1.bsky.social"),
            post(4, "Acme is hiring in Berlin", 4),  # the team says: not about us
            post(5, "Acme support answered in minutes", 5),
            post(6, "Acme outage again", 20),  # outside the range asked
        ],
        None,
    )
    store.save_triage([(i, verdict("negative")) for i in ids[:4]])
    store.save_triage([(ids[4], verdict("positive"))])
    add_label(store, ids[3], "relevant", False, actor="ana")

    rows = load_rows(store, "Acme", [(T, T + timedelta(minutes=15))])

    assert [r.text for r in rows] == [
        "Acme login is down for everyone",
        "Acme support answered in minutes",
    ]
    assert [r.sentiment for r in rows] == ["negative", "positive"]
    assert rows[0].followers == 10 and rows[0].network == "x"
    assert load_rows(store, "Globex", [(T, T + timedelta(hours=1))]) == []


def test_a_label_that_makes_a_mention_relevant_again_counts_it(store: Store) -> None:
    ids = store.save_page("Acme", "x", [post(1, "Acme launches a new plan", 1)], None)
    add_label(store, ids[0], "relevant", False, actor="ana", at=T)
    assert load_rows(store, "Acme", [(T, T + timedelta(hours=1))]) == []
    add_label(store, ids[0], "relevant", True, actor="ben", at=T + timedelta(minutes=5))
    assert len(load_rows(store, "Acme", [(T, T + timedelta(hours=1))])) == 1


def test_several_ranges_in_one_read_and_first_seen(store: Store) -> None:
    store.save_page(
        "Acme", "x", [post(i, f"Acme post {i}", minutes=60 * i) for i in range(1, 6)], None
    )
    hour = timedelta(hours=1)
    rows = load_rows(store, "Acme", [(T + hour, T + 2 * hour), (T + 4 * hour, T + 5 * hour)])
    assert [r.text for r in rows] == ["Acme post 1", "Acme post 4"]
    assert first_seen(store, "Acme") == T + hour
    assert first_seen(store, "Globex") is None
    with pytest.raises(ValueError, match="timezone-aware"):
        load_rows(store, "Acme", [(T.replace(tzinfo=None), T.replace(tzinfo=None) + hour)])


def test_a_spike_row_keeps_its_life_cycle_across_reopening_the_store(url: str) -> None:
    store = Store(url)
    track = Track(
        phase=ACTIVE,
        started_at=T,
        confirmed_at=T + timedelta(minutes=30),
        streak=2,
        calm=1,
        peak=8.4,
        peak_at=T + timedelta(minutes=15),
        last_window=T + timedelta(minutes=45),
    )
    record = save_spike(
        store,
        SpikeRecord(
            "Acme",
            "brand",
            "Acme",
            track,
            updated_at=T + timedelta(hours=1),
            baseline=5.0,
            observed=42,
            ratio=8.4,
            negative_share=0.7,
            details={"posted": True, "replies": ["queued reply"]},
            channel="#crisis",
            channel_id="C0123",
            ts="1712345678.000100",
        ),
    )
    store.close()

    again = Store(url)
    found = open_spikes(again, "Acme", ended_since=T)
    assert found == [record]
    assert found[0].track == track
    assert found[0].details["replies"] == ["queued reply"]

    ended = replace(
        track,
        phase=ENDED,
        ended_at=T + timedelta(hours=2),
        calm=0,
        last_window=T + timedelta(hours=2),
    )
    save_spike(again, replace(record, track=ended))
    assert open_spikes(again, "Acme", ended_since=T + timedelta(hours=3)) == []
    assert [s.track.phase for s in open_spikes(again, "Acme", ended_since=T)] == [ENDED]
    assert [s.id for s in recent_spikes(again, "Acme")] == [record.id]
    again.close()


def test_an_unconfirmed_run_is_forgotten_but_a_confirmed_spike_never_is(store: Store) -> None:
    pending = save_spike(
        store,
        SpikeRecord("Acme", "term", "#acmedown", Track(PENDING, started_at=T, streak=1), T),
    )
    confirmed = save_spike(
        store,
        SpikeRecord("Acme", "brand", "Acme", Track(ACTIVE, started_at=T, confirmed_at=T), T),
    )
    assert pending.id is not None and confirmed.id is not None
    delete_spike(store, pending.id)
    delete_spike(store, confirmed.id)  # refused: people were told of it
    assert [s.key for s in open_spikes(store, "Acme", ended_since=T)] == ["Acme"]
    assert recent_spikes(store) == [confirmed]
    with pytest.raises(ValueError, match="quiet"):
        save_spike(store, SpikeRecord("Acme", "brand", "Acme", Track(), T))
