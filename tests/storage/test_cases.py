"""Cases and mutes: the state a team works in Slack must survive restarts and tell the truth."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage import Store
from storage.cases import (
    CaseError,
    act,
    active_mutes,
    add_mute,
    due_for_escalation,
    events,
    get_case,
    get_cases,
    is_muted,
    list_cases,
    mark_breached,
    open_case,
    remove_mute,
)
from tests.storage.factories import T0, mention


def _alerted(store: Store, n: int = 1, **overrides: object) -> int:
    (mention_id,) = store.save_page("Acme", "reddit", [mention(n, **overrides)], None, now=T0)
    return mention_id


def test_open_case_is_idempotent_and_the_first_route_owns_the_sla(store: Store) -> None:
    mid = _alerted(store)
    open_case(store, mid, "support", T0, sla_due_at=T0 + timedelta(minutes=30))
    open_case(store, mid, "execs", T0 + timedelta(minutes=5), sla_due_at=T0 + timedelta(hours=9))

    case = get_case(store, mid)
    assert case is not None
    assert (case.route, case.status, case.opened_at) == ("support", "open", T0)
    assert case.sla_due_at == T0 + timedelta(minutes=30)
    assert [e.action for e in events(store, mid)] == ["open"]


def test_acknowledge_assign_resolve_record_first_response_and_history(store: Store) -> None:
    mid = _alerted(store)
    open_case(store, mid, "support", T0)

    acked = act(store, mid, "acknowledge", "U_ANA", at=T0 + timedelta(minutes=4))
    assert (acked.status, acked.acknowledged_at) == ("acknowledged", T0 + timedelta(minutes=4))
    assert acked.first_response_at == T0 + timedelta(minutes=4)

    assigned = act(store, mid, "assign", "U_ANA", assignee="U_BO", at=T0 + timedelta(minutes=9))
    assert (assigned.status, assigned.assignee) == ("assigned", "U_BO")
    assert assigned.first_response_at == T0 + timedelta(minutes=4)  # the first one stays

    done = act(store, mid, "resolve", "U_BO", note="refunded", at=T0 + timedelta(hours=1))
    assert (done.status, done.resolved_at) == ("resolved", T0 + timedelta(hours=1))
    assert done.assignee == "U_BO"

    history = events(store, mid)
    assert [(e.action, e.actor) for e in history] == [
        ("open", "listenpost"),
        ("acknowledge", "U_ANA"),
        ("assign", "U_ANA"),
        ("resolve", "U_BO"),
    ]
    assert history[2].data == {"assignee": "U_BO"}
    assert history[3].note == "refunded"


def test_acknowledging_an_assigned_case_keeps_it_assigned(store: Store) -> None:
    mid = _alerted(store)
    open_case(store, mid, "support", T0)
    act(store, mid, "assign", "U_ANA", assignee="U_BO", at=T0)
    case = act(store, mid, "acknowledge", "U_CY", at=T0 + timedelta(minutes=1))
    assert (case.status, case.assignee, case.acknowledged_at) == ("assigned", "U_BO", T0)


def test_closed_case_must_be_reopened_before_work_continues(store: Store) -> None:
    mid = _alerted(store)
    open_case(store, mid, "support", T0)
    act(store, mid, "resolve", "U_ANA", at=T0)

    with pytest.raises(CaseError, match="already resolved; reopen it first"):
        act(store, mid, "acknowledge", "U_BO", at=T0 + timedelta(minutes=1))
    assert get_case(store, mid).status == "resolved"  # type: ignore[union-attr]

    reopened = act(store, mid, "reopen", "U_BO", at=T0 + timedelta(minutes=2))
    assert (reopened.status, reopened.resolved_at) == ("open", None)
    assert [e.action for e in events(store, mid)] == ["open", "resolve", "reopen"]


def test_not_relevant_closes_the_case_without_counting_as_a_response(store: Store) -> None:
    mid = _alerted(store)
    open_case(store, mid, "support", T0)
    case = act(store, mid, "not_relevant", "U_ANA", note="job ad", at=T0 + timedelta(minutes=3))
    assert (case.status, case.resolved_at) == ("not_relevant", T0 + timedelta(minutes=3))
    assert case.first_response_at is None
    assert events(store, mid)[-1].note == "job ad"


def test_bad_actions_change_nothing(store: Store) -> None:
    mid = _alerted(store)
    with pytest.raises(CaseError, match="has no case"):
        act(store, mid, "acknowledge", "U_ANA")
    open_case(store, mid, "support", T0)
    with pytest.raises(CaseError, match="unknown case action 'delete'"):
        act(store, mid, "delete", "U_ANA")
    with pytest.raises(CaseError, match="needs an assignee"):
        act(store, mid, "assign", "U_ANA")
    assert get_case(store, mid).status == "open"  # type: ignore[union-attr]
    assert [e.action for e in events(store, mid)] == ["open"]


def test_list_cases_filters_by_status_assignee_and_breach(store: Store) -> None:
    a, b, c = (_alerted(store, n) for n in (1, 2, 3))
    for i, mid in enumerate((a, b, c)):
        open_case(store, mid, "support", T0 + timedelta(minutes=i), T0 + timedelta(minutes=30))
    act(store, b, "assign", "U_ANA", assignee="U_BO", at=T0)
    act(store, c, "resolve", "U_ANA", at=T0)
    mark_breached(store, a, T0 + timedelta(hours=1), escalated=True)

    assert [x.mention_id for x in list_cases(store)] == [a, b, c]
    assert [x.mention_id for x in list_cases(store, statuses=["open", "assigned"])] == [a, b]
    assert [x.mention_id for x in list_cases(store, assignee="U_BO")] == [b]
    assert [x.mention_id for x in list_cases(store, breached=True)] == [a]
    assert [x.mention_id for x in list_cases(store, breached=False)] == [b, c]
    assert set(get_cases(store, [a, c, 999])) == {a, c}
    with pytest.raises(CaseError, match="unknown case status 'closed'"):
        list_cases(store, statuses=["closed"])


def test_sla_breach_is_due_once_and_acknowledged_cases_never_are(store: Store) -> None:
    late, acked, later, no_sla = (_alerted(store, n) for n in (1, 2, 3, 4))
    open_case(store, late, "dm", T0, sla_due_at=T0 + timedelta(minutes=30))
    open_case(store, acked, "dm", T0, sla_due_at=T0 + timedelta(minutes=30))
    open_case(store, later, "posts", T0, sla_due_at=T0 + timedelta(hours=24))
    open_case(store, no_sla, "posts", T0)
    act(store, acked, "acknowledge", "U_ANA", at=T0 + timedelta(minutes=10))

    now = T0 + timedelta(minutes=31)
    assert due_for_escalation(store, T0 + timedelta(minutes=29)) == []
    assert [x.mention_id for x in due_for_escalation(store, now)] == [late]

    mark_breached(store, late, now, escalated=True)
    mark_breached(store, late, now + timedelta(minutes=5), escalated=True)  # no second breach
    assert due_for_escalation(store, now + timedelta(hours=1)) == []
    case = get_case(store, late)
    assert case is not None
    assert (case.breached_at, case.escalated_at, case.status) == (now, now, "open")
    assert [e.action for e in events(store, late)] == ["open", "breach", "escalate"]


def test_a_case_is_escalated_once_by_hand_or_by_sla(store: Store) -> None:
    mid = _alerted(store)
    open_case(store, mid, "dm", T0, sla_due_at=T0 + timedelta(minutes=30))
    case = act(store, mid, "escalate", "U_ANA", at=T0 + timedelta(minutes=2))
    assert (case.escalated_at, case.status) == (T0 + timedelta(minutes=2), "open")
    with pytest.raises(CaseError, match="already escalated"):
        act(store, mid, "escalate", "U_BO", at=T0 + timedelta(minutes=3))
    # Escalating is not a first response: past its SLA the case is due for its breach, which
    # is recorded without escalating a second time.
    (due,) = due_for_escalation(store, T0 + timedelta(hours=1))
    assert due.mention_id == mid
    mark_breached(store, mid, T0 + timedelta(hours=1), escalated=True)
    case = get_case(store, mid)
    assert case is not None and case.escalated_at == T0 + timedelta(minutes=2)
    assert [e.action for e in events(store, mid)] == ["open", "escalate", "breach"]
    assert due_for_escalation(store, T0 + timedelta(hours=2)) == []


def test_breach_without_escalation_is_recorded_and_not_due_again(store: Store) -> None:
    mid = _alerted(store)
    open_case(store, mid, "dm", T0, sla_due_at=T0)
    mark_breached(store, mid, T0 + timedelta(minutes=1), escalated=False)
    case = get_case(store, mid)
    assert case is not None
    assert (case.breached_at, case.escalated_at) == (T0 + timedelta(minutes=1), None)
    assert due_for_escalation(store, T0 + timedelta(hours=2)) == []


def test_mutes_silence_authors_and_whole_word_terms_until_they_expire(store: Store) -> None:
    add_mute(store, "author", "@Troll42", "U_ANA", until=T0 + timedelta(days=1), now=T0)
    add_mute(store, "term", "free  Crypto", "U_ANA", now=T0)
    add_mute(store, "term", "bug", "U_ANA", network="hackernews", now=T0)

    troll = mention(1, author="troll42")
    crypto = mention(2, text="Get FREE crypto now with Acme")
    debugging = mention(3, text="Debugging Acme is painful, a bug everywhere")
    plain = mention(4)

    active = active_mutes(store, T0 + timedelta(hours=1))
    assert is_muted(active, troll, T0 + timedelta(hours=1))
    assert is_muted(store, crypto, T0 + timedelta(hours=1))
    assert not is_muted(active, debugging, T0)  # the bug mute is for Hacker News only
    assert is_muted(active, mention(5, text="a bug here", network="hackernews"), T0)
    assert not is_muted(active, mention(6, text="debugging", network="hackernews"), T0)
    assert not is_muted(active, plain, T0)
    # The author mute ran out after a day.
    assert not is_muted(store, troll, T0 + timedelta(days=1, seconds=1))


def test_muting_again_extends_instead_of_stacking_and_unmute_lifts_it(store: Store) -> None:
    add_mute(store, "author", "troll42", "U_ANA", until=T0 + timedelta(hours=1), now=T0)
    add_mute(store, "author", "TROLL42", "U_BO", until=T0 + timedelta(days=2), now=T0)
    (only,) = active_mutes(store, T0)
    assert (only.value, only.until, only.actor) == ("troll42", T0 + timedelta(days=2), "U_BO")

    assert remove_mute(store, "author", "@troll42") == 1
    assert remove_mute(store, "author", "troll42") == 0
    assert active_mutes(store, T0) == []
    with pytest.raises(CaseError, match="unknown mute kind 'user'"):
        add_mute(store, "user", "x", "U_ANA")
    with pytest.raises(CaseError, match="non-empty term"):
        add_mute(store, "term", "  ", "U_ANA")


def test_cases_survive_reopening_the_database(url: str) -> None:
    first = Store(url)
    mid = _alerted(first)
    open_case(first, mid, "support", T0)
    act(first, mid, "assign", "U_ANA", assignee="U_BO", at=T0)
    first.close()

    second = Store(url)
    try:
        case = get_case(second, mid)
        assert case is not None
        assert (case.status, case.assignee) == ("assigned", "U_BO")
    finally:
        second.close()
