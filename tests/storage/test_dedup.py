"""Near-duplicates: reposts and copies group under the earliest post, so one alert covers them."""

from __future__ import annotations

from datetime import timedelta

from storage import Store
from storage.dedup import dup_key, normalise
from tests.storage.factories import T0, mention, verdict

ORIGINAL = "Acme's checkout has been DOWN for 2 hours!!! https://status.acme.com/incidents/42"


def test_copies_differing_in_case_links_punctuation_and_handles_share_a_key() -> None:
    key = dup_key(ORIGINAL)
    assert key is not None
    copies = [
        "RT @acme_watch: Acme's checkout has been DOWN for 2 hours!!! https://t.co/xYz",
        "rt @someone: acme's checkout has been down for 2 hours",
        "Acme\u2019s   checkout has been down for 2 hours. http://bit.ly/abc",
        "ACME'S CHECKOUT HAS BEEN DOWN FOR 2 HOURS",
        "\uff21\uff43\uff4d\uff45's checkout has been down for 2 hours",  # full-width (NFKC)
    ]
    assert [dup_key(c) for c in copies] == [key] * len(copies)
    assert normalise("Thanks @bob, see www.acme.com") == normalise("thanks @alice see")


def test_different_words_or_nothing_left_give_different_or_no_keys() -> None:
    assert dup_key(ORIGINAL) != dup_key("Acme's checkout has been down for 3 hours")
    assert dup_key("https://acme.com") is None  # a bare link is not a text to compare
    assert dup_key("+1 !!!") is None


def test_retweet_and_cross_post_point_at_the_earliest_post(store: Store) -> None:
    tweet = mention(1, ORIGINAL, network="x", native_id="1001")
    retweet = mention(
        2,
        f"RT @acme_watch: {ORIGINAL.replace('https://status.acme.com/incidents/42', '')}",
        network="x",
        native_id="1002",
    )
    cross_post = mention(3, "acme's checkout has been down for 2 hours", network="reddit")
    unrelated = mention(4, "Acme's new pricing page looks great")
    ids = store.save_page("Acme", "x", [tweet, retweet], None)
    ids += store.save_page("Acme", "reddit", [cross_post, unrelated], None)

    by_id = {m.id: m for m in store.mentions(limit=10)}
    first, rt, cross, other = (by_id[i] for i in ids)
    assert first.duplicate_of is None
    assert rt.duplicate_of == first.id
    assert cross.duplicate_of == first.id
    assert other.duplicate_of is None


def test_an_earlier_copy_fetched_later_becomes_the_original(store: Store) -> None:
    """Networks are polled in any order: the group points at whoever posted first."""
    late_copy = mention(5, ORIGINAL, network="reddit", created_at=T0 + timedelta(hours=1))
    (copy_id,) = store.save_page("Acme", "reddit", [late_copy], None)
    earlier = mention(6, ORIGINAL, network="hackernews", native_id="hn6", created_at=T0)
    (original_id,) = store.save_page("Acme", "hackernews", [earlier], None)

    original, copy = store.get_mention(original_id), store.get_mention(copy_id)
    assert original is not None and copy is not None
    assert original.duplicate_of is None
    assert copy.duplicate_of == original_id


def test_an_earlier_copy_arriving_after_the_alert_does_not_alert_again(store: Store) -> None:
    (copy_id,) = store.save_page("Acme", "reddit", [mention(5, ORIGINAL)], None)
    store.save_triage([(copy_id, verdict())])
    assert store.enqueue_alerts([(copy_id, "default", "#alerts")], [copy_id]) == 1

    earlier = mention(6, ORIGINAL, network="hackernews", native_id="hn6", created_at=T0)
    (original_id,) = store.save_page("Acme", "hackernews", [earlier], None)
    assert [m.id for m in store.untriaged()] == [original_id]  # still triaged, for reading
    store.save_triage([(original_id, verdict())])
    assert store.unrouted() == []


def test_copies_in_one_page_group_under_the_earliest_whatever_their_order(store: Store) -> None:
    late = mention(1, ORIGINAL, created_at=T0 + timedelta(hours=2))
    early = mention(2, ORIGINAL, created_at=T0)
    middle = mention(3, ORIGINAL, created_at=T0 + timedelta(hours=1))
    ids = store.save_page("Acme", "reddit", [late, early, middle], None)

    assert len(ids) == 3  # in page order
    by_id = {m.id: m for m in store.mentions(limit=10)}
    assert [by_id[i].native_id for i in ids] == ["t3_1", "t3_2", "t3_3"]
    assert [by_id[i].duplicate_of for i in ids] == [ids[1], None, ids[1]]


def test_older_copies_in_one_page_take_over_in_turn_and_keep_the_routing(store: Store) -> None:
    """The stored original was routed; a page brings an older copy, then an older one still."""
    (routed_id,) = store.save_page("Acme", "reddit", [mention(1, ORIGINAL)], None)
    store.save_triage([(routed_id, verdict())])
    assert store.enqueue_alerts([(routed_id, "default", "#alerts")], [routed_id]) == 1

    older = mention(2, ORIGINAL, network="x", native_id="x2", created_at=T0 - timedelta(hours=1))
    oldest = mention(3, ORIGINAL, network="x", native_id="x3", created_at=T0 - timedelta(hours=2))
    older_id, oldest_id = store.save_page("Acme", "x", [older, oldest], None)

    by_id = {m.id: m for m in store.mentions(limit=10)}
    assert by_id[oldest_id].duplicate_of is None
    assert by_id[older_id].duplicate_of == oldest_id
    assert by_id[routed_id].duplicate_of == oldest_id
    store.save_triage([(older_id, verdict()), (oldest_id, verdict())])
    assert store.unrouted() == []  # the group was alerted once already: not again
