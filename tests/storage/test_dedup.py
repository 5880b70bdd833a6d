"""Near-duplicates: reposts and copies group under the earliest post, so one alert covers them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from core.mention import Mention
from storage import Store
from storage.dedup import dup_key, normalise
from tests.storage.factories import T0, mention, verdict

AUTHOR = "acme_watch"
ORIGINAL = "Acme's checkout has been DOWN for 2 hours!!! https://status.acme.com/incidents/42"


def same_author(n: int, **overrides: Any) -> Mention:
    """Post `n`: the same author posting the same words (a cross-post, or posted again)."""
    return mention(n, ORIGINAL, author=AUTHOR, **overrides)


def test_copies_differing_in_case_links_punctuation_and_handles_share_a_key() -> None:
    key = dup_key("acme_watch", ORIGINAL)
    assert key is not None
    copies = [
        # (author, text): the author's own cross-posts, and reposts of the author by anyone
        ("someone", "RT @acme_watch: Acme's checkout has been DOWN for 2 hours!!! https://t.co/xYz"),
        ("someone", "rt @Acme_Watch: acme's checkout has been down for 2 hours"),
        ("u/acme_watch", "Acme\u2019s   checkout has been down for 2 hours. http://bit.ly/abc"),
        ("acme_watch@mastodon.social", "ACME'S CHECKOUT HAS BEEN DOWN FOR 2 HOURS"),
        ("acme-watch.bsky.social", "\uff21\uff43\uff4d\uff45's checkout has been down for 2 hours"),
        ("@ACME_WATCH", ORIGINAL),
    ]
    assert [dup_key(a, c) for a, c in copies] == [key] * len(copies)
    assert dup_key("someone", ORIGINAL, repost_of="acme_watch") == key  # a marked repost
    assert normalise("Thanks @bob, see www.acme.com") == normalise("thanks @alice see")


def test_different_words_or_nothing_left_give_different_or_no_keys() -> None:
    assert dup_key("bob", ORIGINAL) != dup_key("bob", "Acme's checkout has been down for 3 hours")
    assert dup_key("bob", "https://acme.com") is None  # a bare link is not a text to compare
    assert dup_key("bob", "+1 !!!") is None
    assert dup_key("", ORIGINAL) is None  # nobody to say it was the same person


def test_different_people_saying_the_same_thing_are_different_posts() -> None:
    assert dup_key("alice", ORIGINAL) != dup_key("bob", ORIGINAL)
    # A repost of someone else is not a copy of yours.
    assert dup_key("alice", f"RT @carol: {ORIGINAL}") != dup_key("alice", ORIGINAL)


def test_an_article_syndicated_under_one_link_is_one_post() -> None:
    def article(feed: str, url: str, title: str = "Acme recalls its kettles") -> str | None:
        return dup_key(feed, "", title, network="rss", url=url)

    key = article("Daily News", "https://news.example.com/acme-recall?utm_source=rss")
    assert key is not None
    assert article("Wire feed", "http://www.news.example.com/acme-recall/#top") == key
    assert article("Daily News", "https://news.example.com/other-story") != key
    # Items that only share a feed's fallback link keep apart by their titles.
    assert article("Daily News", "https://news.example.com/acme-recall", "Other news") != key


def test_retweet_and_cross_post_point_at_the_earliest_post(store: Store) -> None:
    tweet = mention(1, ORIGINAL, network="x", native_id="1001", author="acme_watch")
    retweet = mention(
        2,
        f"RT @acme_watch: {ORIGINAL.replace('https://status.acme.com/incidents/42', '')}",
        network="x",
        native_id="1002",
    )
    cross_post = mention(
        3, "acme's checkout has been down for 2 hours", network="reddit", author="acme_watch"
    )
    unrelated = mention(4, "Acme's new pricing page looks great", author="acme_watch")
    ids = store.save_page("Acme", "x", [tweet, retweet], None)
    ids += store.save_page("Acme", "reddit", [cross_post, unrelated], None)

    by_id = {m.id: m for m in store.mentions(limit=10)}
    first, rt, cross, other = (by_id[i] for i in ids)
    assert first.duplicate_of is None
    assert rt.duplicate_of == first.id
    assert cross.duplicate_of == first.id
    assert other.duplicate_of is None


def test_thirty_people_posting_the_same_sentence_are_thirty_mentions(store: Store) -> None:
    """A storm is many voices: only the same author's cross-post and a repost are copies."""
    sentence = "Is Acme down? Checkout keeps failing for me"
    voices = [mention(n, sentence, author=f"customer{n}") for n in range(1, 31)]
    ids = store.save_page("Acme", "reddit", voices, None)
    cross = mention(
        40, sentence, network="mastodon", native_id="m40", author="customer1@mastodon.social"
    )
    rt = mention(41, f"RT @customer2: {sentence}", network="x", native_id="x41", author="fan")
    cross_id, rt_id = store.save_page("Acme", "x", [cross, rt], None)

    by_id = {m.id: m for m in store.mentions(limit=100)}
    assert [by_id[i].duplicate_of for i in ids] == [None] * 30
    assert by_id[cross_id].duplicate_of == ids[0]
    assert by_id[rt_id].duplicate_of == ids[1]


