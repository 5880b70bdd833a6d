"""Settings for hand-offs: a route's `target` and its `[alerts.routes.webhook]` or
`[alerts.routes.zendesk]` table, delivered by alerts/handoff.py.

config.py only mixes them into a route. Everything here is off unless configured.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from core.settings import Strict

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _http_url(value: str, what: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"{what} {value!r} is not an http(s) URL; use one like https://example.com"
        )
    return value.rstrip("/")


def _env_name(value: str) -> str:
    if not _ENV_NAME.match(value):
        raise ValueError(
            f"{value!r} is not an environment variable name; give the variable's NAME "
            "(like LISTENPOST_WEBHOOK_SECRET), never the secret itself"
        )
    return value


class WebhookSettings(Strict):
    url: str
    # The NAME of the environment variable holding the shared secret, never the secret.
    secret_env: str = "LISTENPOST_WEBHOOK_SECRET"
    timeout: float = Field(default=10.0, gt=0, le=120)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _http_url(value, "webhook url")

    @field_validator("secret_env")
    @classmethod
    def _secret_env(cls, value: str) -> str:
        return _env_name(value)


class ZendeskSettings(Strict):
    subdomain: str | None = None  # acme -> https://acme.zendesk.com
    base_url: str | None = None  # or the full URL (a proxy, a test server)
    email_env: str = "ZENDESK_EMAIL"
    token_env: str = "ZENDESK_API_TOKEN"
    tags: list[str] = Field(default_factory=lambda: ["listenpost"])
    timeout: float = Field(default=20.0, gt=0, le=120)

    @field_validator("subdomain")
    @classmethod
    def _subdomain(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[a-z0-9][a-z0-9-]*", value):
            raise ValueError(
                f"subdomain {value!r}: give only the name, like 'acme' for acme.zendesk.com"
            )
        return value

    @field_validator("base_url")
    @classmethod
    def _base(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value, "zendesk base_url")

    @field_validator("email_env", "token_env")
    @classmethod
    def _envs(cls, value: str) -> str:
        return _env_name(value)

    @model_validator(mode="after")
    def _somewhere(self) -> ZendeskSettings:
        if (self.subdomain is None) == (self.base_url is None):
            raise ValueError("zendesk: set exactly one of subdomain or base_url")
        return self

    @property
    def url(self) -> str:
        return self.base_url or f"https://{self.subdomain}.zendesk.com"


class RouteHandoff(Strict):
    """Where a route delivers: Slack (the default), a signed webhook, or a Zendesk ticket."""

    target: Literal["slack", "webhook", "zendesk"] = "slack"
    webhook: WebhookSettings | None = None
    zendesk: ZendeskSettings | None = None

    @model_validator(mode="after")
    def _target_configured(self) -> RouteHandoff:
        for kind in ("webhook", "zendesk"):
            table = getattr(self, kind)
            if self.target == kind and table is None:
                raise ValueError(f"target = {kind!r} needs a [alerts.routes.{kind}] table")
            if self.target != kind and table is not None:
                raise ValueError(f"a {kind} table is set but target is {self.target!r}")
        return self
