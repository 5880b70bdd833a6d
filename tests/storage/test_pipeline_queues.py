"""The work queues a cycle drains: stored -> untriaged -> triaged -> unrouted -> routed."""

from __future__ import annotations

from datetime import timedelta

from storage import Store
from tests.storage.factories import T0, mention, verdict


def test_mentions_flow_from_untriaged_to_unrouted_to_routed_once(store: Store) -> None:
    ids = store.save_page("Acme", "reddit", [mention(1), mention(2), mention(3)], None)
    assert [m.id for m in store.untriaged()] == ids  # oldest first
    assert store.unrouted() == []  # nothing is routed before it is triaged

    store.save_triage([(ids[0], verdict()), (ids[1], verdict("positive", "low"))])
    assert [m.id for m in store.untriaged()] == [ids[2]]
    pending = store.unrouted()
    assert [m.id for m in pending] == ids[:2]
    assert pending[0].triage == verdict()
    assert pending[1].triage is not None and pending[1].triage.sentiment == "positive"

    queued = store.enqueue_alerts([(ids[0], "default", "#alerts")], [m.id for m in pending])
    assert queued == 1
    assert store.unrouted() == []

    store.save_triage([(ids[2], verdict())])
    assert [m.id for m in store.unrouted()] == [ids[2]]
    assert store.untriaged(limit=10) == []


def test_the_same_alert_queued_twice_is_kept_once(store: Store) -> None:
    (mention_id,) = store.save_page("Acme", "reddit", [mention(1)], None)
    store.save_triage([(mention_id, verdict())])
    alerts = [(mention_id, "default", "#alerts"), (mention_id, "execs", "#execs")]

    assert store.enqueue_alerts(alerts, [mention_id]) == 2
    assert store.enqueue_alerts(alerts, [mention_id]) == 0
    assert store.enqueue_alerts([*alerts, (mention_id, "support", "#support")], []) == 1
    assert len(store.due_alerts(T0 + timedelta(days=1))) == 3


def test_untriaged_and_unrouted_respect_their_limit(store: Store) -> None:
    ids = store.save_page("Acme", "reddit", [mention(n) for n in range(1, 6)], None)
    assert [m.id for m in store.untriaged(limit=2)] == ids[:2]
    store.save_triage([(i, verdict()) for i in ids])
    assert [m.id for m in store.unrouted(limit=3)] == ids[:3]


def test_a_routed_mention_found_for_another_brand_is_routed_again(store: Store) -> None:
    """Routes can be limited to brands: a new brand on a mention is news for them."""
    post = mention(1, text="Moving everything from Acme to Globex")
    (mention_id,) = store.save_page("Acme", "reddit", [post], None)
    store.save_triage([(mention_id, verdict())])
    store.enqueue_alerts([(mention_id, "acme-team", "#acme")], [mention_id])

    store.save_page("Globex", "reddit", [post], None)
    (again,) = store.unrouted()
    assert again.id == mention_id and sorted(again.brands) == ["Acme", "Globex"]
    assert again.triage == verdict()  # not triaged twice
    # The Acme alert already queued is not queued again.
    queued = store.enqueue_alerts(
        [(mention_id, "acme-team", "#acme"), (mention_id, "globex-team", "#globex")], [mention_id]
    )
    assert queued == 1
