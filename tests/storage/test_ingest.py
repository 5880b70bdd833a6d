"""save_page: what a poll stores, and that a page and its cursor are kept together or not at all."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.mention import Metrics
from storage import Store
from storage.schema import mentions
from tests.storage.factories import T0, mention


def test_saving_the_same_page_twice_stores_nothing_new(store: Store) -> None:
    page = [mention(1), mention(2), mention(3)]
    first = store.save_page("Acme", "reddit", page, "c1", now=T0)
    assert len(first) == 3

    assert store.save_page("Acme", "reddit", page, "c1", now=T0) == []
    assert store.count_mentions() == 3
    assert sorted(m.native_id for m in store.mentions()) == ["t3_1", "t3_2", "t3_3"]


def test_a_post_seen_again_gets_fresh_reach_but_keeps_its_first_text(store: Store) -> None:
    (mention_id,) = store.save_page("Acme", "reddit", [mention(1, text="Acme is down")], None)
    later = mention(1, text="Acme is down [edited: fixed now]", metrics=Metrics(likes=900))
    store.save_page("Acme", "reddit", [later], None)

    stored = store.get_mention(mention_id)
    assert stored is not None
    assert stored.text == "Acme is down"
    assert stored.metrics.likes == 900
    assert stored.metrics.followers == 100  # not reported the second time: kept


def test_the_same_post_twice_in_one_page_is_stored_and_returned_once(store: Store) -> None:
    (stored_id,) = store.save_page("Acme", "reddit", [mention(1)], None)
    first = mention(2, text="Acme is down", metrics=Metrics(likes=5, followers=70))
    again = mention(2, text="Acme is down [edited]", metrics=Metrics(likes=9))
    seen = mention(1, metrics=Metrics(likes=40))
    seen_again = mention(1, metrics=Metrics(reposts=3))

    (new_id,) = store.save_page("Acme", "reddit", [first, seen, again, seen_again], None)

    assert store.count_mentions() == 2
    new, old = store.get_mention(new_id), store.get_mention(stored_id)
    assert new is not None and old is not None
    assert new.text == "Acme is down"  # the first copy's words
    assert new.metrics == Metrics(likes=9, followers=70)  # the latest reach reported
    assert old.metrics == Metrics(likes=40, reposts=3, followers=100)
    assert store.save_page("Globex", "reddit", [again, first, seen], None) == [new_id, stored_id]


def test_pages_bigger_than_one_query_list_are_saved_whole(store: Store) -> None:
    page = [mention(n) for n in range(1, 1201)]
    ids = store.save_page("Acme", "reddit", page, "c1")
    assert len(set(ids)) == 1200 and store.count_mentions() == 1200
    assert store.save_page("Acme", "reddit", page, "c2") == []
    assert store.save_page("Globex", "reddit", page[::-1], None) == ids[::-1]


def test_a_post_matching_two_brands_is_stored_once_and_linked_to_both(store: Store) -> None:
    post = mention(1, text="Switching from Acme to Globex after this outage")
    (acme,) = store.save_page("Acme", "reddit", [post], None)
    (globex,) = store.save_page("Globex", "reddit", [post], None)

    assert acme == globex
    assert store.count_mentions() == 1
    stored = store.get_mention(acme)
    assert stored is not None and sorted(stored.brands) == ["Acme", "Globex"]
    assert [m.id for m in store.mentions(brand="Globex")] == [acme]
    assert store.save_page("Globex", "reddit", [post], None) == []


def test_the_cursor_is_stored_with_its_page_and_none_keeps_the_old_one(store: Store) -> None:
    assert store.get_cursor("Acme", "reddit") is None
    store.save_page("Acme", "reddit", [mention(1)], "after-1")
    assert store.get_cursor("Acme", "reddit") == "after-1"
    store.save_page("Acme", "reddit", [mention(2)], None)
    assert store.get_cursor("Acme", "reddit") == "after-1"
    store.save_page("Acme", "reddit", [], "after-2")  # an empty last page still moves it
    assert store.get_cursor("Acme", "reddit") == "after-2"
    assert store.get_cursor("Globex", "reddit") is None
    assert store.get_cursor("Acme", "hackernews") is None


def test_a_page_that_fails_midway_keeps_neither_its_mentions_nor_its_cursor(
    store: Store,
) -> None:
    store.save_page("Acme", "reddit", [mention(1)], "c1")
    # A listener bug: no text. The NOT NULL column refuses it after two rows were written.
    broken = replace(mention(3), text=None)
    page = [mention(2), mention(1, metrics=Metrics(likes=500)), broken]

    with pytest.raises(IntegrityError):
        store.save_page("Acme", "reddit", page, "c2")

    assert store.get_cursor("Acme", "reddit") == "c1"
    assert [m.native_id for m in store.mentions()] == ["t3_1"]
    assert store.mentions()[0].metrics.likes == 1  # the refresh was rolled back too
    # The same page, fixed, goes in whole: nothing half-saved is in the way.
    assert len(store.save_page("Acme", "reddit", page[:2], "c2")) == 1
    assert store.get_cursor("Acme", "reddit") == "c2"


def test_times_come_back_as_aware_utc(store: Store) -> None:
    paris = timezone(timedelta(hours=2))
    created = T0.astimezone(paris)  # 14:00 in Paris is 12:00 UTC
    fetched = T0 + timedelta(hours=1)
    (mention_id,) = store.save_page(
        "Acme", "reddit", [mention(1, created_at=created)], None, now=fetched
    )
    stored = store.get_mention(mention_id)
    assert stored is not None
    assert stored.created_at.isoformat() == "2024-04-05T12:00:00+00:00"
    assert stored.fetched_at.isoformat() == "2024-04-05T13:00:00+00:00"
    assert stored.created_at.tzinfo == UTC and stored.fetched_at.tzinfo == UTC


def test_raw_fields_json_cannot_express_are_kept_as_text(store: Store) -> None:
    """A listener's raw dict with a datetime in it must not make its page (and cursor) stuck."""
    raw = {"id": "1", "created_time": T0, "score": 3.5, "tags": ["a"]}
    assert len(store.save_page("Acme", "facebook", [mention(1, raw=raw)], "c1")) == 1
    assert store.get_cursor("Acme", "facebook") == "c1"
    with store.engine.connect() as conn:
        stored = conn.execute(select(mentions.c.raw)).scalar_one()
    assert stored == {
        "id": "1",
        "created_time": "2024-04-05T12:00:00+00:00",
        "score": 3.5,
        "tags": ["a"],
    }
