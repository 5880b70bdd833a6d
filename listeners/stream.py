"""What a stream is: a network's feed of *everything* posted, read as it happens.

A `Listener` searches one brand's query on a schedule; a `StreamListener` reads every post
once, and the stream runner (`listenpost/streams.py`) matches each post against every brand's
query locally (`listeners/matching.py`). It knows nothing of storage, brands or Slack.

Copy `listeners/hackernews_items.py` to add one: subclass `StreamListener`, give it a `name`
(the `[sources.<name>]` table), a `Settings` model, and `listen`, and register it in
`listeners/registry.py` under `STREAMS`.

`listen` yields `Batch`es in the stream's order, each with the cursor that covers it; the
runner commits a batch's matches and its cursor in one transaction before asking for the
next, so a process killed anywhere resumes at the last committed cursor. Connection trouble
(a drop, a stall, a server error) is the listener's to handle: it reconnects with `Backoff`
and resumes from the cursor it last yielded. It raises only what waiting will not fix soon
(`AuthError`, `NotConfigured`) or what names its own wait (`RateLimited`).
"""

from __future__ import annotations

import random
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from core.mention import Mention
from listeners.http import HttpClient


class StreamSettings(BaseModel):
    """Keys every stream's `[sources.<name>]` table accepts; streams extend it with their own.

    `read_timeout`: seconds without a byte (not even a heartbeat) before the connection is
    taken for stalled and reopened. `max_backoff`: the longest wait between reconnects.
    """

    model_config = ConfigDict(extra="forbid")

    read_timeout: float = Field(default=30.0, gt=0, le=600)
    max_backoff: float = Field(default=60.0, gt=0, le=3600)


@dataclass(frozen=True, slots=True)
class Heard:
    """One post off the stream, and the text its queries are checked against (title, body and
    links joined with `listeners.query.fields`); `langs` as the network tagged it."""

    mention: Mention
    text: str
    langs: tuple[str | None, ...] = (None,)


@dataclass(slots=True)
class Batch:
    """Posts read since the last batch, in stream order, and what to store after them.

    `cursor`: where to resume once these are committed (None: unchanged). `events`: everything
    read, posts or not (deletes, identity changes), for the events/s figure. `lag`: seconds
    between the newest event read and the live edge of the stream, as far as the listener can
    tell (None: it cannot). `connected_since`: when the current connection opened (None: not
    connected, e.g. while backing off).
    """

    posts: list[Heard] = field(default_factory=list)
    cursor: str | None = None
    events: int = 0
    lag: float | None = None
    connected_since: datetime | None = None
    error: str | None = None  # the connection trouble being retried, for `listenpost sources`


class StreamListener(ABC):
    """One network's stream. `channels` are its independent feeds (one connection each, one
    cursor each): several Mastodon instances, say; most streams have one."""

    name: ClassVar[str]
    network: ClassVar[str]
    Settings: ClassVar[type[StreamSettings]] = StreamSettings
    default_base_url: ClassVar[str] = ""

    def __init__(self, settings: StreamSettings, http: HttpClient, env: Mapping[str, str]) -> None:
        self.settings = settings
        self.http = http
        self.env = env
        # HTTP streams add `base_url` to their Settings (tests, proxies); WebSocket ones name
        # their instances otherwise.
        base_url = getattr(settings, "base_url", None)
        self.base_url = (base_url or self.default_base_url).rstrip("/")

    def channels(self) -> list[str]:
        return ["all"]

    @abstractmethod
    def listen(self, channel: str, cursor: str | None, stop: threading.Event) -> Iterator[Batch]:
        """Yield batches from `cursor` (None: from now) until `stop` is set; each is committed
        before the next is asked for. Returns within about a second of `stop`."""

    def check(self) -> str:
        """One cheap request proving the stream answers; a short description for doctor."""
        self.http.get(self.base_url)
        return self.base_url

    def query_note(self, query: object) -> str | None:
        """Streams hear every post and match locally: no query is narrowed by a network."""
        return None


def now() -> datetime:
    return datetime.now(UTC)


class Backoff:
    """Waits between reconnects: doubling from `first` to `cap`, with jitter so many clients
    dropped at once do not return in lockstep; reset once a connection delivers."""

    def __init__(self, cap: float, first: float = 0.5) -> None:
        self.cap = cap
        self.first = first
        self.attempt = 0

    def reset(self) -> None:
        self.attempt = 0

    def wait(self, stop: threading.Event) -> bool:
        """Sleep the next delay unless stopped; True when `stop` was set meanwhile."""
        delay = min(self.cap, self.first * 2**self.attempt)
        self.attempt += 1
        return stop.wait(random.uniform(delay / 2, delay))
