"""Reading a click out of Slack's payload, and refusing the ones that do not make sense."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from alerts import render as r
from alerts.actions import Click, ClickError, apply, parse_click
from storage import Store
from storage.cases import events, open_case
from storage.labels import labels_for
from tests.alerts.appkit import T0, verdict
from tests.storage.factories import mention


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'listenpost.db'}")
    yield s
    s.close()


def test_each_control_names_its_mention_and_choice() -> None:
    assert parse_click({"action_id": r.RESOLVE, "value": "7"}, "U0ANA") == Click(
        r.RESOLVE, 7, "U0ANA"
    )
    picked = {"action_id": r.ASSIGN, "block_id": "case_more:7", "selected_user": "U0BO"}
    assert parse_click(picked, "U0ANA") == Click(r.ASSIGN, 7, "U0ANA", "U0BO")
    reason = {"action_id": r.NOT_RELEVANT, "selected_option": {"value": "7:spam"}}
    assert parse_click(reason, "U0ANA") == Click(r.NOT_RELEVANT, 7, "U0ANA", "spam")


@pytest.mark.parametrize(
    ("action", "problem"),
    [
        ({"action_id": "case_delete", "value": "7"}, "unknown button 'case_delete'"),
        ({"action_id": r.RESOLVE, "value": "7; drop table"}, "does not name a mention"),
        ({"action_id": r.ASSIGN, "block_id": "case_more:7"}, "pick a person"),
        ({"action_id": r.ASSIGN, "block_id": "other:7", "selected_user": "U1"}, "pick a person"),
    ],
)
def test_tampered_or_foreign_actions_are_refused(action: dict, problem: str) -> None:
    with pytest.raises(ClickError, match=problem):
        parse_click(action, "U0ANA")


def test_unknown_reason_or_sentiment_stores_nothing(store: Store) -> None:
    (mid,) = store.save_page("Acme", "reddit", [mention(1)], None, now=T0)
    store.save_triage([(mid, verdict())])
    open_case(store, mid, "support", T0)
    with pytest.raises(ClickError, match="unknown reason 'rude'"):
        apply(store, Click(r.NOT_RELEVANT, mid, "U0ANA", "rude"), T0)
    with pytest.raises(ClickError, match="unknown sentiment 'angry'"):
        apply(store, Click(r.SENTIMENT, mid, "U0ANA", "angry"), T0)
    assert labels_for(store, [mid]) == {}
    assert [e.action for e in events(store, mid)] == ["open"]


def test_a_click_on_an_alert_without_a_case_opens_one(store: Store) -> None:
    (mid,) = store.save_page("Acme", "reddit", [mention(1)], None, now=T0)
    store.save_triage([(mid, verdict())])
    outcome = apply(store, Click(r.ACKNOWLEDGE, mid, "U0ANA"), T0)
    assert (outcome.case.status, outcome.case.route) == ("acknowledged", "slack")
    assert [e.action for e in outcome.history] == ["open", "acknowledge"]


def test_a_click_on_a_deleted_mention_is_explained(store: Store) -> None:
    with pytest.raises(ClickError, match="mention #404 is no longer stored"):
        apply(store, Click(r.RESOLVE, 404, "U0ANA"), T0)
