"""How the Slack app (buttons, /listenpost) reaches Slack: `[alerts.slack]` keys, mixed into
config.SlackSettings so they sit next to the channel they serve; and the team's saved replies
(`[[alerts.replies]]`) it suggests on alerts.

Socket Mode is the default because it needs no public URL: the app dials out to Slack. HTTP
mode is for those who host listenpost behind their own HTTPS endpoint; Slack then signs every
request and the app rejects any it cannot verify.
"""

from __future__ import annotations

import re
from string import Formatter
from typing import Literal

from pydantic import Field, field_validator

from core.settings import Categories, Languages, Strict

EVERYONE = "*"
# A Slack user (U…, or W… on Enterprise Grid) or user group (S…) id, as Slack shows it under
# a profile's or group's "Copy member ID" / "Copy group ID".
SLACK_ID = re.compile(r"[UWS][A-Z0-9]{2,30}")


class Permissions(Strict):
    """Who may do what from Slack (`[alerts.slack.permissions]`): per action, a list of Slack
    user ids ("U0123ABCD"), user group ids ("S0LEADS") or "*" for everyone in the workspace.

    Open by default: a small team where everyone works the alerts needs no setup. Reading
    (`/listenpost status`, `cases`, `mutes`, View post) is always open.
    """

    acknowledge: list[str] = Field(default_factory=lambda: [EVERYONE])
    assign: list[str] = Field(default_factory=lambda: [EVERYONE])
    resolve: list[str] = Field(default_factory=lambda: [EVERYONE])
    reopen: list[str] = Field(default_factory=lambda: [EVERYONE])
    not_relevant: list[str] = Field(default_factory=lambda: [EVERYONE])
    escalate: list[str] = Field(default_factory=lambda: [EVERYONE])
    mute: list[str] = Field(default_factory=lambda: [EVERYONE])  # Mute author, /listenpost mute
    label: list[str] = Field(default_factory=lambda: [EVERYONE])  # Wrong sentiment
    reply: list[str] = Field(default_factory=lambda: [EVERYONE])  # Saved replies

    @field_validator("*")
    @classmethod
    def _slack_ids(cls, value: list[str]) -> list[str]:
        for who in value:
            if who != EVERYONE and not SLACK_ID.fullmatch(who):
                raise ValueError(
                    f"{who!r} is not a Slack user id (U…), user group id (S…) or \"*\" (everyone)"
                )
        return value


class SlackAppSettings(Strict):
    app_mode: Literal["socket", "http"] = "socket"
    # HTTP mode only: where Slack's requests arrive (put a TLS proxy in front of it).
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=3000, ge=1, le=65535)
    http_path: str = "/slack/events"
    permissions: Permissions = Field(default_factory=Permissions)

    @field_validator("http_path")
    @classmethod
    def _absolute_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"must start with '/', like '/slack/events' (got {value!r})")
        return value


_PLACEHOLDERS = ("author", "brand")


class SavedReply(Strict):
    """One of the team's reply templates (`[[alerts.replies]]`), offered on alerts it fits.

    `categories` / `languages` narrow it (empty: any); `{author}` and `{brand}` are filled in.
    """

    name: str = Field(min_length=1, max_length=60)
    text: str = Field(min_length=1, max_length=2000)
    categories: Categories = Field(default_factory=list)
    languages: Languages = Field(default_factory=list)

    @field_validator("text")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        try:
            names = [field for _, field, _, _ in Formatter().parse(value) if field is not None]
        except ValueError as exc:
            raise ValueError(f"{exc}; write a literal brace as {{{{ or }}}}") from None
        for name in names:
            if name not in _PLACEHOLDERS:
                allowed = ", ".join("{" + p + "}" for p in _PLACEHOLDERS)
                raise ValueError(f"unknown placeholder {{{name}}}; use {allowed}")
        return value

