"""`/listenpost`: what each command answers and stores (the transports are tested in
test_app_http.py and test_app_socket.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from alerts.slash import HELP, Invocation, answer
from storage import Store
from storage.cases import act, active_mutes, add_mute, events, mark_breached, open_case
from tests.storage.factories import T0, mention

NOW = T0 + timedelta(hours=3)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'listenpost.db'}")
    yield s
    s.close()


def say(store: Store, text: str, user: str = "U0ANA") -> str:
    body = answer(store, Invocation(text, user, NOW))
    assert body["response_type"] == "ephemeral"  # only the person who typed it sees it
    return body["text"]


def opened(store: Store, n: int, **overrides: object) -> int:
    (mid,) = store.save_page("Acme", "reddit", [mention(n, **overrides)], None, now=T0)
    open_case(store, mid, "support", T0 + timedelta(minutes=n))
    return mid


@pytest.mark.parametrize("text", ["", "help", "  HELP  "])
def test_help(store: Store, text: str) -> None:
    assert say(store, text) == HELP


def test_status_shows_sources_queue_and_open_cases(store: Store) -> None:
    store.record_success("Acme", "reddit", NOW - timedelta(minutes=4))
    store.record_error("Acme", "hackernews", "HTTP 503 from hn.algolia.com\ntrace", NOW)
    store.record_error("Acme", "x", "rate limited", NOW, disabled_until=NOW + timedelta(hours=1))
    late = opened(store, 1)
    opened(store, 2)
    done = opened(store, 3)
    act(store, done, "resolve", "U0ANA", at=NOW)
    mark_breached(store, late, NOW, escalated=False)
    store.enqueue_alerts([(late, "support", "#brand-alerts")], [late])

    lines = say(store, "status").splitlines()

    assert lines[1] == "• :x: Acme on Hacker News: HTTP 503 from hn.algolia.com"
    assert lines[2] == "• :white_check_mark: Acme on Reddit: polled 4m ago"
    assert lines[3].startswith("• :double_vertical_bar: Acme on X: paused until <!date^")
    assert lines[-2] == "• alerts waiting to be sent: 1"
    assert lines[-1] == "• open cases: 2 (1 past SLA)"


def test_cases_lists_open_work_oldest_first_and_mine(store: Store) -> None:
    first = opened(store, 1, author="<!channel>", text="Acme <@U0BOSS> refund *now*")
    second = opened(store, 2)
    act(store, second, "assign", "U0ANA", assignee="U0BO", at=NOW)
    closed = opened(store, 3)
    act(store, closed, "resolve", "U0ANA", at=NOW)
    mark_breached(store, first, NOW, escalated=True)

    lines = say(store, "cases").splitlines()
    assert lines[0] == "*Open cases* (2, oldest first)"
    assert lines[1].startswith(f"• #{first} Open · Reddit · &lt;!channel&gt;: Acme &lt;@U0BOSS&gt;")
    assert "· opened 2h ago · :alarm_clock: past SLA · <https://www.reddit.com/" in lines[1]
    assert lines[2].startswith(f"• #{second} Assigned (<@U0BO>) · Reddit · user2:")
    assert len(lines) == 3  # the resolved case is not open work

    mine = say(store, "cases mine", user="U0BO").splitlines()
    assert [line.split()[1] for line in mine[1:]] == [f"#{second}"]
    assert say(store, "cases mine", user="U0CY") == "No open cases assigned to you. :tada:"


def test_mute_for_a_while_then_unmute(store: Store) -> None:
    reply = say(store, 'mute term "Free  Crypto" for 2h')
    until = int((NOW + timedelta(hours=2)).timestamp())
    assert reply.startswith(f":mute: Muted term *free crypto* until <!date^{until}^")
    reply = say(store, "mute author @Troll42 on reddit for 1d")
    assert reply.startswith(":mute: Muted author *troll42* on Reddit until <!date^")
    forever = say(store, "mute author spammer")
    assert forever.endswith("until someone runs `/listenpost unmute`.")

    muted = {(m.kind, m.value): m for m in active_mutes(store, NOW)}
    assert muted[("term", "free crypto")].until == NOW + timedelta(hours=2)
    assert muted[("author", "troll42")].network == "reddit"
    assert muted[("author", "spammer")].until is None
    assert muted[("term", "free crypto")].actor == "U0ANA"
    assert "author *troll42* on Reddit until" in say(store, "mutes")

    assert say(store, "unmute author troll42") == ":loud_sound: Unmuted author *troll42*."
    again = say(store, "unmute author troll42")
    assert again == "Nothing to unmute: author *troll42* is not muted."
    assert ("author", "troll42") not in {(m.kind, m.value) for m in active_mutes(store, NOW)}


def test_text_slack_sends_escaped_is_matched_as_typed_and_echoed_inert(store: Store) -> None:
    reply = say(store, "mute term &lt;!channel&gt; &amp; co")
    (mute,) = active_mutes(store, NOW)
    assert mute.value == "<!channel> & co"
    assert "*&lt;!channel&gt; &amp; co*" in reply
    assert "<!channel>" not in reply


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("mute term spam for ever", "'ever' is not a duration"),
        ("mute term", "mute term: say which term"),
        ("mute user bob", "say what to mute: `mute term &lt;term&gt;` or `mute author &lt;"),
        ("unmute author", "unmute author: say which author"),
        ("mute author bob on redit", "unknown network 'redit'; one of: "),
        ("delete everything", "unknown command 'delete'"),
    ],
)
def test_mistakes_explain_and_store_nothing(store: Store, text: str, problem: str) -> None:
    reply = say(store, text)
    assert reply.startswith(f":warning: {problem}")
    assert reply.endswith(HELP)
    assert active_mutes(store, NOW) == []


def test_expired_mutes_are_not_listed(store: Store) -> None:
    add_mute(store, "term", "old", "U0ANA", until=NOW - timedelta(minutes=1), now=T0)
    assert say(store, "mutes") == "Nothing is muted."


def test_a_note_joins_the_case_log(store: Store) -> None:
    mid = opened(store, 1)
    reply = say(store, f"note #{mid} Called her back &amp; refunded the order", user="U0BO")
    assert reply.startswith(f":memo: Noted on case #{mid}: Called her back &amp; refunded")
    (note,) = [e for e in events(store, mid) if e.action == "note"]
    assert (note.actor, note.note) == ("U0BO", "Called her back & refunded the order")
    assert "write `note &lt;mention #&gt; &lt;text&gt;`" in say(store, f"note {mid}")
    assert "has no case" in say(store, "note 999 hello")
