"""Who may act from Slack (issue 15, item 12), checked on the real HTTP-mode server with
requests signed as Slack signs them: a signed click from someone not allowed changes nothing
and tells only them why.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from pydantic import ValidationError
from slack_sdk import WebClient

from alerts import render as r
from alerts.app import SlackApp, build_app
from alerts.app_settings import Permissions
from fakes.slack import FakeSlack
from fakes.slack_payloads import (
    SIGNING_SECRET,
    block_actions,
    button,
    form_body,
    picked_option,
    signed_headers,
    slash_command,
)
from listenpost.config import Settings
from storage import Store
from storage.cases import active_mutes, events, get_case
from storage.labels import labels_for
from tests.alerts.appkit import Posted, eventually, post_alert

LEAD, ANA, BO = "U0LEAD", "U0ANA", "U0BO"
LEADS = "S0LEADS"
Serve = Callable[..., SlackApp]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'listenpost.db'}")
    yield s
    s.close()


@pytest.fixture
def serve(store: Store, slack: FakeSlack) -> Iterator[Serve]:
    """Start the app in HTTP mode with `[alerts.slack.permissions]` as given."""
    started: list[SlackApp] = []

    def start(**permissions: list[str]) -> SlackApp:
        client = WebClient(token=slack.token, base_url=slack.base_url)
        rules = Permissions.model_validate(permissions)
        bolt = build_app(store, client, SIGNING_SECRET, permissions=rules)
        app = SlackApp(bolt, "http", port=0, signing_secret=SIGNING_SECRET)
        app.start()
        started.append(app)
        return app

    yield start
    for app in started:
        app.stop()


def post(app: SlackApp, body: str) -> httpx.Response:
    return httpx.post(app.url, content=body, headers=signed_headers(body), timeout=10)


def click(app: SlackApp, slack: FakeSlack, posted: Posted, action: dict[str, Any],
          user: str) -> httpx.Response:
    return post(app, form_body(block_actions(action, posted.message, slack.response_url(), user)))


def refusal(slack: FakeSlack) -> dict[str, Any]:
    (reply,) = eventually(lambda: slack.responses)
    assert (reply["response_type"], reply["replace_original"]) == ("ephemeral", False)
    return reply


def test_a_listed_user_resolves_and_anyone_else_is_refused(
    serve: Serve, store: Store, slack: FakeSlack
) -> None:
    app = serve(resolve=[LEAD])
    posted = post_alert(store, slack)
    resolve = button(posted.message["blocks"], r.RESOLVE)

    assert click(app, slack, posted, resolve, ANA).status_code == 200
    reply = refusal(slack)
    assert reply["text"] == (
        f":no_entry: Only <@{LEAD}> may resolve cases; ask one of them, or an admin to add you."
    )
    assert get_case(store, posted.mention_id).status == "open"  # type: ignore[union-attr]
    assert [e.action for e in events(store, posted.mention_id)] == ["open"]
    assert slack.updates == []

    click(app, slack, posted, resolve, LEAD)
    eventually(lambda: slack.updates)
    assert get_case(store, posted.mention_id).status == "resolved"  # type: ignore[union-attr]
    assert [(e.action, e.actor) for e in events(store, posted.mention_id)][-1] == ("resolve", LEAD)


def test_other_actions_stay_open_unless_listed(
    serve: Serve, store: Store, slack: FakeSlack
) -> None:
    app = serve(resolve=[LEAD])
    posted = post_alert(store, slack)
    click(app, slack, posted, button(posted.message["blocks"], r.ACKNOWLEDGE), ANA)
    eventually(lambda: slack.updates)
    assert get_case(store, posted.mention_id).status == "acknowledged"  # type: ignore[union-attr]


def test_user_group_members_may_act_and_the_group_is_asked_once(
    serve: Serve, store: Store, slack: FakeSlack
) -> None:
    slack.usergroups[LEADS] = [BO, LEAD]
    app = serve(label=[LEADS], mute=[LEAD, LEADS])
    posted = post_alert(store, slack)
    blocks = posted.message["blocks"]
    positive = picked_option(blocks, r.SENTIMENT, 1)

    click(app, slack, posted, positive, ANA)
    assert "Only <!subteam^S0LEADS> may correct the sentiment" in refusal(slack)["text"]
    assert labels_for(store, [posted.mention_id]) == {}

    click(app, slack, posted, positive, BO)
    eventually(lambda: labels_for(store, [posted.mention_id]))
    click(app, slack, posted, button(blocks, r.MUTE_AUTHOR), BO)
    eventually(lambda: len(slack.updates) == 2)
    assert slack.usergroup_lookups == 1  # remembered between clicks


def test_slash_mute_is_refused_but_reading_is_not(
    serve: Serve, store: Store, slack: FakeSlack
) -> None:
    app = serve(mute=[LEAD])
    post_alert(store, slack)

    def command(text: str, user: str) -> dict[str, Any]:
        fields = {**slash_command(text, slack.response_url()), "user_id": user}
        response = post(app, urlencode(fields))
        assert response.status_code == 200
        return json.loads(response.text)

    refused = command("mute author Troll42 for 1d", ANA)
    assert refused["response_type"] == "ephemeral"
    assert refused["text"].startswith(f":no_entry: Only <@{LEAD}> may mute authors or terms")
    assert command("unmute term refund", ANA)["text"] == refused["text"]
    assert active_mutes(store, posted_now()) == []
    assert "open cases: 1" in command("status", ANA)["text"]

    assert "Muted author" in command("mute author Troll42 for 1d", LEAD)["text"]
    assert [m.value for m in active_mutes(store, posted_now())] == ["troll42"]


def test_a_group_slack_will_not_list_lets_nobody_in_and_says_why_once(
    serve: Serve, store: Store, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    slack.usergroups_error = "missing_scope"
    app = serve(resolve=[LEADS])
    posted = post_alert(store, slack)
    caplog.set_level(logging.WARNING, logger="alerts.permissions")
    for _ in range(2):
        click(app, slack, posted, button(posted.message["blocks"], r.RESOLVE), LEAD)
    eventually(lambda: len(slack.responses) == 2)
    assert get_case(store, posted.mention_id).status == "open"  # type: ignore[union-attr]
    (warning,) = [r.getMessage() for r in caplog.records if r.name == "alerts.permissions"]
    assert "S0LEADS: missing_scope (add the usergroups:read scope" in warning


def test_nobody_listed_means_nobody_from_slack(
    serve: Serve, store: Store, slack: FakeSlack
) -> None:
    app = serve(not_relevant=[])
    posted = post_alert(store, slack)
    click(app, slack, posted, picked_option(posted.message["blocks"], r.NOT_RELEVANT, 0), LEAD)
    assert "Nobody may mark cases not relevant from Slack here" in refusal(slack)["text"]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"resolve": ["bob"]}, "'bob' is not a Slack user id"),
        ({"resolve": "U0LEAD"}, "Input should be a valid list"),
        ({"close": ["*"]}, "Extra inputs are not permitted"),
    ],
)
def test_permissions_are_checked_at_load(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        Settings.model_validate({"alerts": {"slack": {"permissions": table}}})
    assert caught.value.errors()[0]["loc"][:3] == ("alerts", "slack", "permissions")


def test_the_default_is_open_to_everyone() -> None:
    rules = Settings.model_validate({}).alerts.slack.permissions
    assert all(value == ["*"] for value in rules.model_dump().values())


def posted_now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def test_socket_mode_takes_the_rules_from_settings(store: Store, slack: FakeSlack) -> None:
    from alerts.app import from_settings
    from alerts.app_settings import SlackAppSettings
    from fakes.slack import APP_TOKEN
    from fakes.socket_mode import FakeSocketMode

    settings = SlackAppSettings.model_validate({"permissions": {"resolve": [LEAD]}})
    env = {"SLACK_BOT_TOKEN": slack.token, "SLACK_APP_TOKEN": APP_TOKEN}
    with FakeSocketMode() as ws:
        slack.socket_mode(ws.url)
        app = from_settings(store, settings, slack.base_url, env)
        assert app is not None
        app.start()
        try:
            posted = post_alert(store, slack)
            action = button(posted.message["blocks"], r.RESOLVE)
            ws.deliver("interactive", block_actions(action, posted.message,
                                                    slack.response_url(), user=ANA))
            assert refusal(slack)["text"].startswith(f":no_entry: Only <@{LEAD}> may resolve")
        finally:
            app.stop()
    assert get_case(store, posted.mention_id).status == "open"  # type: ignore[union-attr]
