"""Hand-off rows, topic tags and scheduled-report records on both databases."""

from __future__ import annotations

from datetime import timedelta

from core.query import parse
from storage import Store, handoff, report_log, topics
from storage.schema import mention_topics
from tests.storage.factories import T0, mention


def test_handoffs_queue_once_stay_out_of_slack_and_keep_their_first_body(store: Store) -> None:
    (mid,) = store.save_page("Acme", "reddit", [mention(1)], None)
    assert handoff.enqueue(store, [(mid, "crm", "webhook"), (mid, "desk", "zendesk")], T0) == 2
    assert handoff.enqueue(store, [(mid, "crm", "webhook")], T0) == 0  # once per route, ever
    assert store.due_alerts(T0) == []  # Slack's pass never sees them
    due = handoff.due(store, T0)
    assert [(i.route, i.kind, i.channel) for i in due] == [
        ("crm", "webhook", "webhook:crm"),
        ("desk", "zendesk", "zendesk:desk"),
    ]
    handoff.freeze(store, due[0].id, {"v": 1})
    handoff.freeze(store, due[0].id, {"v": 2})  # a retry never rewrites the body
    assert store.claim(due[0].id, T0, T0 + timedelta(minutes=2))
    store.mark_retry(due[0].id, "HTTP 500", T0 + timedelta(seconds=30))
    again = handoff.due(store, T0 + timedelta(seconds=31))
    assert again[0].payload == {"v": 1} and again[0].attempts == 1
    store.mark_delivered(due[1].id, None, "42", T0)
    assert handoff.status(store, mid, "desk") == ("delivered", 0, None, "42")


def test_tags_are_idempotent_and_retag_replaces_them(store: Store) -> None:
    a, b = store.save_page(
        "Acme", "reddit", [mention(1, "Acme sync"), mention(2, "Acme ios")], None
    )
    wanted = {"sync": parse("sync"), "mobile": parse("android OR ios")}
    assert topics.tag(store, "Acme", [a, b], wanted) == 2
    assert topics.tag(store, "Acme", [a, b], wanted) == 0
    assert topics.topics_for(store, [a, b]) == {a: [("Acme", "sync")], b: [("Acme", "mobile")]}
    with store.engine.begin() as conn:
        conn.execute(mention_topics.insert().values(mention_id=a, brand="Gone", topic="x"))
    done = topics.retag(store, {"Acme": {"apple": parse("ios")}})
    assert (done.mentions, done.tags, done.pruned) == (2, 1, 1)
    assert topics.topics_for(store, [a, b]) == {b: [("Acme", "apple")]}


def test_a_report_run_is_claimed_once_per_period(store: Store) -> None:
    first = report_log.claim(store, "#marketing", "report:monthly", T0)
    assert first.sent_at is None and first.ts is None
    report_log.posted(store, first.id, "C1", "1.2")
    again = report_log.claim(store, "#marketing", "report:monthly", T0)
    assert (again.id, again.channel_id, again.ts) == (first.id, "C1", "1.2")
    report_log.sent(store, first.id, T0)
    assert report_log.claim(store, "#marketing", "report:monthly", T0).sent_at == T0
