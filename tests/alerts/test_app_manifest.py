"""The manifests in slack/ create an app that matches what the code expects of it."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from alerts.app_settings import SlackAppSettings
from alerts.slash import COMMAND

SLACK_DIR = Path(__file__).resolve().parents[2] / "slack"
# chat.postMessage/chat.update, posting to public channels without an invite, the slash command,
# files_upload_v2 for the digest charts, usergroups.users.list for permissions by group, and
# users.info for the names in the case log.
NEEDED_SCOPES = {
    "chat:write", "chat:write.public", "commands", "files:write", "usergroups:read", "users:read"
}


@pytest.mark.parametrize("name", ["manifest.json", "manifest-http.json"])
def test_manifest_has_the_command_scopes_and_interactivity(name: str) -> None:
    manifest = json.loads((SLACK_DIR / name).read_text())
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == COMMAND
    assert command["should_escape"] is False  # the handler reads the text as typed
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == NEEDED_SCOPES
    assert manifest["settings"]["interactivity"]["is_enabled"] is True


def test_socket_manifest_needs_no_url_and_http_manifest_points_at_the_app() -> None:
    socket = json.loads((SLACK_DIR / "manifest.json").read_text())
    http = json.loads((SLACK_DIR / "manifest-http.json").read_text())
    assert socket["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in socket["settings"]["interactivity"]
    assert http["settings"]["socket_mode_enabled"] is False
    path = SlackAppSettings().http_path
    assert urlsplit(http["settings"]["interactivity"]["request_url"]).path == path
    assert urlsplit(http["features"]["slash_commands"][0]["url"]).path == path
