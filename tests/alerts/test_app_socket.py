"""The Slack app over Socket Mode, the default: no public URL, the app dials out to Slack.

A local WebSocket server plays Slack's side (hello, envelopes, acks); the fake Web API hands
out its URL from apps.connections.open and receives the chat.update.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk import WebClient

from alerts import render as r
from alerts.app import AppSetupError, SlackApp, build_app, from_settings
from alerts.app_settings import SlackAppSettings
from fakes.slack import APP_TOKEN, FakeSlack
from fakes.slack_payloads import block_actions, button, slash_command
from fakes.socket_mode import FakeSocketMode
from storage import Store
from storage.cases import active_mutes, get_case
from tests.alerts.appkit import T0, eventually, post_alert


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'listenpost.db'}")
    yield s
    s.close()


@pytest.fixture
def socket_mode(slack: FakeSlack) -> Iterator[FakeSocketMode]:
    with FakeSocketMode() as ws:
        slack.socket_mode(ws.url)
        yield ws


@pytest.fixture
def app(store: Store, slack: FakeSlack, socket_mode: FakeSocketMode) -> Iterator[SlackApp]:
    env = {"SLACK_BOT_TOKEN": slack.token, "SLACK_APP_TOKEN": APP_TOKEN}
    connected = from_settings(store, SlackAppSettings(), slack.base_url, env)
    assert connected is not None
    connected.start()
    yield connected
    connected.stop()


def test_click_envelope_is_acked_by_id_and_updates_the_alert(
    app: SlackApp, store: Store, slack: FakeSlack, socket_mode: FakeSocketMode
) -> None:
    posted = post_alert(store, slack)
    payload = block_actions(
        button(posted.message["blocks"], r.RESOLVE),
        posted.message,
        slack.response_url(),
        user="U0ANA",
    )

    envelope_id = socket_mode.deliver("interactive", payload)

    assert socket_mode.ack_for(envelope_id) == {"envelope_id": envelope_id}
    update = eventually(lambda: slack.updates)[0]
    assert (update["channel"], update["ts"]) == (posted.message["channel_id"], posted.message["ts"])
    assert "✅ *Resolved*" in update["blocks"][-1]["elements"][0]["text"]
    case = get_case(store, posted.mention_id)
    assert case is not None and case.status == "resolved"
    assert slack.connections_opened == 1
    assert "GET /link/?ticket=fake-ticket-1" in socket_mode.handshakes[0]


def test_slash_command_is_answered_in_the_ack_payload(
    app: SlackApp, store: Store, slack: FakeSlack, socket_mode: FakeSocketMode
) -> None:
    command = slash_command("mute author spambot42 on reddit for 1d", slack.response_url())
    envelope_id = socket_mode.deliver("slash_commands", command, accepts_response_payload=True)

    ack = socket_mode.ack_for(envelope_id)
    assert ack["payload"]["response_type"] == "ephemeral"
    assert ack["payload"]["text"].startswith(":mute: Muted author *spambot42* on Reddit until")
    (mute,) = active_mutes(store, T0)
    assert (mute.value, mute.network, mute.actor) == ("spambot42", "reddit", "U0ANA")


def test_app_reconnects_when_slack_refreshes_the_connection(
    app: SlackApp, store: Store, slack: FakeSlack, socket_mode: FakeSocketMode
) -> None:
    socket_mode.wait_for_session(1)
    socket_mode.refresh()
    socket_mode.wait_for_session(2)
    assert slack.connections_opened == 2  # a fresh URL, as Slack asks

    command = slash_command("help", slack.response_url())
    envelope_id = socket_mode.deliver("slash_commands", command, accepts_response_payload=True)
    assert socket_mode.ack_for(envelope_id)["payload"]["text"].startswith("*/listenpost*")


def test_view_post_clicks_are_acknowledged_too(
    app: SlackApp, store: Store, slack: FakeSlack, socket_mode: FakeSocketMode
) -> None:
    posted = post_alert(store, slack)
    link = next(
        e
        for b in posted.message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == r.VIEW_POST
    )
    action = {
        "type": "button",
        "action_id": r.VIEW_POST,
        "block_id": f"case:{posted.mention_id}",
        "text": link["text"],
    }
    envelope_id = socket_mode.deliver(
        "interactive", block_actions(action, posted.message, slack.response_url())
    )
    assert socket_mode.ack_for(envelope_id) == {"envelope_id": envelope_id}
    assert slack.updates == []


def test_no_app_token_means_no_app_and_a_bot_token_is_refused(
    store: Store, slack: FakeSlack, socket_mode: FakeSocketMode
) -> None:
    settings = SlackAppSettings()
    assert from_settings(store, settings, slack.base_url, {"SLACK_BOT_TOKEN": slack.token}) is None

    client = WebClient(token=slack.token, base_url=slack.base_url)
    with pytest.raises(AppSetupError, match="SLACK_APP_TOKEN, an app-level token"):
        SlackApp(build_app(store, client), "socket", app_token=slack.token)

    wrong = SlackApp(build_app(store, client), "socket", app_token="xapp-1-revoked")
    with pytest.raises(AppSetupError, match=r"Socket Mode refused \(invalid_auth\)"):
        wrong.start()


def test_http_mode_without_a_signing_secret_does_not_start(store: Store, slack: FakeSlack) -> None:
    settings = SlackAppSettings(app_mode="http")
    with pytest.raises(AppSetupError, match="needs SLACK_SIGNING_SECRET"):
        from_settings(store, settings, slack.base_url, {"SLACK_BOT_TOKEN": slack.token})


def test_a_refused_bot_token_fails_at_start(store: Store, slack: FakeSlack) -> None:
    env = {"SLACK_BOT_TOKEN": "xoxb-revoked", "SLACK_APP_TOKEN": APP_TOKEN}
    with pytest.raises(AppSetupError, match="SLACK_BOT_TOKEN was refused"):
        from_settings(store, SlackAppSettings(), slack.base_url, env)
