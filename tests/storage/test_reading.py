"""What `listenpost mentions`, doctor and the scheduler read back."""

from __future__ import annotations

from datetime import timedelta

from storage import Store
from tests.storage.factories import T0, mention, verdict


def test_mentions_are_newest_first_with_triage_and_filters(store: Store) -> None:
    # Saved out of order: what counts is when they were posted.
    store.save_page("Acme", "reddit", [mention(3), mention(1)], None)
    store.save_page("Globex", "reddit", [mention(2)], None)
    newest = store.mentions()
    assert [m.native_id for m in newest] == ["t3_3", "t3_2", "t3_1"]
    assert all(m.triage is None for m in newest)

    store.save_triage([(newest[0].id, verdict("negative", "critical"))])
    top = store.mentions(limit=1)
    assert [m.native_id for m in top] == ["t3_3"]
    assert top[0].triage is not None and top[0].triage.urgency == "critical"
    assert top[0].triage.sentiment_scores["negative"] == 0.9
    assert top[0].brands == ["Acme"]

    assert [m.native_id for m in store.mentions(brand="Acme")] == ["t3_3", "t3_1"]
    since = T0 + timedelta(minutes=2)
    assert [m.native_id for m in store.mentions(since=since)] == ["t3_3", "t3_2"]
    assert store.mentions(brand="Initech") == []


def test_a_mention_reads_back_as_it_was_fetched(store: Store) -> None:
    post = mention(
        1, title="Acme outage", lang="en", in_reply_to="t3_0", raw={"subreddit": "acme", "ups": 4}
    )
    (mention_id,) = store.save_page("Acme", "reddit", [post], None)
    stored = store.get_mention(mention_id)
    assert stored is not None
    assert (stored.network, stored.native_id, stored.url, stored.author, stored.text) == (
        post.network,
        post.native_id,
        post.url,
        post.author,
        post.text,
    )
    assert (stored.title, stored.lang, stored.in_reply_to) == ("Acme outage", "en", "t3_0")
    assert stored.metrics == post.metrics
    assert stored.created_at == post.created_at
    assert store.get_mention(mention_id + 1000) is None
    assert store.count_mentions() == 1


def test_source_health_is_kept_per_brand_and_source(store: Store) -> None:
    store.save_page("Acme", "reddit", [], "after-9")
    store.record_error("Acme", "reddit", "rate limited", T0, disabled_until=T0 + timedelta(hours=1))
    store.record_success("Acme", "hackernews", T0)

    states = {(s.brand, s.source): s for s in store.source_states()}
    reddit = states["Acme", "reddit"]
    assert reddit.cursor == "after-9"  # health updates never touch the cursor
    assert reddit.last_error == "rate limited" and reddit.last_error_at == T0
    assert reddit.disabled_until == T0 + timedelta(hours=1)
    assert reddit.disabled_until.tzinfo is not None
    assert reddit.last_success is None
    assert states["Acme", "hackernews"].last_success == T0

    store.record_success("Acme", "reddit", T0 + timedelta(hours=2))
    (reddit,) = [s for s in store.source_states() if s.source == "reddit"]
    assert reddit.last_success == T0 + timedelta(hours=2)
    assert reddit.disabled_until is None
    assert reddit.last_error == "rate limited"  # history: when it last failed, and why
    assert reddit.cursor == "after-9"
