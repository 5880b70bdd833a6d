"""The team's labels: stored, newest wins, and they beat the model wherever a mention is read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from alerts.routes import Route, decide
from core.triage import Triage
from storage import Store
from storage.labels import add_label, labels_for
from tests.storage.factories import T0, mention


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'labels.db'}")
    yield s
    s.close()


def _positive() -> Triage:
    return Triage(
        sentiment="positive",
        sentiment_scores={"negative": 0.05, "neutral": 0.1, "positive": 0.85},
        urgency="low",
        reasons=["praise words: 'love'"],
        categories=["praise"],
        model_version="m-1",
    )


def _stored(store: Store, text: str = "I love how Acme support handled this") -> int:
    [mention_id] = store.save_page("Acme", "reddit", [mention(1, text)], None, now=T0)
    return mention_id


def test_newest_label_per_field_wins(store: Store) -> None:
    mid = _stored(store)
    add_label(store, mid, "sentiment", "positive", "ana", at=T0)
    add_label(store, mid, "sentiment", "negative", "bo", origin="slack", at=T0 + timedelta(1))
    add_label(store, mid, "category", ["complaint", "outage"], "ana", at=T0)
    add_label(store, mid, "relevant", False, "ana", at=T0)

    assert labels_for(store, [mid, 999]) == {
        mid: {"sentiment": "negative", "category": ["complaint", "outage"], "relevant": False}
    }


def test_a_label_overrides_the_model_when_stored_loaded_and_routed(store: Store) -> None:
    mid = _stored(store)
    store.save_triage([(mid, _positive())], now=T0)
    route = Route("crisis", "#crisis", sentiments=["negative"], min_urgency="critical")
    assert decide(store.get_mention(mid), [route]) == []  # type: ignore[arg-type]

    add_label(store, mid, "sentiment", "negative", "ana", at=T0 + timedelta(minutes=1))
    add_label(store, mid, "urgency", "high", "ana", at=T0 + timedelta(minutes=1))

    loaded = store.get_mention(mid)
    assert loaded is not None and loaded.triage is not None
    assert (loaded.triage.sentiment, loaded.triage.urgency) == ("negative", "high")
    assert loaded.triage.reasons[0] == "labelled negative"
    assert decide(loaded, [route]) == [route]
    # Raw SQL readers (stats, reports) see the label too.
    with store.engine.begin() as conn:
        row = conn.exec_driver_sql(
            "select sentiment, urgency from triage where mention_id = ?", (mid,)
        ).one()
    assert tuple(row) == ("negative", "high")


def test_not_relevant_is_never_alerted(store: Store) -> None:
    mid = _stored(store, "Acme is down again, furious")
    angry = Triage("negative", {"negative": 0.95}, "critical", ["outage words: 'down'"])
    store.save_triage([(mid, angry)], now=T0)
    add_label(store, mid, "relevant", False, "ana", at=T0)

    loaded = store.get_mention(mid)
    assert loaded is not None and loaded.triage is not None
    assert loaded.triage.relevant is False
    assert decide(loaded, [Route("all", "#all", sentiments=["negative"], min_urgency="low")]) == []
    store.enqueue_alerts([], [])
    assert [m.id for m in store.unrouted()] == [mid]  # routed like any other, to no channel


def test_a_rule_mute_is_stored_as_a_not_relevant_label(store: Store) -> None:
    mid = _stored(store, "We're hiring at Acme! Apply now")
    muted = Triage(
        "neutral",
        {"neutral": 0.9},
        "low",
        ["muted by rule 'jobs'"],
        relevant=False,
        lang="en",
        details={"muted_by": "rule jobs"},
    )
    store.save_triage([(mid, muted)], now=T0)

    assert labels_for(store, [mid]) == {mid: {"relevant": False}}
    loaded = store.get_mention(mid)
    assert loaded is not None and loaded.triage is not None
    assert loaded.triage.relevant is False
    assert loaded.lang == "en" and loaded.triage.lang == "en"
    assert loaded.triage.details == {"muted_by": "rule jobs"}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("sentiment", "angry", "'angry' is not one of negative, neutral, positive"),
        ("urgency", "asap", "'asap' is not one of low, medium, high, critical"),
        ("category", ["outage", "rant"], "unknown 'rant'"),
        ("category", "outage", "expected a list"),
        ("relevant", "no", "expected true or false"),
        ("mood", "x", "label field 'mood' is not one of"),
    ],
)
def test_bad_labels_are_refused_with_a_clear_error(
    store: Store, field: str, value: object, message: str
) -> None:
    mid = _stored(store)
    with pytest.raises(ValueError, match=message):
        add_label(store, mid, field, value, "ana")
    assert labels_for(store, [mid]) == {}


def test_a_label_for_an_unknown_mention_says_so(store: Store) -> None:
    with pytest.raises(ValueError, match="no mention with id 42"):
        add_label(store, 42, "sentiment", "negative", "ana")


def test_not_relevant_cancels_alerts_already_queued(store: Store) -> None:
    mid = _stored(store, "Acme is down again, furious")
    store.save_triage([(mid, Triage("negative", {"negative": 0.95}, "high"))], now=T0)
    assert store.enqueue_alerts([(mid, "default", "#alerts")], [mid], now=T0) == 1
    add_label(store, mid, "relevant", False, "ana", at=T0)
    assert store.due_alerts(T0 + timedelta(minutes=1)) == []
    with store.engine.begin() as conn:
        status, error = conn.exec_driver_sql(
            "select status, last_error from outbox where mention_id = ?", (mid,)
        ).one()
    assert (status, error) == ("failed", "cancelled: labelled not relevant by ana")
