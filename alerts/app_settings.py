"""How the Slack app (buttons, /listenpost) reaches Slack: `[alerts.slack]` keys, mixed into
config.SlackSettings so they sit next to the channel they serve; and the team's saved replies
(`[[alerts.replies]]`) it suggests on alerts.

Socket Mode is the default because it needs no public URL: the app dials out to Slack. HTTP
mode is for those who host listenpost behind their own HTTPS endpoint; Slack then signs every
request and the app rejects any it cannot verify.
"""

from __future__ import annotations

from string import Formatter
from typing import Literal

from pydantic import Field, field_validator

from core.settings import Strict
from core.triage import CATEGORIES


class SlackAppSettings(Strict):
    app_mode: Literal["socket", "http"] = "socket"
    # HTTP mode only: where Slack's requests arrive (put a TLS proxy in front of it).
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=3000, ge=1, le=65535)
    http_path: str = "/slack/events"

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
    categories: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)

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

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, value: list[str]) -> list[str]:
        for category in value:
            if category not in CATEGORIES:
                raise ValueError(f"unknown category {category!r}; use {', '.join(CATEGORIES)}")
        return value

    @field_validator("languages")
    @classmethod
    def _language_codes(cls, value: list[str]) -> list[str]:
        codes = [code.strip().lower() for code in value]
        for code in codes:
            if not (2 <= len(code) <= 3 and code.isalpha() and code.isascii()):
                raise ValueError(f"{code!r} is not a language code like 'en' or 'fr'")
        return codes
