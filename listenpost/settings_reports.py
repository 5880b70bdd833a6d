"""Settings for competitors, topics, reports and hand-offs (webhook, Zendesk).

Kept out of config.py so the tables can grow without touching the shared file; config.py only
mixes them in. Everything here is off unless configured.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from core.durations import parse_duration
from core.query import Query, QueryError, parse
from listenpost.config_base import Strict

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


class BrandExtras(Strict):
    """What a [[brands]] entry may add: competitors to compare with, topics to tag, and whether
    its mentions may page the team at all (a competitor's outage is news, not an incident)."""

    competitors: list[str] = Field(default_factory=list)
    alerts: bool = True
    topics: dict[str, str] = Field(default_factory=dict)

    @field_validator("topics")
    @classmethod
    def _topics_parse(cls, value: dict[str, str]) -> dict[str, str]:
        for name, query in value.items():
            if not name.strip():
                raise ValueError("topic names must not be empty")
            if len(name) > 255:
                raise ValueError(f"topic name {name[:40]!r}... is longer than 255 characters")
            try:
                parse(query)
            except QueryError as exc:
                raise ValueError(f"topic {name!r}: query does not parse: {exc}") from None
        return value

    @property
    def topic_queries(self) -> dict[str, Query]:
        return {name: parse(query) for name, query in self.topics.items()}


def brand_topics(settings: object, brand: str) -> dict[str, Query]:
    """The parsed topics of `brand` ({} for a brand no longer configured)."""
    for b in getattr(settings, "brands", ()):
        if b.name == brand:
            return b.topic_queries
    return {}


def silent_brands(settings: object) -> set[str]:
    """Brands with `alerts = false`: a mention only of these pages nobody."""
    return {b.name for b in getattr(settings, "brands", ()) if not b.alerts}


def check_brands(brands: Sequence[BrandExtras], reports: ReportSettings) -> None:
    """Every competitor, and every brand a scheduled report covers, is a configured brand."""
    names = [getattr(b, "name", "") for b in brands]
    for name in reports.brands:
        if name not in names:
            raise ValueError(f"reports.brands: {name!r} is not a configured brand")
    for i, brand in enumerate(brands):
        for other in brand.competitors:
            if other == names[i]:
                raise ValueError(f"brands[{i}] ({names[i]!r}): a brand is not its own competitor")
            if other not in names:
                raise ValueError(
                    f"brands[{i}] ({names[i]!r}): competitor {other!r} is not a configured "
                    "brand; add it as a [[brands]] entry (with alerts = false to keep it quiet)"
                )


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


class ReportSettings(Strict):
    """A report posted to Slack on a schedule (off unless `slack_channel` is set)."""

    slack_channel: str | None = None
    every: Literal["weekly", "monthly"] = "monthly"
    brands: list[str] = Field(default_factory=list)  # empty: every brand that alerts
    dir: str = "reports"  # where the files are written before upload (and kept)
    # How late after the period ends the report goes out (data from slow sources arrives).
    delay: str = "1h"

    @field_validator("delay")
    @classmethod
    def _delay(cls, value: str) -> str:
        parse_duration(value)
        return value
