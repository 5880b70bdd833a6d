"""The outbox: exactly one alert per (route, mention), due when its time comes, kept on disk."""

from __future__ import annotations

from datetime import timedelta

from storage import Store
from tests.storage.factories import T0, mention, verdict


def queue(store: Store, n: int, routes: tuple[str, ...] = ("default",)) -> int:
    ids = store.save_page("Acme", "reddit", [mention(n)], None, now=T0)
    store.save_triage([(ids[0], verdict())])
    store.enqueue_alerts([(ids[0], r, f"#{r}") for r in routes], ids)
    return ids[0]


def test_due_alerts_are_pending_ones_whose_time_has_come_oldest_first(store: Store) -> None:
    first, second, third = queue(store, 1), queue(store, 2), queue(store, 3)
    due = store.due_alerts(T0)
    assert [item.mention.id for item in due] == [first, second, third]
    assert due[0].route == "default" and due[0].channel == "#default" and due[0].attempts == 0
    assert due[0].mention.triage == verdict()

    store.mark_retry(due[0].id, "ratelimited", T0 + timedelta(seconds=30))
    store.mark_failed(due[1].id, "channel_not_found")
    # The first waits for its retry, and the channel's later alerts wait behind it (order).
    assert [i.mention.id for i in store.due_alerts(T0 + timedelta(seconds=29))] == []
    assert [i.mention.id for i in store.due_alerts(T0 + timedelta(seconds=30))] == [first, third]
    assert len(store.due_alerts(T0 + timedelta(seconds=30), limit=1)) == 1

    store.mark_delivered(due[2].id, "C024BE91L", "1712318400.000100", T0)
    assert [i.mention.id for i in store.due_alerts(T0 + timedelta(days=1))] == [first]
    assert store.delivered_count() == 1


def test_each_retry_counts_an_attempt(store: Store) -> None:
    queue(store, 1)
    (item,) = store.due_alerts(T0)
    for n in range(1, 4):
        store.mark_retry(item.id, f"HTTP 503 #{n}", T0 + timedelta(minutes=n))
        (item,) = store.due_alerts(T0 + timedelta(minutes=n))
        assert item.attempts == n


def test_delivered_alerts_stay_delivered_across_a_restart(url: str) -> None:
    first = Store(url)
    mention_id = queue(first, 1, routes=("default", "execs"))
    for item in first.due_alerts(T0):
        first.mark_delivered(item.id, "C1", "1.0", T0)
    first.close()

    reopened = Store(url)
    try:
        again = reopened.enqueue_alerts(
            [(mention_id, "default", "#default"), (mention_id, "execs", "#execs")], [mention_id]
        )
        assert again == 0
        assert reopened.due_alerts(T0 + timedelta(days=1)) == []
        assert reopened.delivered_count() == 2
    finally:
        reopened.close()
