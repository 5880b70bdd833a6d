"""What a listener is: a network-specific search that pages through results since a cursor.

Copy `listeners/hackernews.py` to add a network: subclass `Listener`, give it a `name` (the
`[sources.<name>]` table in settings.toml), a `display_name` (how alerts name the network) and a
`Settings` model for that table, and register it in `listeners/registry.py`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.durations import parse_duration
from core.mention import Mention
from core.query import Query
from listeners.errors import NotConfigured
from listeners.http import DEFAULT_MAX_BYTES, HttpClient
from listeners.query_syntax import Syntax


class SourceSettings(BaseModel):
    """Keys every `[sources.<name>]` table accepts; listeners extend it with their own.

    `max_pages` and `max_poll_time` bound one poll, so a source whose paging never ends (a
    cursor that cycles, a page count of a billion) fails that poll with one line instead of
    holding its job, and the sources after it, forever. `max_bytes` bounds one answer, and
    redirects stay within the origin asked unless `follow_redirects_to` names the host.
    """

    model_config = ConfigDict(extra="forbid")

    every: str = "5m"
    base_url: str | None = None
    max_pages: int = Field(default=100, ge=1, le=100_000)
    max_poll_time: str = "5m"
    max_bytes: int = Field(default=DEFAULT_MAX_BYTES, ge=1024)
    follow_redirects_to: list[str] = []  # hosts ("host" or "host:port") redirects may go to

    @field_validator("every", "max_poll_time")
    @classmethod
    def _valid_every(cls, value: str) -> str:
        parse_duration(value)
        return value

    @property
    def interval(self) -> timedelta:
        return parse_duration(self.every)

    @property
    def poll_budget(self) -> timedelta:
        return parse_duration(self.max_poll_time)


@dataclass(slots=True)
class Page:
    """One batch of mentions that is committed in one transaction.

    `cursor` is the value to persist *after* these mentions are committed; None keeps the cursor
    where it was. Listeners that page newest-first only set it on the last page, so a process
    killed mid-cycle re-fetches from the old cursor and loses nothing.
    """

    mentions: list[Mention]
    cursor: str | None = None


class Listener(ABC):
    """One network. Knows nothing of storage, models or Slack."""

    name: ClassVar[str]
    display_name: ClassVar[str]  # how alerts and reports name the network
    Settings: ClassVar[type[SourceSettings]] = SourceSettings
    default_base_url: ClassVar[str]
    # How the network's search reads a query (`listenpost query explain` lists what it cannot
    # express); None where nothing is searched and every post is checked locally.
    syntax: ClassVar[Syntax | None] = None

    def __init__(self, settings: SourceSettings, http: HttpClient, env: Mapping[str, str]) -> None:
        self.settings = settings
        self.http = http.limited(
            f"sources.{self.name}", settings.max_bytes, settings.follow_redirects_to
        )
        self.env = env
        self.base_url = (settings.base_url or self.default_base_url).rstrip("/")

    @abstractmethod
    def search(self, query: Query, cursor: str | None) -> Iterator[Page]:
        """Yield pages of mentions newer than `cursor`, each to be committed before the next.

        Raises `RateLimited`, `AuthError`, `MalformedResponse` or `ListenerError`; pages already
        yielded stay valid, and the cursor only moves with a committed page.
        """

    def backfill_cursor(self, since: datetime) -> str | None:
        """A cursor that makes `search` return history back to `since`, within the API's window.

        Used by `listenpost backfill`; networks without history search say so instead of
        silently returning only the newest page.
        """
        raise NotConfigured(f"{self.name} cannot search history; it only hears new posts")

    def compiled(self, query: Query) -> list[str]:
        """The searches one poll sends for `query` (none: posts are read whole and checked)."""
        return []

    def query_note(self, query: Query) -> str | None:
        """Anything a person should know about how this network receives `query` (doctor)."""
        return None

    def check(self) -> str:
        """One cheap request proving the source answers; returns a short description for doctor."""
        self.http.get(self.base_url)
        return self.base_url
