"""The figures digests and reports show: counted once, without copies or what the team rejected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.mention import Metrics
from storage import Store, stats
from storage.labels import add_label
from storage.schema import cases, mention_topics
from tests.storage.factories import T0, mention, verdict

DAY = timedelta(days=1)
SINCE, UNTIL = T0 - DAY, T0 + DAY


def _ids(store: Store, brand: str, *posts: object) -> list[int]:
    return store.save_page(brand, "reddit", list(posts), None)  # type: ignore[arg-type]


def test_volume_counts_per_bucket_and_sentiment_without_copies_or_rejected(store: Store) -> None:
    a1, a2, a3 = _ids(
        store,
        "Acme",
        mention(1),  # 12:01
        mention(70, text="Acme login broken again"),  # 13:10
        mention(75, text="Acme is great"),  # 13:15
    )
    # A retweet of post 70 on another network: its words, later.
    (copy,) = _ids(
        store,
        "Acme",
        mention(80, text="RT @user70: Acme login broken again", network="x", native_id="9"),
    )
    (rejected,) = _ids(store, "Acme", mention(90, text="Acme the cartoon company"))
    (other,) = _ids(store, "Globex", mention(5, text="Globex is fine"))
    store.save_triage(
        [
            (a1, verdict("negative")),
            (a2, verdict("negative")),
            (a3, verdict("positive")),
            (copy, verdict("negative")),
            (rejected, verdict("negative")),
            (other, verdict("neutral")),
        ]
    )
    add_label(store, rejected, "relevant", False, actor="ana")
    add_label(store, a1, "sentiment", "neutral", actor="ana")  # the team overrides the model

    rows = stats.volume(store, SINCE, UNTIL, bucket="hour")
    assert rows == [
        (T0, "Acme", 1, 0, 1, 0),
        (T0, "Globex", 1, 0, 1, 0),
        (T0 + timedelta(hours=1), "Acme", 2, 1, 0, 1),
    ]
    daily = stats.volume(store, SINCE, UNTIL, bucket="day", brands=["Acme"])
    assert daily == [(T0.replace(hour=0), "Acme", 3, 1, 1, 1)]
    assert stats.volume(store, T0 + timedelta(hours=2), UNTIL) == []


def test_a_relabel_back_to_relevant_counts_again(store: Store) -> None:
    (mid,) = _ids(store, "Acme", mention(1))
    add_label(store, mid, "relevant", False, actor="ana", at=T0)
    assert stats.volume(store, SINCE, UNTIL) == []
    add_label(store, mid, "relevant", True, actor="bo", at=T0 + timedelta(minutes=5))
    assert [r.total for r in stats.volume(store, SINCE, UNTIL)] == [1]


def test_untriaged_mentions_count_in_total_only_and_filled_buckets_cover_the_window(
    store: Store,
) -> None:
    _ids(store, "Acme", mention(1))
    rows = stats.volume(store, SINCE, UNTIL, bucket="hour")
    assert rows == [(T0, "Acme", 1, 0, 0, 0)]
    filled = stats.fill_buckets(
        rows, T0 - timedelta(hours=2), T0 + timedelta(hours=2), "hour", ["Acme", "Globex"]
    )
    assert [(r.bucket.hour, r.brand, r.total) for r in filled] == [
        (10, "Acme", 0),
        (10, "Globex", 0),
        (11, "Acme", 0),
        (11, "Globex", 0),
        (12, "Acme", 1),
        (12, "Globex", 0),
        (13, "Acme", 0),
        (13, "Globex", 0),
    ]


def test_weeks_start_on_monday() -> None:
    friday = datetime(2024, 4, 5, 17, 30, tzinfo=UTC)
    assert stats.floor(friday, "week") == datetime(2024, 4, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="bucket"):
        stats.volume(None, SINCE, UNTIL, bucket="month")  # type: ignore[arg-type]


def test_categories_use_labels_over_the_model(store: Store) -> None:
    a, b = _ids(store, "Acme", mention(1), mention(2, text="Acme billing charged twice"))
    store.save_triage([(a, verdict("negative")), (b, verdict("negative"))])  # both "outage"
    add_label(store, b, "category", ["billing", "complaint"], actor="ana")
    rows = stats.categories(store, SINCE, UNTIL)
    assert sorted(rows) == [
        ("Acme", "billing", 1, 1),
        ("Acme", "complaint", 1, 1),
        ("Acme", "outage", 1, 1),
    ]


def test_top_authors_rank_by_reach_followers_else_engagement(store: Store) -> None:
    _ids(
        store,
        "Acme",
        mention(1, author="influencer", metrics=Metrics(followers=250_000)),
        mention(2, author="viral", metrics=Metrics(likes=9_000, reposts=3_000)),
        mention(3, author="regular", metrics=Metrics(followers=40, likes=10_000)),
        mention(4, author="regular", text="Acme again", metrics=Metrics(followers=45)),
    )
    # The same post linked to a second brand: one post, two brands.
    _ids(store, "Globex", mention(3, author="regular", metrics=Metrics(followers=40)))
    top = stats.top_authors(store, SINCE, UNTIL, limit=3)
    assert [(a.author, a.reach, a.mentions) for a in top] == [
        ("influencer", 250_000, 1),
        ("viral", 12_000, 1),
        ("regular", 45, 2),
    ]
    assert top[2].brands == ("Acme", "Globex")
    assert Metrics().reach() == 0


def test_share_of_voice_compares_brands_including_silent_ones(store: Store) -> None:
    acme = _ids(store, "Acme", mention(1), mention(2, text="Acme two"), mention(3, text="x3 Acme"))
    (chrome,) = _ids(store, "Chrome", mention(4, text="Chrome crashed"))
    store.save_triage([(acme[0], verdict("positive")), (chrome, verdict("negative"))])
    rows = stats.share_of_voice(store, SINCE, UNTIL, ["Acme", "Chrome", "Safari"])
    assert [(r.brand, r.mentions, round(r.share, 2)) for r in rows] == [
        ("Acme", 3, 0.75),
        ("Chrome", 1, 0.25),
        ("Safari", 0, 0.0),
    ]
    assert rows[0].net_sentiment == 1.0 and rows[1].net_sentiment == -1.0
    assert rows[2].net_sentiment == 0.0


def test_topics_count_what_ingest_tagged(store: Store) -> None:
    a, b = _ids(store, "Acme", mention(1), mention(2, text="Acme sync"))
    store.save_triage([(a, verdict("negative"))])
    with store.engine.begin() as conn:
        conn.execute(
            mention_topics.insert(),
            [
                {"mention_id": a, "brand": "Acme", "topic": "sync"},
                {"mention_id": b, "brand": "Acme", "topic": "sync"},
                {"mention_id": b, "brand": "Acme", "topic": "mobile"},
            ],
        )
    assert stats.topics(store, SINCE, UNTIL) == [
        ("Acme", "sync", 2, 1, 0, 0),
        ("Acme", "mobile", 1, 0, 0, 0),
    ]


def _case(store: Store, mention_id: int, route: str, opened: timedelta, **times: timedelta) -> None:
    at = {k: T0 + v for k, v in times.items()}
    with store.engine.begin() as conn:
        conn.execute(
            cases.insert().values(
                mention_id=mention_id,
                route=route,
                status="resolved" if "resolved_at" in at else "open",
                opened_at=T0 + opened,
                updated_at=T0,
                **at,
            )
        )


def test_case_times_and_breaches(store: Store) -> None:
    ids = _ids(store, "Acme", *(mention(n, text=f"Acme case {n}") for n in range(1, 6)))
    m = timedelta(minutes=1)
    _case(store, ids[0], "support", 0 * m, first_response_at=5 * m, resolved_at=60 * m)
    _case(store, ids[1], "support", 0 * m, first_response_at=15 * m, resolved_at=120 * m)
    _case(
        store,
        ids[2],
        "crisis",
        0 * m,
        first_response_at=45 * m,
        sla_due_at=30 * m,
        breached_at=30 * m,
    )
    _case(store, ids[3], "crisis", 0 * m, sla_due_at=30 * m, breached_at=30 * m)  # unanswered
    _case(store, ids[4], "support", 0 * m, first_response_at=1 * m)
    add_label(store, ids[4], "relevant", False, actor="ana")  # not a real case

    times = stats.case_times(store, SINCE, UNTIL)
    assert (times.opened, times.responded, times.resolved, times.breached, times.open_now) == (
        4,
        3,
        2,
        2,
        2,
    )
    assert times.median_first_response == 15 * m
    assert times.p90_first_response == 45 * m
    assert times.median_resolution == 90 * m
    assert times.p90_resolution == 120 * m
    assert times.by_route["crisis"].breached == 2
    assert times.by_route["support"].median_first_response == 10 * m

    found = stats.breaches(store, SINCE, UNTIL)
    assert {b.mention_id for b in found} == {ids[2], ids[3]}
    assert all(b.brand == "Acme" and b.route == "crisis" for b in found)
    assert stats.case_times(store, UNTIL, UNTIL + DAY).opened == 0
    assert stats.case_times(store, SINCE, UNTIL, brands=["Globex"]).median_first_response is None


def test_naive_windows_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        stats.volume(store, datetime(2024, 1, 1), datetime(2024, 2, 1))