def test_an_earlier_copy_fetched_later_becomes_the_original(store: Store) -> None:
    """Networks are polled in any order: the group points at whoever posted first."""
    late_copy = same_author(5, network="reddit", created_at=T0 + timedelta(hours=1))
    (copy_id,) = store.save_page("Acme", "reddit", [late_copy], None)
    earlier = same_author(6, network="hackernews", native_id="hn6", created_at=T0)
    (original_id,) = store.save_page("Acme", "hackernews", [earlier], None)

    original, copy = store.get_mention(original_id), store.get_mention(copy_id)
    assert original is not None and copy is not None
    assert original.duplicate_of is None
    assert copy.duplicate_of == original_id


def test_an_earlier_copy_arriving_after_the_alert_does_not_alert_again(store: Store) -> None:
    (copy_id,) = store.save_page("Acme", "reddit", [same_author(5)], None)
    store.save_triage([(copy_id, verdict())])
    assert store.enqueue_alerts([(copy_id, "default", "#alerts")], [copy_id]) == 1

    earlier = same_author(6, network="hackernews", native_id="hn6", created_at=T0)
    (original_id,) = store.save_page("Acme", "hackernews", [earlier], None)
    assert [m.id for m in store.untriaged()] == [original_id]  # still triaged, for reading
    store.save_triage([(original_id, verdict())])
    assert store.unrouted() == []


def test_copies_in_one_page_group_under_the_earliest_whatever_their_order(store: Store) -> None:
    late = same_author(1, created_at=T0 + timedelta(hours=2))
    early = same_author(2, created_at=T0)
    middle = same_author(3, created_at=T0 + timedelta(hours=1))
    ids = store.save_page("Acme", "reddit", [late, early, middle], None)

    assert len(ids) == 3  # in page order
    by_id = {m.id: m for m in store.mentions(limit=10)}
    assert [by_id[i].native_id for i in ids] == ["t3_1", "t3_2", "t3_3"]
    assert [by_id[i].duplicate_of for i in ids] == [ids[1], None, ids[1]]


def test_older_copies_in_one_page_take_over_in_turn_and_keep_the_routing(store: Store) -> None:
    """The stored original was routed; a page brings an older copy, then an older one still."""
    (routed_id,) = store.save_page("Acme", "reddit", [same_author(1)], None)
    store.save_triage([(routed_id, verdict())])
    assert store.enqueue_alerts([(routed_id, "default", "#alerts")], [routed_id]) == 1

    older = same_author(2, network="x", native_id="x2", created_at=T0 - timedelta(hours=1))
    oldest = same_author(3, network="x", native_id="x3", created_at=T0 - timedelta(hours=2))
    older_id, oldest_id = store.save_page("Acme", "x", [older, oldest], None)

    by_id = {m.id: m for m in store.mentions(limit=10)}
    assert by_id[oldest_id].duplicate_of is None
    assert by_id[older_id].duplicate_of == oldest_id
    assert by_id[routed_id].duplicate_of == oldest_id
    store.save_triage([(older_id, verdict()), (oldest_id, verdict())])
    assert store.unrouted() == []  # the group was alerted once already: not again
