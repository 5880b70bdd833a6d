"""Every public post an instance hears, live, from Mastodon's streaming API (server-sent events).

`GET /api/v1/streaming/public` (or `/api/v1/streaming/hashtag?tag=<tag>` per hashtag in
`hashtags`) keeps an HTTP response open and writes one event per post::

    event: update
    data: {"id": "1123…", "uri": "https://…", "content": "<p>…</p>", "account": {…}, …}

plus `delete` (a post was removed), `status.update` (edited), and a `:thump` comment as a
heartbeat every few seconds. The federated public stream is everything the instance knows of:
its own users and whatever federates to it, the widest net one instance offers.

Each instance (and hashtag) is one channel with its own connection and cursor: the newest
status id committed. A stream cannot replay, so after a disconnect (or a restart) the missed
stretch is read from the REST timeline the stream mirrors (`/api/v1/timelines/public` or
`/tag/<tag>`, as `listeners/mastodon.py` reads them), forward from a minute before the cursor:
the stream is opened first and the timeline read while its events wait in the socket, so there
is no gap between the two; posts read twice (by uri) are skipped.

`MASTODON_ACCESS_TOKEN` is sent to the first instance only (as the mastodon listener does), for
instances that require sign-in for their public streams.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
from pydantic import Field, ValidationError, field_validator

from core.query import fields
from listeners.errors import (
    AuthError,
    ListenerError,
    MalformedResponse,
    NotConfigured,
    RateLimited,
)
from listeners.http import read_model
from listeners.mastodon import (
    TOKEN_ENV,
    Status,
    Timeline,
    _order,
    instance_urls,
    link_id,
    rewind,
    snowflake_at,
)
from listeners.mastodon import to_mention as status_mention
from listeners.stream import Backoff, Batch, Heard, StreamListener, StreamSettings, now

log = logging.getLogger(__name__)

REWIND_SECONDS = 60  # how far before the cursor a backfill starts (late-federated posts)
RECENT = 20_000  # uris remembered to skip posts read twice
FLUSH_EVERY = 0.25  # seconds a read post waits to be committed, at most
_TICK = 0.2
_END = object()


class MastodonStreamSettings(StreamSettings):
    """`[sources.mastodon_stream]`: `instances` to stream from, each its own connection;
    `hashtags` streams only those tags (empty: each instance's whole federated timeline);
    `local` keeps only the instance's own users' posts; `backfill_pages` caps how many
    timeline pages (40 posts each) a reconnect reads to fill the stretch it missed."""

    instances: list[str] = Field(default=["https://mastodon.social"], min_length=1)
    hashtags: list[str] = []
    local: bool = False
    backfill_pages: int = Field(default=25, ge=0, le=1000)

    @field_validator("instances")
    @classmethod
    def _urls(cls, value: list[str]) -> list[str]:
        return instance_urls(value)

    @field_validator("hashtags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        tags = [t.strip().lstrip("#").lower() for t in value]
        for tag in tags:
            if not tag or not tag.replace("_", "").isalnum():
                raise ValueError(f"{tag!r} is not a hashtag like 'acme' or '#acme'")
        return list(dict.fromkeys(tags))


class _Seen:
    """Uris of posts already read, oldest forgotten first."""

    def __init__(self, size: int = RECENT) -> None:
        self._uris: OrderedDict[str, None] = OrderedDict()
        self.size = size

    def add(self, uri: str) -> bool:
        """True when `uri` is new."""
        if uri in self._uris:
            return False
        self._uris[uri] = None
        if len(self._uris) > self.size:
            self._uris.popitem(last=False)
        return True


def _newest(a: str | None, b: str | None) -> str | None:
    ids = [i for i in (a, b) if i]
    return max(ids, key=_order) if ids else None


def parse_events(lines: Iterator[str]) -> Iterator[tuple[str, str] | None]:
    """(event, data) per server-sent event; None for a comment (a heartbeat)."""
    event, data = "message", []
    for line in lines:
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data = "message", []
        elif line.startswith(":"):
            yield None
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)


class _Pump(threading.Thread):
    """Reads a response's events on its own thread, so the listener can check `stop` between
    them; closing the response ends it."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(daemon=True, name="mastodon_stream reader")
        self.response = response
        self.events: queue.Queue[Any] = queue.Queue(maxsize=10_000)

    def run(self) -> None:
        try:
            for item in parse_events(self.response.iter_lines()):
                self.events.put(item)
            self.events.put(_END)
        except Exception as exc:  # handed to the listener's thread, which decides
            self.events.put(exc)


class MastodonStreamListener(StreamListener):
    name: ClassVar[str] = "mastodon_stream"
    network: ClassVar[str] = "mastodon"
    Settings: ClassVar[type[StreamSettings]] = MastodonStreamSettings
    settings: MastodonStreamSettings

    def channels(self) -> list[str]:
        hosts = [_host(i) for i in self.settings.instances]
        if not self.settings.hashtags:
            return hosts
        return [f"{host} #{tag}" for host in hosts for tag in self.settings.hashtags]

    def _plan(self, channel: str) -> tuple[str, str | None]:
        host, _, tag = channel.partition(" #")
        instance = next(i for i in self.settings.instances if _host(i) == host)
        return instance, tag or None

    def _headers(self, instance: str) -> dict[str, str] | None:
        token = self.env.get(TOKEN_ENV, "").strip()
        if token and instance == self.settings.instances[0]:
            return {"Authorization": f"Bearer {token}"}
        return None

    def listen(self, channel: str, cursor: str | None, stop: threading.Event) -> Iterator[Batch]:
        instance, tag = self._plan(channel)
        backoff = Backoff(self.settings.max_backoff)
        seen = _Seen()
        newest = cursor or None
        path, params = self._stream_request(tag)
        while not stop.is_set():
            try:
                with self.http.stream(
                    instance + path,
                    params=params,
                    headers=self._headers(instance),
                    read_timeout=self.settings.read_timeout,
                ) as response:
                    since = now()
                    pump = _Pump(response)
                    pump.start()
                    if newest is None:  # from now: a cursor at once, so nothing read is lost
                        newest = snowflake_at(int(time.time()))
                    else:
                        for batch in self._backfill(instance, tag, newest, seen, since):
                            newest = batch.cursor or newest
                            yield batch
                    yield Batch(connected_since=since, cursor=newest)
                    for batch in self._live(pump, instance, seen, since, stop):
                        # A late-federated post carries an older id: the cursor never goes back.
                        newest = batch.cursor = _newest(newest, batch.cursor)
                        backoff.reset()
                        yield batch
                if stop.is_set():
                    return
                reason = f"{httpx.URL(instance).host} ended the stream"
            except (httpx.HTTPError, ListenerError) as exc:
                if isinstance(exc, ListenerError) and not _transient(exc):
                    raise
                reason = f"{httpx.URL(instance).host}: {type(exc).__name__}: {exc}"
            log.warning("mastodon_stream %s: %s; reconnecting", channel, reason)
            yield Batch(error=reason)
            if backoff.wait(stop):
                return

    def _stream_request(self, tag: str | None) -> tuple[str, dict[str, Any]]:
        if tag is not None:
            params: dict[str, Any] = {"tag": tag}
            if self.settings.local:
                params["local"] = "true"
            return "/api/v1/streaming/hashtag", params
        if self.settings.local:
            return "/api/v1/streaming/public/local", {}
        return "/api/v1/streaming/public", {}

    def _live(
        self,
        pump: _Pump,
        instance: str,
        seen: _Seen,
        since: Any,
        stop: threading.Event,
    ) -> Iterator[Batch]:
        """Events as they arrive, batched; returns when the stream ends or `stop` is set."""
        batch = Batch(connected_since=since)
        flushed = last_byte = time.monotonic()
        try:
            while not stop.is_set():
                try:
                    item = pump.events.get(timeout=_TICK)
                except queue.Empty:
                    item = None
                else:
                    last_byte = time.monotonic()
                if item is _END:
                    break
                if isinstance(item, Exception):
                    if batch.events:
                        yield batch
                    raise item
                if item is not None:
                    self._read(item, batch, instance, seen)
                if batch.events and time.monotonic() - flushed >= FLUSH_EVERY:
                    yield batch
                    batch = Batch(connected_since=since)
                    flushed = time.monotonic()
                if time.monotonic() - last_byte > self.settings.read_timeout + 1:
                    raise httpx.ReadTimeout("no event or heartbeat within read_timeout")
            if batch.events:
                yield batch
        finally:
            pump.response.close()  # ends the reader thread

    def _read(self, item: tuple[str, str], batch: Batch, instance: str, seen: _Seen) -> None:
        event, data = item
        batch.events += 1
        if event not in ("update", "status.update"):
            return  # delete, notification, filters_changed, ...
        try:
            status = Status.model_validate(json.loads(data))
        except (ValueError, ValidationError):
            log.debug("mastodon_stream: skipping an update that is not a Status")
            return
        batch.lag = max(0.0, (now() - status.created_at).total_seconds())
        batch.cursor = _newest(batch.cursor, status.id)
        self._hear(status, batch, instance, seen)

    def _hear(self, status: Status, batch: Batch, instance: str, seen: _Seen) -> None:
        mention = status_mention(status, instance)
        if seen.add(mention.native_id):
            text = fields(mention.title, mention.text)
            batch.posts.append(Heard(mention, text, (mention.lang,)))

    def _backfill(
        self, instance: str, tag: str | None, newest: str, seen: _Seen, since: Any
    ) -> Iterator[Batch]:
        """The stretch missed since `newest`, oldest first, page by page."""
        url = (
            f"{instance}/api/v1/timelines/tag/{quote(tag, safe='')}"
            if tag
            else f"{instance}/api/v1/timelines/public"
        )
        min_id = rewind(newest, REWIND_SECONDS)
        for _ in range(self.settings.backfill_pages):
            params: dict[str, Any] = {"limit": 40, "min_id": min_id}
            if self.settings.local:
                params["local"] = "true"
            response = self.http.get(url, params=params, headers=self._headers(instance))
            statuses = read_model(response, Timeline).root
            if not statuses:
                return
            batch = Batch(connected_since=since, events=len(statuses))
            for status in sorted(statuses, key=lambda s: _order(s.id)):
                self._hear(status, batch, instance, seen)
            top = max((s.id for s in statuses), key=_order)
            batch.cursor = max(top, newest, key=_order)
            batch.lag = max(0.0, (now() - max(s.created_at for s in statuses)).total_seconds())
            yield batch
            following = link_id(response, "prev", "min_id") or top
            if following == min_id:
                return
            min_id = following
        log.warning(
            "mastodon_stream %s: backfill stopped after %d pages (backfill_pages); older posts "
            "of the gap are left to the mastodon listener",
            httpx.URL(instance).host,
            self.settings.backfill_pages,
        )

    def check(self) -> str:
        instance = self.settings.instances[0]
        response = self.http.get(
            f"{instance}/api/v1/timelines/public",
            params={"limit": 1},
            headers=self._headers(instance),
        )
        read_model(response, Timeline)
        return f"{httpx.URL(instance).host} answered its public timeline"


def _host(instance: str) -> str:
    """'mastodon.social', or 'host:port' where a port is named: a channel's name."""
    return httpx.URL(instance).netloc.decode("ascii")


def _transient(exc: ListenerError) -> bool:
    """Worth a reconnect: the server or the path hiccupped. Refusals and rate limits are not
    (the stream runner waits for them), nor a body in an unexpected shape."""
    return not isinstance(exc, AuthError | NotConfigured | RateLimited | MalformedResponse)
