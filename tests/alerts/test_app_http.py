"""The Slack app in HTTP mode, driven as Slack drives it: signed form POSTs on 127.0.0.1.

Each click must be stored on the case, teach the labels, and show up in place on the alert
(chat.update on the same channel and ts); anything unsigned or replayed must change nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from slack_sdk import WebClient

from alerts import render as r
from alerts.app import SlackApp, build_app
from alerts.app_settings import SavedReply
from alerts.routes import Route
from fakes.slack import FakeSlack
from fakes.slack_payloads import (
    SIGNING_SECRET,
    block_actions,
    button,
    form_body,
    picked_option,
    picked_user,
    signed_headers,
    slash_command,
)
from storage import Store, people
from storage.cases import active_mutes, events, get_case
from storage.labels import labels_for
from tests.alerts.appkit import eventually, post_alert


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'listenpost.db'}")
    yield s
    s.close()


ROUTES = [
    Route(name="support", channel="#brand-alerts", escalate_to="#leads"),
    Route(name="pager", channel="#brand-alerts", escalate_to="<!subteam^S0123ABCD|@oncall>"),
    Route(name="quiet", channel="#brand-alerts"),
]


@pytest.fixture
def app(store: Store, slack: FakeSlack) -> Iterator[SlackApp]:
    client = WebClient(token=slack.token, base_url=slack.base_url)
    saved = [SavedReply(name="Outage", text="Sorry {author}, we are on it.", categories=["outage"])]
    bolt = build_app(store, client, SIGNING_SECRET, routes=ROUTES, saved_replies=saved)
    served = SlackApp(bolt, "http", port=0, signing_secret=SIGNING_SECRET)
    served.start()
    yield served
    served.stop()


def click(app: SlackApp, payload: dict[str, Any], **signing: Any) -> httpx.Response:
    body = form_body(payload)
    return httpx.post(app.url, content=body, headers=signed_headers(body, **signing), timeout=10)


def command(app: SlackApp, fields: dict[str, str]) -> httpx.Response:
    body = urlencode(fields)
    return httpx.post(app.url, content=body, headers=signed_headers(body), timeout=10)


def elements(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["action_id"]: e for b in blocks if b["type"] == "actions" for e in b["elements"]}


def last_update(slack: FakeSlack, n: int = 1) -> dict[str, Any]:
    eventually(lambda: len(slack.updates) >= n)
    return slack.updates[n - 1]


def test_acknowledge_updates_the_same_message_and_the_case(
    app: SlackApp, store: Store, slack: FakeSlack
) -> None:
    posted = post_alert(store, slack)
    payload = block_actions(
        button(posted.message["blocks"], r.ACKNOWLEDGE),
        posted.message,
        slack.response_url(),
        user="U0ANA",
    )

    response = click(app, payload)
    assert response.status_code == 200

    update = last_update(slack)
    assert (update["channel"], update["ts"]) == (posted.message["channel_id"], posted.message["ts"])
    status = update["blocks"][-1]["elements"][0]["text"]
    assert status.startswith("👀 *Acknowledged*")
    assert "acknowledged by <@U0ANA>" in status
    assert r.ACKNOWLEDGE not in elements(update["blocks"])  # done: the button is gone
    assert {r.RESOLVE, r.ASSIGN, r.NOT_RELEVANT} <= set(elements(update["blocks"]))
    assert update["text"].endswith("· Acknowledged")

    case = get_case(store, posted.mention_id)
    assert case is not None
    assert (case.status, case.first_response_at is not None) == ("acknowledged", True)
    assert [(e.action, e.actor) for e in events(store, posted.mention_id)][-1] == (
        "acknowledge",
        "U0ANA",
    )


def test_assign_from_the_user_picker_shows_the_assignee(
    app: SlackApp, store: Store, slack: FakeSlack
) -> None:
    posted = post_alert(store, slack)
    action = picked_user(posted.message["blocks"], r.ASSIGN, "U0BO")
    response = click(app, block_actions(action, posted.message, slack.response_url()))
    assert response.status_code == 200

    update = last_update(slack)
    assert elements(update["blocks"])[r.ASSIGN]["initial_user"] == "U0BO"
    assert "👤 *Assigned* · <@U0BO>" in update["blocks"][-1]["elements"][0]["text"]
    case = get_case(store, posted.mention_id)
    assert case is not None and (case.status, case.assignee) == ("assigned", "U0BO")


def test_the_people_who_work_a_case_are_named_through_users_info(
    app: SlackApp, store: Store, slack: FakeSlack
) -> None:
    """users.info once per person (cached in the database), so the case log outside Slack
    reads "Bo Smith (U0BO)"; someone Slack does not know keeps their id."""
    slack.add_user("U0BO", "bo", real_name="Bo Smith")  # no display name set: the real name
    slack.add_user("U0ANA", "ana", real_name="Ana Lopez", display_name="ana.l")
    posted = post_alert(store, slack)
    action = picked_user(posted.message["blocks"], r.ASSIGN, "U0BO")
    click(app, block_actions(action, posted.message, slack.response_url(), user="U0ANA"))
    eventually(lambda: len(people.names(store, ["U0BO", "U0ANA"])) == 2)
    assert people.names(store, ["U0BO", "U0ANA"]) == {"U0BO": "Bo Smith", "U0ANA": "ana.l"}
    assert sorted(slack.user_lookups) == ["U0ANA", "U0BO"]

    resolve = button(posted.message["blocks"], r.RESOLVE)
    click(app, block_actions(resolve, posted.message, slack.response_url(), user="U0GHOST"))
    eventually(lambda: "U0GHOST" in people.fetched(store, ["U0GHOST"]))
    assert people.fetched(store, ["U0GHOST"])["U0GHOST"][0] is None  # user_not_found
    assert sorted(slack.user_lookups) == ["U0ANA", "U0BO", "U0GHOST"]  # the others: cached


def test_not_relevant_closes_the_case_and_labels_the_mention(
    app: SlackApp, store: Store, slack: FakeSlack
) -> None:
    posted = post_alert(store, slack)
    reasons = list(r.NOT_RELEVANT_REASONS)
    action = picked_option(posted.message["blocks"], r.NOT_RELEVANT, reasons.index("job_post"))
    click(app, block_actions(action, posted.message, slack.response_url(), user="U0CY"))

    update = last_update(slack)
    assert set(elements(update["blocks"])) == {r.REOPEN, r.VIEW_POST, r.SENTIMENT}
    assert "(Job post)" in update["blocks"][-1]["elements"][0]["text"]
    assert labels_for(store, [posted.mention_id]) == {posted.mention_id: {"relevant": False}}
    case = get_case(store, posted.mention_id)
    assert case is not None and case.status == "not_relevant"


def test_wrong_sentiment_relabels_and_the_alert_shows_the_correction(
    app: SlackApp, store: Store, slack: FakeSlack
) -> None:
    posted = post_alert(store, slack)
    menu = elements(posted.message["blocks"])[r.SENTIMENT]
    options = [o["value"].split(":")[1] for o in menu["options"]]
    assert options == ["neutral", "positive"]  # the model said negative
    action = picked_option(posted.message["blocks"], r.SENTIMENT, options.index("positive"))
    click(app, block_actions(action, posted.message, slack.response_url(), user="U0ANA"))

    update = last_update(slack)
    verdict = [b for b in update["blocks"] if b["type"] == "section"][2]["text"]["text"]
    assert verdict.startswith("*Positive*")
    # A person's label, not the model's: no model score beside it, and who set it.
    assert verdict.startswith("*Positive* (set by <@U0ANA>) ·")
    assert labels_for(store, [posted.mention_id])[posted.mention_id] == {"sentiment": "positive"}


def test_mute_author_stores_a_mute_for_that_network(
    app: SlackApp, store: Store, slack: FakeSlack
) -> None:
    posted = post_alert(store, slack, author="Troll42")
    mute_button = elements(posted.message["blocks"])[r.MUTE_AUTHOR]
    assert mute_button["confirm"]["confirm"]["text"] == "Mute"  # Slack asks before muting
    click(
        app,
        block_actions(
            button(posted.message["blocks"], r.MUTE_AUTHOR), posted.message, slack.response_url()
        ),
    )

    last_update(slack)
    (mute,) = active_mutes(store, posted_now())
    assert (mute.kind, mute.value, mute.network) == ("author", "troll42", "reddit")


def test_every_message_of_the_mention_is_updated(
    app: SlackApp, store: Store, slack: FakeSlack
) -> None:
    posted = post_alert(store, slack, routes=(("support", "#support"), ("execs", "#execs")))
    click(
        app,
        block_actions(
            button(posted.message["blocks"], r.RESOLVE), posted.message, slack.response_url()
        ),
    )

    eventually(lambda: len(slack.updates) == 2)
    updated = {(u["channel"], u["ts"]) for u in slack.updates}
    assert updated == {(m["channel_id"], m["ts"]) for m in slack.messages}
    assert all("✅ *Resolved*" in u["blocks"][-1]["elements"][0]["text"] for u in slack.updates)


def test_a_click_on_a_closed_case_tells_the_user_and_changes_nothing(
    app: SlackApp, store: Store, slack: FakeSlack
) -> None:
    posted = post_alert(store, slack)
    stale_blocks = posted.message["blocks"]
    click(app, block_actions(button(stale_blocks, r.RESOLVE), posted.message, slack.response_url()))
    last_update(slack)

    # Another person still sees the old message and clicks Acknowledge on it.
    url = slack.response_url()
    click(app, block_actions(button(stale_blocks, r.ACKNOWLEDGE), posted.message, url))
    (reply,) = eventually(lambda: slack.responses)
    assert reply["url"].endswith(url.split("/actions/")[1])
    assert reply["response_type"] == "ephemeral"
    assert "already resolved; reopen it first" in reply["text"]
    assert len(slack.updates) == 1
    assert get_case(store, posted.mention_id).status == "resolved"  # type: ignore[union-attr]


def test_escalate_posts_to_the_routes_escalation_channel_once(
    app: SlackApp, store: Store, slack: FakeSlack
) -> None:
    posted = post_alert(store, slack)
    payload = block_actions(
        button(posted.message["blocks"], r.ESCALATE),
        posted.message,
        slack.response_url(),
        user="U0ANA",
    )
    click(app, payload)

    update = last_update(slack)
    assert r.ESCALATE not in elements(update["blocks"])  # escalated once, not again
    note = eventually(lambda: [m for m in slack.messages if m["channel"] == "#leads"])[0]
    head = note["blocks"][0]["text"]["text"]
    assert head == "📣 *Escalated* by <@U0ANA>: *angry_customer* on Reddit"
    ts = posted.message["ts"].replace(".", "")
    link = f"https://acme-corp.slack.com/archives/{posted.message['channel_id']}/p{ts}"
    assert note["blocks"][-1]["elements"][0]["text"].startswith(f"<{link}|Open the alert>")
    case = get_case(store, posted.mention_id)
    assert case is not None and case.escalated_at is not None and case.status == "open"

    click(app, payload)  # the same stale button again
    (reply,) = eventually(lambda: slack.responses)
    assert "was already escalated" in reply["text"]
    assert len([m for m in slack.messages if m["channel"] == "#leads"]) == 1


def test_escalate_pings_a_user_group_in_the_alerts_channel(
    app: SlackApp, store: Store, slack: FakeSlack
) -> None:
    posted = post_alert(store, slack, routes=(("pager", "#brand-alerts"),))
    click(
        app,
        block_actions(
            button(posted.message["blocks"], r.ESCALATE), posted.message, slack.response_url()
        ),
    )
    note = eventually(lambda: slack.messages[1:])[0]
    assert note["channel"] == posted.message["channel_id"]
    assert note["text"].startswith("<!subteam^S0123ABCD|@oncall> 📣 Escalated by <@U0ANA>")


def test_escalate_without_a_target_says_nobody_was_notified(
    app: SlackApp, store: Store, slack: FakeSlack
) -> None:
    posted = post_alert(store, slack, routes=(("quiet", "#brand-alerts"),))
    click(
        app,
        block_actions(
            button(posted.message["blocks"], r.ESCALATE), posted.message, slack.response_url()
        ),
    )
    (reply,) = eventually(lambda: slack.responses)
    assert "Route _quiet_ has no `escalate_to`, so nobody else was notified." in reply["text"]
    assert len(slack.messages) == 1


def test_saved_replies_go_only_to_the_clicker_and_change_nothing(
    app: SlackApp, store: Store, slack: FakeSlack
) -> None:
    posted = post_alert(store, slack)
    url = slack.response_url()
    click(app, block_actions(button(posted.message["blocks"], r.REPLIES), posted.message, url))

    (reply,) = eventually(lambda: slack.responses)
    assert (reply["response_type"], reply["replace_original"]) == ("ephemeral", False)
    assert reply["blocks"][0]["text"]["text"] == (
        "*Outage*\n```Sorry angry_customer, we are on it.```"
    )
    assert slack.updates == []
    assert [e.action for e in events(store, posted.mention_id)] == ["open"]


@pytest.mark.parametrize(
    "signing",
    [
        {"secret": "not-the-signing-secret"},
        {"timestamp": int(time.time()) - 6 * 60},  # replayed: older than 5 minutes
    ],
    ids=["bad-signature", "stale-timestamp"],
)
def test_unverified_requests_are_refused_and_change_nothing(
    app: SlackApp, store: Store, slack: FakeSlack, signing: dict[str, Any]
) -> None:
    posted = post_alert(store, slack)
    payload = block_actions(
        button(posted.message["blocks"], r.RESOLVE), posted.message, slack.response_url()
    )

    response = click(app, payload, **signing)

    assert response.status_code == 401
    time.sleep(0.2)  # were anything to run after the answer, it would have by now
    assert slack.updates == []
    assert get_case(store, posted.mention_id).status == "open"  # type: ignore[union-attr]
    assert [e.action for e in events(store, posted.mention_id)] == ["open"]


def test_unsigned_slash_command_is_refused(app: SlackApp, store: Store, slack: FakeSlack) -> None:
    body = urlencode(slash_command("mute term refund", slack.response_url()))
    response = httpx.post(
        app.url, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 401
    assert active_mutes(store, posted_now()) == []


def test_slash_command_answers_ephemerally_in_the_response(
    app: SlackApp, store: Store, slack: FakeSlack
) -> None:
    post_alert(store, slack)
    response = command(app, slash_command("status", slack.response_url()))
    assert response.status_code == 200
    body = json.loads(response.text)
    assert body["response_type"] == "ephemeral"
    assert "• open cases: 1" in body["text"]

    muted = command(app, slash_command('mute term "free crypto" for 2h', slack.response_url()))
    assert "Muted term *free crypto* until <!date^" in json.loads(muted.text)["text"]
    (mute,) = active_mutes(store, posted_now())
    assert (mute.kind, mute.value, mute.actor) == ("term", "free crypto", "U0ANA")


def test_wrong_path_is_not_found(app: SlackApp) -> None:
    response = httpx.post(app.url.replace("/slack/events", "/other"), content="x")
    assert response.status_code == 404


def posted_now() -> datetime:
    return datetime.now(UTC)
