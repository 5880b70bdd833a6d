"""What Slack sends a Slack app, shaped as Slack's docs show it.

- block_actions: the interaction payload for a click on a button / select / overflow in a
  message (type, user, api_app_id, token, container{type, message_ts, channel_id,
  is_ephemeral}, trigger_id, team, channel, message, state, response_url, actions[{type,
  action_id, block_id, value | selected_user | selected_option, action_ts}]). Over HTTP it is
  POSTed form-encoded as `payload=<json>`; over Socket Mode it is the envelope's `payload`.
- slash command: form fields (token, team_id, team_domain, channel_id, channel_name, user_id,
  user_name, command, text, api_app_id, is_enterprise_install, response_url, trigger_id);
  over Socket Mode the same fields as a JSON object.
- request signing: `X-Slack-Signature: v0=hex(HMAC-SHA256(signing_secret,
  "v0:{timestamp}:{raw body}"))` with `X-Slack-Request-Timestamp: {timestamp}`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEAM = {"id": "T0123ABCD", "domain": "acme-corp"}
APP_ID = "A0123ABCD"


def block_actions(
    action: dict[str, Any],
    message: dict[str, Any],
    response_url: str,
    user: str = "U0ANA",
    username: str = "ana",
) -> dict[str, Any]:
    """A click on `action` in `message` (as the fake stored it: channel_id, ts, text, blocks)."""
    return {
        "type": "block_actions",
        "user": {"id": user, "username": username, "name": username, "team_id": TEAM["id"]},
        "api_app_id": APP_ID,
        "token": "verification-token-unused",
        "container": {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": message["channel_id"],
            "is_ephemeral": False,
        },
        "trigger_id": "12466734323.1395872398.a1b2c3",
        "team": dict(TEAM),
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": message["channel_id"], "name": "brand-alerts"},
        "message": {
            "type": "message",
            "subtype": "bot_message",
            "text": message.get("text", ""),
            "ts": message["ts"],
            "bot_id": "B0123ABCD",
            "blocks": message.get("blocks") or [],
        },
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [{**action, "action_ts": f"{time.time():.6f}"}],
    }


def button(blocks: list[dict[str, Any]], action_id: str) -> dict[str, Any]:
    """The action Slack reports for a click on the button `action_id` in `blocks`."""
    element, block_id = _element(blocks, action_id)
    return {
        "type": "button",
        "action_id": action_id,
        "block_id": block_id,
        "text": element["text"],
        "value": element["value"],
    }


def picked_user(blocks: list[dict[str, Any]], action_id: str, user: str) -> dict[str, Any]:
    _, block_id = _element(blocks, action_id)
    return {
        "type": "users_select",
        "action_id": action_id,
        "block_id": block_id,
        "selected_user": user,
    }


def picked_option(blocks: list[dict[str, Any]], action_id: str, index: int) -> dict[str, Any]:
    """Choosing option `index` of a static_select or overflow menu."""
    element, block_id = _element(blocks, action_id)
    action: dict[str, Any] = {
        "type": element["type"],
        "action_id": action_id,
        "block_id": block_id,
        "selected_option": element["options"][index],
    }
    if element["type"] == "static_select":
        action["placeholder"] = element["placeholder"]
    return action


def slash_command(
    text: str, response_url: str, user: str = "U0ANA", channel: str = "C0123"
) -> dict[str, str]:
    return {
        "token": "verification-token-unused",
        "team_id": TEAM["id"],
        "team_domain": TEAM["domain"],
        "channel_id": channel,
        "channel_name": "brand-alerts",
        "user_id": user,
        "user_name": "ana",
        "command": "/listenpost",
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
    }


def form_body(payload: dict[str, Any]) -> str:
    """An interaction payload as Slack POSTs it: application/x-www-form-urlencoded payload=."""
    return urlencode({"payload": json.dumps(payload)})


def signed_headers(
    body: str, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = f"v0:{ts}:{body}".encode()
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
    }


def _element(blocks: list[dict[str, Any]], action_id: str) -> tuple[dict[str, Any], str]:
    for block in blocks:
        for element in block.get("elements", []) if block["type"] == "actions" else []:
            if element.get("action_id") == action_id:
                return element, block["block_id"]
    raise AssertionError(f"no element {action_id!r} in the message")
